package sv

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// Command lines users type (runit's manual and the README's docker exec
// lines), LSB init-script calls through a link named after the service,
// and the odd ones TestUsageLikeDebian compares with Debian's sv; one
// word a NUL apart.
var svSeeds = [][]string{
	{"sv", "restart", "web"},
	{"sv", "-w", "30", "force-restart", "web", "db"},
	{"sv", "-v", "up", "/etc/service/web/"},
	{"sv", "status", "web", "web/log"},
	{"sv", "check", "./web"},
	{"sv", "X", "web"},
	{"sv", "once", "cron"},
	{"sv", "-V"},
	{"sv", "-x", "up", "web"},
	{"sv", "--", "up", "web"},
	{"sv", "-w"},
	{"sv", "--help"},
	{"sv", "-w", "--help", "up", "web"},
	{"/etc/init.d/web", "-h"},
	{"sv", "bogus", "web"},
	{"/etc/init.d/web", "start"},
	{"/etc/init.d/web", "-w", "5", "stop"},
	{"/etc/init.d/web", "status"},
	{"/etc/init.d/web", "sxyz"},
	{"web", "force-reload"},
	{"sv"},
	{""},
}

// FuzzParseArgs: sv's command line, parsed and never run, is help (0, on
// stdout), usage (100, or 2 in LSB mode, with runit's usage line last)
// or a command that
// writes only control bytes runsv knows to services named on the line;
// the words sv reads by their first letter read the same whole; LSB mode
// takes a subset of sv's actions, meaning the same.
func FuzzParseArgs(f *testing.F) {
	for _, args := range svSeeds {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		args := strings.Split(cmdline, "\x00")
		orig := slices.Clone(args)
		var stdout, stderr bytes.Buffer
		r := newRun(args, nil, &stdout, &stderr)
		cmd, names, code, ok := r.parse(args)
		if !slices.Equal(args, orig) {
			t.Fatalf("parse changed its arguments %q to %q", orig, args)
		}
		if r.wait < 0 || r.wait > 1<<32*time.Second {
			t.Errorf("sv %q: wait %v; want 0 to 2^32 s", args, r.wait)
		}
		if !ok && code == 0 {
			if help := stdout.String(); !strings.HasPrefix(help, "usage: "+r.prog+" ") || !strings.HasSuffix(help, helpText) || stderr.Len() != 0 {
				t.Errorf("sv %q: help %q, %q; want the usage line and the commands on stdout only", args, help, stderr.String())
			}
			return
		}
		if !ok {
			want := 100
			if r.lsb {
				want = 2
			}
			msg := stderr.String()
			if code != want || !strings.Contains(msg, "usage: "+r.prog+" ") || !strings.HasSuffix(msg, " ...\n\n") && !strings.HasSuffix(msg, " command\n\n") {
				t.Errorf("sv %q: usage %d %q; want %d and the usage line of %s last", args, code, msg, want, r.prog)
			}
			return
		}
		if stderr.Len() != 0 || stdout.Len() != 0 || code != 0 {
			t.Errorf("sv %q: parsed, yet wrote %q, %q, code %d", args, stdout.String(), stderr.String(), code)
		}
		switch {
		case len(names) == 0:
			t.Errorf("sv %q: no service", args)
		case r.lsb && !slices.Equal(names, []string{r.prog}):
			t.Errorf("sv %q in LSB mode: services %q; want only %q", args, names, r.prog)
		case !r.lsb && !slices.Equal(names, args[len(args)-len(names):]):
			t.Errorf("sv %q: services %q; want the last words, unchanged", args, names)
		}
		checkCommand(t, cmd)
	})
}

// FuzzParseAction holds parseAction to sv.c's switch: a word whose first
// letter is a command means that command whatever follows, and LSB mode
// accepts only what sv accepts, with the same meaning.
func FuzzParseAction(f *testing.F) {
	for _, a := range []string{"up", "down", "status", "start", "stop", "restart", "reload", "shutdown",
		"force-stop", "force-reload", "force-restart", "force-shutdown", "try-restart", "check",
		"exit", "e", "X", "E", "D", "T", "once", "pause", "cont", "hup", "alarm", "interrupt",
		"quit", "1", "2", "term", "kill", "sxyz", "reboot", "force", ""} {
		f.Add(a, false)
		f.Add(a, true)
	}
	f.Fuzz(func(t *testing.T, action string, lsb bool) {
		cmd, ok := parseAction(action, lsb)
		if !ok {
			return
		}
		checkCommand(t, cmd)
		if strings.IndexByte("xeXEDTudopahikq12", action[0]) >= 0 {
			if first, ok := parseAction(action[:1], lsb); !ok || first != cmd {
				t.Errorf("parseAction(%q) = %+v, but %q gives %+v, %v; sv.c reads only the first letter", action, cmd, action[:1], first, ok)
			}
		}
		if lsb {
			if plain, ok := parseAction(action, false); !ok || plain != cmd {
				t.Errorf("parseAction(%q) in LSB mode = %+v; without it %+v, %v", action, cmd, plain, ok)
			}
		}
	})
}

// checkCommand: the bytes a command writes are runsv's control bytes, a
// status writes none (its "s" is only what it prints), check only waits.
func checkCommand(t *testing.T, cmd command) {
	t.Helper()
	switch cmd.act {
	case actStatus:
		if cmd.acts != "s" || cmd.kill {
			t.Errorf("status command %+v; want acts \"s\", no kill", cmd)
		}
	case actNone:
		if cmd.acts != "C" || !cmd.wait {
			t.Errorf("check command %+v; want acts \"C\", waiting", cmd)
		}
	case actControl:
		if cmd.acts == "" || strings.Trim(cmd.acts, "udopchaiktxq12") != "" {
			t.Errorf("command %+v writes bytes runsv does not know", cmd)
		}
	default:
		t.Errorf("command %+v of no kind", cmd)
	}
	if cmd.kill && !cmd.wait {
		t.Errorf("command %+v kills on a timeout it never waits for", cmd)
	}
}
