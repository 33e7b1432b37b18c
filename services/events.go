package services

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// repeats is what an event line said last, so that a failure repeating
// itself (a crash loop, a run that cannot be executed) is printed once and
// then summarised at most once a minute, never a line a second forever.
type repeats struct {
	key   string
	count int       // lines held back since said
	said  time.Time // when the line was last printed
}

// summaryEvery is how often a repeating event line is printed at most.
const summaryEvery = time.Minute

// eventf prints one event line about s when the verbosity asks for its
// level (1: the default, 2: -vv). Lines with the same non-empty key as the
// last one of s are repeats.
func (e *Engine) eventf(s *service, level int, key, format string, args ...any) {
	if e.cfg.Verbosity < level {
		return
	}
	msg := fmt.Sprintf(format, args...)
	name := ""
	if s != nil {
		name = s.name
		if r := &s.rep; key != "" || r.count > 0 {
			now := e.now()
			if key != "" && key == r.key && now.Sub(r.said) < summaryEvery {
				r.count++
				return
			}
			if r.count > 0 {
				if key == r.key {
					msg += fmt.Sprintf(" (%d more times since %s)", r.count, r.said.Format(time.TimeOnly))
				} else {
					e.message(name, "", "the last line repeated %d more times", r.count)
				}
			}
			r.key, r.count, r.said = key, 0, now
		}
	}
	e.message(name, "", "%s", msg)
}

// reportExit is the line for an unasked exit of run.
func (s *service) reportExit(then string) {
	x := s.lastExit
	if s.execFailed {
		return
	}
	how := fmt.Sprintf("exited with code %d", x.Code)
	if x.Signal != 0 {
		how = fmt.Sprintf("killed by signal %d (%s)", x.Signal, signalName(unix.Signal(x.Signal)))
		if s.oomKilled {
			how = "killed by the OOM killer"
		}
	}
	s.e.eventf(s, 1, fmt.Sprintf("exit %d %d %s", x.Code, x.Signal, then), "%s after %s; %s", how, round(s.ran), then)
}

func (e *Engine) now() time.Time {
	if e.cfg.Clock != nil {
		return e.cfg.Clock()
	}
	return time.Now()
}

// round keeps a duration short for a log line.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func signalName(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n[3:]
	}
	return fmt.Sprint(int(sig))
}
