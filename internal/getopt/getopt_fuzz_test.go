package getopt

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

type parsed struct {
	opts []string // each option, then its argument when it takes one
	rest []string
	err  error
}

func parseLine(args []string, opts string, dashDashOnly bool) parsed {
	g := Getopt{Args: args, Opts: opts, DashDashOnly: dashDashOnly}
	var p parsed
	for g.Next() {
		p.opts = append(p.opts, string([]byte{g.Opt}))
		if takesArg(opts, g.Opt) {
			p.opts = append(p.opts, g.Arg)
		}
	}
	p.err = g.Err()
	if p.err == nil {
		p.rest = g.Rest()
	}
	return p
}

// takesArg is the package's rule: c is followed by ':' in opts, and ':'
// and '-' are never options.
func takesArg(opts string, c byte) bool {
	if c == ':' || c == '-' {
		return false
	}
	i := strings.IndexByte(opts, c)
	return i >= 0 && i+1 < len(opts) && opts[i+1] == ':'
}

// FuzzGetopt: the command lines of sv, svc, chpst, svlogd and vigil,
// rewritten in the plainest form (each option its own word, its argument
// the next, "--", the operands), parse to the same options and operands;
// a rejected one names an option byte it holds; nothing is read twice.
func FuzzGetopt(f *testing.F) {
	for _, seed := range []struct {
		cmdline, opts string
		dashDashOnly  bool
	}{
		{"-w\x0030\x00restart\x00web", "w:vV", false},
		{"-vw5\x00up\x00web", "w:vV", false},
		{"-x\x00up", "w:vV", false},
		{"--\x00-v\x00up", "w:vV", false},
		{"--foo\x00up", "w:vV", false},
		{"-u\x00nobody\x00-o\x001024\x00-P012\x00prog", "u:U:b:e:m:d:o:p:f:c:r:t:/:n:l:L:vP012V", false},
		{"-tt\x00-r\x00_\x00-R\x00abc\x00/var/log/web", "R:r:l:b:tvV", false},
		{"-g\x002.5\x00-s\x00/etc/service\x00--\x00nginx\x00-g\x00daemon off;", "hVpqvg:s:i:e:", true},
		{"--help", "hVpqvg:s:i:e:", true},
		{"-udx\x00web", "udopchaitkxq12+", true},
		{"-w", "w:", false},
	} {
		f.Add(seed.cmdline, seed.opts, seed.dashDashOnly)
	}
	f.Fuzz(func(t *testing.T, cmdline, opts string, dashDashOnly bool) {
		args := strings.Split(cmdline, "\x00")
		orig := slices.Clone(args)
		p := parseLine(args, opts, dashDashOnly)
		if !slices.Equal(args, orig) {
			t.Fatalf("getopt changed its arguments %q to %q", orig, args)
		}
		if p.err != nil {
			var e *Error
			if !errors.As(p.err, &e) || strings.IndexByte(cmdline, e.Opt) < 0 {
				t.Errorf("getopt(%q, %q): error %v names no option of the command line", args, opts, p.err)
			}
			if e != nil && e.Missing != takesArg(opts, e.Opt) {
				t.Errorf("getopt(%q, %q): %v, yet -%c takes an argument: %v", args, opts, p.err, e.Opt, takesArg(opts, e.Opt))
			}
			return
		}
		if len(p.rest) > len(args) || !slices.Equal(p.rest, args[len(args)-len(p.rest):]) {
			t.Fatalf("getopt(%q, %q): operands %q; want the last words, unchanged", args, opts, p.rest)
		}
		var plain []string
		for i := 0; i < len(p.opts); i++ {
			plain = append(plain, "-"+p.opts[i])
			if takesArg(opts, p.opts[i][0]) {
				i++
				plain = append(plain, p.opts[i])
			}
		}
		plain = append(append(plain, "--"), p.rest...)
		q := parseLine(plain, opts, dashDashOnly)
		if q.err != nil || !slices.Equal(q.opts, p.opts) || !slices.Equal(q.rest, p.rest) {
			t.Errorf("getopt(%q, %q) = %q, operands %q;\nwritten plainly as %q it is %q, operands %q, %v",
				args, opts, p.opts, p.rest, plain, q.opts, q.rest, q.err)
		}
	})
}
