package pid1

import "fmt"

// Messages of init itself: one line each on stderr, prefixed "vigil:",
// shown according to the verbosity (0 errors, 1 warnings and notices, 2
// progress, 3 debugging).
func (p *initProc) say(level int, kind, format string, args ...any) {
	if p.opts.Verbosity >= level {
		fmt.Fprintf(p.stderr, "vigil: "+kind+format+"\n", args...)
	}
}

func (p *initProc) errorf(format string, args ...any)  { p.say(0, "error: ", format, args...) }
func (p *initProc) warnf(format string, args ...any)   { p.say(1, "warning: ", format, args...) }
func (p *initProc) noticef(format string, args ...any) { p.say(1, "", format, args...) }
func (p *initProc) infof(format string, args ...any)   { p.say(2, "", format, args...) }
func (p *initProc) debugf(format string, args ...any)  { p.say(3, "", format, args...) }
