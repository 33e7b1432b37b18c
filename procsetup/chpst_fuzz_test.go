package procsetup

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Command lines as run scripts write them: the shell-free example's, and
// the idioms of runit's and djb's documentation (dnscache, tinydns,
// getty), one word a NUL apart.
var chpstSeeds = [][]string{
	{"chpst", "-u", "nobody", "-o", "1024", "busybox", "httpd", "-f", "-vv", "-p", "80", "-h", "www"},
	{"chpst", "-u", "_dnscache", "-e", "./env", "-/", "./root", "dnscache"},
	{"chpst", "-m", "3000000", "-U", "dnscache", "-e", "./env", "envdir", "./env", "dnscache"},
	{"chpst", "-l", "/var/lock/x", "-n", "-5", "-d", "1000", "-f", "1000", "-c", "0", "-r", "100", "-t", "60", "-p", "10", "-vP012", "-b", "name", "prog"},
	{"chpst", "-u", ":1000:1000:27", "-L", "lock", "--", "-prog", "arg"},
	{"chpst", "-V"},
	{"/usr/bin/envdir", "./env", "tinydns"},
	{"setuidgid", "nobody", "id", "-u"},
	{"envuidgid", "app", "run"},
	{"softlimit", "-m", "10000000", "-o", "=", "prog"},
	{"setlock", "-nX", "/run/lock", "cmd"},
	{"pgrphack", "sh", "-c", "exec sleep 1"},
	{"dchpst", "-x", "p"},
	{"chpst", "-o", "18446744073709551616", "p"},
	{"chpst"},
}

// FuzzParseChpst: any command line either parses or is a usage error in
// runit's form; a parsed one runs the words after the options unchanged,
// with each limit once, in runit's order; the arguments are left alone.
func FuzzParseChpst(f *testing.F) {
	for _, args := range chpstSeeds {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		args := strings.Split(cmdline, "\x00")
		orig := slices.Clone(args)
		s, err := ParseChpst(args)
		if !reflect.DeepEqual(args, orig) {
			t.Fatalf("ParseChpst changed its arguments %q to %q", orig, args)
		}
		if err != nil {
			var u *UsageError
			if !errors.As(err, &u) {
				t.Fatalf("ParseChpst(%q) = %v; want a *UsageError", args, err)
			}
			if want := "usage: " + Name(args[0]); !strings.Contains(u.Text, want) || !strings.HasSuffix(u.Text, "\n\n") {
				t.Errorf("ParseChpst(%q) usage %q; want it to contain %q and end in an empty line", args, u.Text, want)
			}
			return
		}
		if len(s.Args) == 0 || !slices.Equal(s.Args, args[len(args)-len(s.Args):]) {
			t.Fatalf("ParseChpst(%q) runs %q; want the last words of the command line, unchanged", args, s.Args)
		}
		last := -1
		for _, r := range s.Rlimits {
			i := slices.IndexFunc(limitOrder[:], func(o struct {
				res  int
				name string
			}) bool {
				return o.res == r.Resource && o.name == r.Name
			})
			if i <= last || !r.SoftOnly {
				t.Errorf("ParseChpst(%q) limits %+v; want each once, soft only, in runit's order", args, s.Rlimits)
				break
			}
			last = i
		}
		if s.Origin != "" || s.Env != nil || s.Capabilities != nil || s.OOMScoreAdj != nil {
			t.Errorf("ParseChpst(%q) = %+v; chpst sets neither origin, env, capabilities nor oom score", args, s)
		}
		again, err := ParseChpst(args)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Errorf("ParseChpst(%q) twice: %+v, then %+v, %v", args, s, again, err)
		}
	})
}
