package procsetup

import (
	"math"
	"strings"
	"syscall"

	"github.com/vigil-init/vigil/internal/getopt"
)

const (
	usageMain      = " [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog"
	usageSetuidgid = " account child"
	usageEnvuidgid = " account child"
	usageEnvdir    = " dir child"
	usagePgrphack  = " child"
	usageSetlock   = " [ -nNxX ] file program [ arg ... ]"
	usageSoftlimit = " [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child"
	// chpst -V prints Debian 2.1.2-54's version line.
	versionID = "$Id: f279d44141c981dd7535a12260efcf1ef7beed26 $\n"
)

// Name returns the applet a chpst binary called as arg0 acts as: the base
// name with one leading 'd' stripped (runit's rule), so "denvdir" is
// envdir and any unknown name is chpst.
func Name(arg0 string) string {
	if i := strings.LastIndexByte(arg0, '/'); i >= 0 {
		arg0 = arg0[i+1:]
	}
	return strings.TrimPrefix(arg0, "d")
}

// chpst's limit slots, in the order runit applies them.
var limitOrder = [...]struct {
	res  int
	name string
}{
	{syscall.RLIMIT_DATA, "RLIMIT_DATA"},
	{syscall.RLIMIT_STACK, "RLIMIT_STACK"},
	{rlimitMemlock, "RLIMIT_MEMLOCK"},
	{syscall.RLIMIT_AS, "RLIMIT_AS"},
	{syscall.RLIMIT_NOFILE, "RLIMIT_NOFILE"},
	{rlimitNproc, "RLIMIT_NPROC"},
	{syscall.RLIMIT_FSIZE, "RLIMIT_FSIZE"},
	{syscall.RLIMIT_CORE, "RLIMIT_CORE"},
	{rlimitRSS, "RLIMIT_RSS"},
	{syscall.RLIMIT_CPU, "RLIMIT_CPU"},
}

const (
	rlimitRSS     = 5
	rlimitNproc   = 6
	rlimitMemlock = 8
)

const (
	lData = iota
	lStack
	lMemlock
	lAS
	lNofile
	lNproc
	lFsize
	lCore
	lRSS
	lCPU
)

type limits struct {
	set [len(limitOrder)]bool
	val [len(limitOrder)]uint64
}

func (l *limits) put(slot int, v uint64) { l.set[slot], l.val[slot] = true, v }

func (l *limits) rlimits() []Rlimit {
	var out []Rlimit
	for i, o := range limitOrder {
		if l.set[i] {
			out = append(out, Rlimit{Resource: o.res, Name: o.name, Soft: l.val[i], SoftOnly: true})
		}
	}
	return out
}

// ParseChpst parses the command line of chpst or one of its daemontools
// names (args[0] decides, see Name). It fails only with *UsageError: like
// runit, everything else (unknown users, missing directories) is found
// when the Spec is applied, in runit's order.
func ParseChpst(args []string) (*Spec, error) {
	if len(args) == 0 {
		args = []string{"chpst"}
	}
	name := Name(args[0])
	p := &parser{args: args, name: name, g: getopt.Getopt{Args: args[1:]}}
	switch name {
	case "setuidgid", "envuidgid":
		return p.account(name)
	case "envdir":
		if len(args) < 3 {
			return nil, p.usage(usageEnvdir)
		}
		return &Spec{EnvDir: &args[1], EnvDirStrict: true, Args: args[2:]}, nil
	case "pgrphack":
		if len(args) < 2 {
			return nil, p.usage(usagePgrphack)
		}
		return &Spec{Setsid: true, Args: args[1:]}, nil
	case "setlock":
		return p.setlock()
	case "softlimit":
		return p.softlimit()
	}
	return p.chpst()
}

type parser struct {
	args []string
	name string
	g    getopt.Getopt // djb's sgetopt: any word starting with "--" ends the options
	msg  string        // getopt's complaint, printed before the usage
}

func (p *parser) usage(text string) *UsageError {
	return &UsageError{Text: p.msg + "usage: " + p.name + text + "\n\n"}
}

// optErr is getopt's complaint, if it stopped at one, recorded in p.msg
// after the base name chpst was called by.
func (p *parser) optErr() bool {
	err := p.g.Err()
	if err == nil {
		return false
	}
	prog := p.args[0]
	if i := strings.LastIndexByte(prog, '/'); i >= 0 {
		prog = prog[i+1:]
	}
	p.msg += prog + ": " + err.Error() + "\n"
	return true
}

