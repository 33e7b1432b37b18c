// Package sv is runit's sv, with daemontools' (and BusyBox's) svc and svok.
//
// sv speaks only the supervise/ protocol (services/supervise), never the
// engine, so it drives vigil's engine and Debian's runsv alike. It is
// runit 2.1.2's sv in every command, byte written, message and exit code,
// except where runit is wrong:
//
//   - it waits on file events (inotify on supervise/, on reads of the
//     control FIFO and on the ok FIFO closing) with a short polling
//     fallback, instead of polling every 420 ms;
//   - it compares full-resolution status timestamps and pids against the
//     status read just before sending, instead of whole seconds against
//     the program's start, so every "ok:" is true when printed (wait.go);
//   - it always sends 'u' (void-linux/runit #33), so the last command wins;
//   - the wait phase resolves names as the send phase does (runit drops
//     the trailing-slash rule there);
//   - check waits for the wanted state and LSB status reports the service,
//     not its log, as runit 2.3.0 does;
//   - a status file that is not exactly 20 well-formed bytes is "bad
//     format" (runit accepts any file of 20 bytes or more and prints junk);
//   - -h and --help list the commands, and an unknown command is named
//     before the usage line.
//
// And it knows what runit cannot: where the supervisor keeps
// supervise/vigil beside status (vigil's engine does for services with a
// readiness source, dependencies or a restart limit), the status line
// says whether the process is ready, unhealthy, failed or waiting for its
// dependencies, and the wait for up, start, restart and check includes
// readiness (extended.go). Without that file, output and waits are
// runit's.
package sv

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-init/vigil/internal/getopt"
)

const (
	defaultSvdir = "/etc/service/"
	defaultWait  = 7 * time.Second // runit's SVWAIT default
	version      = "$Id: vigil sv $"
)

// Main is sv. args[0] is the name sv was called by: any base name other
// than "sv" selects LSB init-script mode with that name as the service.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	r := newRun(args, stdin, stdout, stderr)
	return r.main(args)
}

func newRun(args []string, stdin io.Reader, stdout, stderr io.Writer) *run {
	prog := "sv"
	if len(args) > 0 && args[0] != "" {
		prog = filepath.Base(args[0])
	}
	r := &run{
		prog:   prog,
		lsb:    prog != "sv",
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		svdir:  defaultSvdir,
		wait:   defaultWait,
	}
	if v, ok := os.LookupEnv("SVDIR"); ok {
		r.svdir = v
	}
	if v, ok := os.LookupEnv("SVWAIT"); ok {
		r.wait = scanUlong(v)
	}
	return r
}

func (r *run) main(args []string) int {
	cmd, names, code, ok := r.parse(args)
	if !ok {
		return code
	}
	return r.exec(cmd, names)
}

// parse reads sv's command line: the options (into r), the action and the
// services it names. When it finds nothing to do (usage, help, -V) it
// prints what sv prints and returns the exit code, ok false. It touches
// no service.
func (r *run) parse(args []string) (cmd command, names []string, code int, ok bool) {
	if len(args) == 0 {
		args = []string{r.prog}
	}
	// -w implies -v, as in runit. Any word starting with "--" ends the
	// options and is dropped, as djb's getopt does.
	verbose := false
	if wantsHelp(args[1:]) {
		return cmd, nil, r.help(), false
	}
	g := getopt.Getopt{Args: args[1:], Opts: "w:vVh"}
	for g.Next() {
		switch g.Opt {
		case 'h':
			return cmd, nil, r.help(), false
		case 'v':
			verbose = true
		case 'w':
			r.wait, verbose = scanUlong(g.Arg), true
		case 'V':
			r.errf("%s\n", version)
			return cmd, nil, r.usage(), false
		}
	}
	if err := g.Err(); err != nil {
		r.errf("%s: %v\n", r.prog, err)
		return cmd, nil, r.usage(), false
	}
	args = g.Rest()
	if len(args) == 0 {
		return cmd, nil, r.usage(), false
	}
	action := args[0]
	cmd, ok = parseAction(action, r.lsb)
	if !ok {
		// runit prints the usage line alone; vigil says which word it
		// did not know first (an empty one is no command at all).
		if action != "" {
			r.errf("%s: unknown command: %s\n", r.prog, action)
		}
		return cmd, nil, r.usage(), false
	}
	if r.lsb {
		names = []string{r.prog}
	} else {
		names = args[1:]
	}
	if len(names) == 0 {
		return cmd, nil, r.usage(), false
	}
	if verbose && !cmd.wait && cmd.act != actStatus {
		cmd.wait = true
	}
	return cmd, names, 0, true
}

func (r *run) usage() int {
	if r.lsb {
		r.errf("usage: %s [-w sec] command\n\n", r.prog)
		return 2
	}
	r.errf("usage: %s [-v] [-w sec] command service ...\n\n", r.prog)
	return 100
}

// scanUlong is djb's scan_ulong: the leading decimal digits, 0 if none.
func scanUlong(s string) time.Duration {
	var n uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32 {
			n = 1 << 32 // more than a century: forever enough
		}
	}
	return time.Duration(n) * time.Second
}

type actKind int

const (
	actControl actKind = iota // write acts to control, then maybe wait
	actStatus                 // print the status line
	actNone                   // check: write nothing, wait
)

// command is what an action word means to sv.c's main switch.
type command struct {
	act  actKind
	acts string // control bytes written; also the per-byte wait checks
	wait bool   // wait for acts to take effect
	kill bool   // on timeout, print "kill:" and send 'k'
}

// parseAction follows sv.c's switch on the first character, with its
// fall-throughs: only the words it compares in full are checked in full.
func parseAction(action string, lsb bool) (command, bool) {
	if action == "" {
		return command{}, false
	}
	c := command{act: actControl}
	switch action[0] {
	case 'x', 'e':
		c.acts = "x"
		return c, true
	case 'X', 'E':
		c.acts, c.kill, c.wait = "x", true, true
		return c, true
	case 'D':
		c.acts, c.kill, c.wait = "d", true, true
		return c, true
	case 'T':
		c.acts, c.kill, c.wait = "tc", true, true
		return c, true
	case 's':
		switch action {
		case "shutdown":
			c.acts, c.wait = "x", true
		case "start":
			c.acts, c.wait = "u", true
		case "stop":
			c.acts, c.wait = "d", true
		default:
			if lsb && action != "status" {
				return c, false
			}
			c.act, c.acts = actStatus, "s"
		}
		return c, true
	case 'r':
		switch action {
		case "restart":
			c.acts, c.wait = "tcu", true
		case "reload":
			c.acts, c.wait = "h", true
		default:
			return c, false
		}
		return c, true
	case 'f':
		switch action {
		case "force-reload":
			c.acts = "tc"
		case "force-restart":
			c.acts = "tcu"
		case "force-shutdown":
			c.acts = "x"
		case "force-stop":
			c.acts = "d"
		default:
			return c, false
		}
		c.kill, c.wait = true, true
		return c, true
	case 't':
		if action == "try-restart" {
			c.acts, c.wait = "tc", true
			return c, true
		}
		c.acts = "t"
		return c, true
	case 'c':
		if action == "check" {
			c.act, c.acts, c.wait = actNone, "C", true
			return c, true
		}
		c.acts = "c"
		return c, true
	case 'u', 'd', 'o', 'p', 'h', 'a', 'i', 'k', 'q', '1', '2':
		c.acts = action[:1]
		return c, true
	}
	return c, false
}

// resolve is where sv looks for a service named name: under SVDIR unless
// the name starts with '/' or '.', is empty, or ends in '/'. Unlike runit,
// the wait phase uses the same rule.
func (r *run) resolve(name string) string {
	if name == "" || name[0] == '/' || name[0] == '.' || strings.HasSuffix(name, "/") {
		return name
	}
	if r.svdir == "" {
		return "" // chdir("") fails: file does not exist
	}
	return filepath.Join(r.svdir, name)
}