func (p *parser) account(name string) (*Spec, error) {
	u := usageSetuidgid
	if name == "envuidgid" {
		u = usageEnvuidgid
	}
	if len(p.args) < 3 {
		return nil, p.usage(u)
	}
	acct := &Account{Name: p.args[1], Strict: true}
	if name == "envuidgid" {
		return &Spec{EnvUser: acct, Args: p.args[2:]}, nil
	}
	return &Spec{User: acct, Args: p.args[2:]}, nil
}

func (p *parser) setlock() (*Spec, error) {
	s := &Spec{}
	p.g.Opts = "nNxX"
	for p.g.Next() {
		switch p.g.Opt {
		case 'n':
			s.LockWait = true
		case 'N':
			s.LockWait = false
		case 'x':
			s.QuietFail = true
		case 'X':
			s.QuietFail = false
		}
	}
	rest := p.g.Rest()
	if p.optErr() || len(rest) < 2 {
		return nil, p.usage(usageSetlock)
	}
	s.Lock, s.Args = &rest[0], rest[1:]
	return s, nil
}

func (p *parser) softlimit() (*Spec, error) {
	var l limits
	p.g.Opts = "a:c:d:f:l:m:o:p:r:s:t:"
	for p.g.Next() {
		// A bad number gets chpst's own usage, as in runit.
		v, ok := uint64(math.MaxUint64), p.g.Arg == "="
		if !ok {
			if v, ok = scanUlong(p.g.Arg); !ok {
				return nil, p.usage(usageMain)
			}
		}
		switch p.g.Opt {
		case 'a':
			l.put(lAS, v)
		case 'c':
			l.put(lCore, v)
		case 'd':
			l.put(lData, v)
		case 'f':
			l.put(lFsize, v)
		case 'l':
			l.put(lMemlock, v)
		case 'm':
			l.put(lData, v)
			l.put(lStack, v)
			l.put(lMemlock, v)
			l.put(lAS, v)
		case 'o':
			l.put(lNofile, v)
		case 'p':
			l.put(lNproc, v)
		case 'r':
			l.put(lRSS, v)
		case 's':
			l.put(lStack, v)
		case 't':
			l.put(lCPU, v)
		}
	}
	rest := p.g.Rest()
	if p.optErr() || len(rest) == 0 {
		return nil, p.usage(usageSoftlimit)
	}
	return &Spec{Rlimits: l.rlimits(), Args: rest}, nil
}

func (p *parser) chpst() (*Spec, error) {
	s := &Spec{}
	var l limits
	lock := false
	slots := map[byte]int{'d': lData, 'o': lNofile, 'p': lNproc, 'f': lFsize, 'c': lCore, 'r': lRSS, 't': lCPU}
	p.g.Opts = "u:U:b:e:m:d:o:p:f:c:r:t:/:n:l:L:vP012V"
	for p.g.Next() {
		c, arg := p.g.Opt, p.g.Arg
		switch c {
		case 'u':
			s.User = &Account{Name: arg}
		case 'U':
			s.EnvUser = &Account{Name: arg}
		case 'b':
			s.Argv0 = &arg
		case 'e':
			s.EnvDir = &arg
		case 'm', 'd', 'o', 'p', 'f', 'c', 'r', 't':
			v, ok := scanUlong(arg)
			if !ok {
				return nil, p.usage(usageMain)
			}
			if c == 'm' {
				l.put(lStack, v)
				l.put(lMemlock, v)
				l.put(lAS, v)
				l.put(lData, v)
			} else {
				l.put(slots[c], v)
			}
		case '/':
			s.Chroot = &arg
		case 'n':
			neg := false
			switch {
			case strings.HasPrefix(arg, "-"):
				neg, arg = true, arg[1:]
			case strings.HasPrefix(arg, "+"):
				arg = arg[1:]
			}
			v, ok := scanUlong(arg)
			if !ok {
				return nil, p.usage(usageMain)
			}
			s.Nice = int64(v)
			if neg {
				s.Nice = -s.Nice
			}
		case 'l', 'L':
			if lock {
				return nil, p.usage(usageMain)
			}
			lock, s.Lock, s.LockWait = true, &arg, c == 'l'
		case 'v':
			s.Verbose = true
		case 'P':
			s.Setsid = true
		case '0', '1', '2':
			s.Close[c-'0'] = true
		case 'V':
			p.msg += versionID
			return nil, p.usage(usageMain)
		}
	}
	s.Args = p.g.Rest()
	if p.optErr() || len(s.Args) == 0 {
		return nil, p.usage(usageMain)
	}
	s.Rlimits = l.rlimits()
	return s, nil
}

// scanUlong reads an unsigned decimal the way djb's scan_ulong does
// (wrapping on overflow) and reports whether s was all digits. The empty
// string is 0.
func scanUlong(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return v, false
		}
		v = v*10 + uint64(c)
	}
	return v, true
}
