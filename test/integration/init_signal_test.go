package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/svtest"
	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// forwarded are the signals vigil passes to its main command.
var forwarded = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGWINCH, syscall.SIGALRM, syscall.SIGCONT, unix.SIGPWR,
	syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGIO,
}

// dropped are signals vigil must neither forward nor be stopped or
// killed by: among them those a fault raises, which, sent with kill,
// would make a Go program that did not ask for them crash.
var dropped = []syscall.Signal{
	syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPIPE,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
	syscall.SIGABRT, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS,
	syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, unix.SIGSTKFLT,
}

// signalPrinter is a main command that appends the name of every signal it
// gets to $SIGFILE, one line per signal, and exits 42 on TERM or INT. The
// Go runtime keeps its own SIGURG to itself, so URG is checked with a
// shell printer instead.
func signalPrinter(args []string) int {
	f, err := os.OpenFile(os.Getenv("SIGFILE"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := make(chan os.Signal, 64)
	sigs := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	for _, s := range append(forwarded, dropped...) {
		if s != syscall.SIGURG {
			sigs = append(sigs, s)
		}
	}
	signal.Notify(c, sigs...)
	f.WriteString("ready\n")
	for s := range c {
		f.WriteString(unix.SignalName(s.(syscall.Signal)) + "\n")
		if s == syscall.SIGTERM || s == syscall.SIGINT {
			return 42
		}
	}
	return 0
}

func countLines(text, line string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// startSigPrinter runs vigil with the signal printer as main command and
// waits until the printer is ready.
func startSigPrinter(t *testing.T, extra ...string) (r *initNS, signals func() string) {
	t.Helper()
	argv, env := initHelperCmd(t, "signals")
	sigfile := filepath.Join(t.TempDir(), "signals")
	r = startInitNS(t, initOpts{
		args: append(append(extra, "--"), argv...),
		env:  []string{env, "SIGFILE=" + sigfile},
	})
	signals = func() string { b, _ := os.ReadFile(sigfile); return string(b) }
	testenv.WaitFor(t, 10*time.Second, "the signal printer to be ready", func() bool {
		if r.exited() {
			t.Fatalf("vigil exited early: %s", r.stderr())
		}
		return strings.Contains(signals(), "ready\n")
	})
	return r, signals
}

// TestInitForwardsSignals sends vigil every forwardable signal (S2), each
// after the signals it must drop (S11: CHLD, URG, PIPE, TSTP, TTIN, TTOU,
// and the fault signals),
// then TERM or INT, which start the shutdown: the main command gets it
// and vigil exits with the main command's code.
func TestInitForwardsSignals(t *testing.T) {
	for _, stop := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(unix.SignalName(stop), func(t *testing.T) {
			t.Parallel()
			grace, graceD := longGrace()
			r, signals := startSigPrinter(t, "-g", grace)
			pid := r.pid()
			for _, sig := range forwarded {
				for _, d := range dropped {
					r.signal(d)
				}
				r.signal(sig)
				name := unix.SignalName(sig)
				testenv.WaitFor(t, 5*time.Second, name+" to reach the main command", func() bool {
					return countLines(signals(), name) >= 1
				})
				if st := svtest.ProcState(pid); st == "T" || st == "t" {
					t.Fatalf("vigil is stopped (state %s) after TSTP/TTIN/TTOU", st)
				}
			}
			sent := time.Now()
			r.signal(stop)
			code, _ := r.wait(graceD + 5*time.Second)
			if code != 42 {
				t.Errorf("vigil exited %d after %v; want 42, the main command's code\nstderr:\n%s", code, unix.SignalName(stop), r.stderr())
			}
			if took := r.end.Sub(sent); took >= graceD {
				t.Errorf("vigil took %v to stop a main command that exits at once: it waited out the grace period", took)
			}
			got := signals()
			for _, sig := range forwarded {
				name := unix.SignalName(sig)
				n := countLines(got, name)
				// CONT comes once more with the TERM of the shutdown,
				// unless the printer is gone by then.
				if n != 1 && !(sig == syscall.SIGCONT && n == 2) {
					t.Errorf("main command got %s %d times; want 1\n%s", name, n, got)
				}
			}
			for _, d := range dropped {
				if n := countLines(got, unix.SignalName(d)); n > 0 {
					t.Errorf("main command got %s %d times; want it never forwarded\n%s", unix.SignalName(d), n, got)
				}
			}
			// TERM and INT both start the shutdown, which stops the main
			// command with TERM.
			if n := countLines(got, "SIGTERM"); n != 1 {
				t.Errorf("main command got SIGTERM %d times after %s; want 1\n%s", n, unix.SignalName(stop), got)
			}
			if n := countLines(got, "SIGINT"); n != 0 {
				t.Errorf("main command got SIGINT %d times; want 0\n%s", n, got)
			}
		})
	}
}

// TestInitNoURG: a shell main command traps URG, HUP and USR1. SIGURG sent
// to vigil (which the Go runtime also sends itself) never reaches it; HUP
// from outside and USR1 from inside the namespace (kill -USR1 1) do. The
// last step sends URG to the shell itself, to show the trap would see one.
func TestInitNoURG(t *testing.T) {
	r := startInitNS(t, initOpts{args: []string{"-g", "20", "--", "/bin/sh", "-c", `
trap 'echo URG >> $T/sig' URG
trap 'echo HUP >> $T/sig' HUP
trap 'echo USR1 >> $T/sig' USR1
trap 'exit 0' TERM
kill -USR1 1
echo ready >> $T/sig
while :; do sleep 0.02; done`}})
	r.waitFile("sig", 10*time.Second)
	for round := 1; round <= 3; round++ {
		for range 20 {
			r.signal(syscall.SIGURG)
		}
		r.signal(syscall.SIGHUP)
		testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("HUP number %d", round), func() bool {
			return countLines(r.file("sig"), "HUP") == round
		})
	}
	testenv.WaitFor(t, 5*time.Second, "USR1 sent from inside the namespace", func() bool {
		return countLines(r.file("sig"), "USR1") == 1
	})
	if n := countLines(r.file("sig"), "URG"); n != 0 {
		t.Errorf("main command got SIGURG %d times; want 0\n%s", n, r.file("sig"))
	}
	// The control: the same trap does see a URG sent to the shell.
	var shell int
	testenv.WaitFor(t, 5*time.Second, "the main command's pid", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", r.pid(), r.pid()))
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", r.pid()))
		for _, f := range tasks {
			c, _ := os.ReadFile(f)
			b = append(b, c...)
		}
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasSuffix(exe, "dash") || strings.HasSuffix(exe, "/sh") {
				shell = pid
				return true
			}
		}
		return false
	})
	syscall.Kill(shell, syscall.SIGURG)
	testenv.WaitFor(t, 5*time.Second, "the control URG sent to the shell directly", func() bool {
		return countLines(r.file("sig"), "URG") == 1
	})
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(15 * time.Second); code != 0 {
		t.Errorf("vigil exited %d; want 0\n%s", code, r.stderr())
	}
}

// TestInitCleanSignalState: a service and the main command start with an
// empty signal mask, nothing ignored and nothing caught (tini's signal
// configuration test), and vigil itself ignores nothing, since SIG_IGN
// would be inherited.
func TestInitCleanSignalState(t *testing.T) {
	r := startSigStates(t, "", `while [ ! -e $T/svc.status ]; do sleep 0.01; done`)
	if code, _ := r.wait(20 * time.Second); code != 0 {
		t.Fatalf("vigil exited %d; want 0\n%s", code, r.stderr())
	}
	for _, f := range []string{"svc.status", "main.status"} {
		bad, err := initSigStatus(r.file(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s: %v; want the inherited SigBlk and SigIgn, and SigCgt zero", f, bad)
		}
	}
	// vigil catches what it handles; it must ignore nothing it was not
	// given ignored, since children would inherit SIG_IGN.
	own, _ := os.ReadFile("/proc/self/status")
	if got, want := sigLine(r.file("init.status"), "SigIgn"), sigLine(string(own), "SigIgn"); got != want {
		t.Errorf("vigil's own SigIgn = %s; want %s, what it inherited (children would inherit more)", got, want)
	}
}

// TestInitInheritedIgnore: HUP and INT that vigil was started with ignored
// (nohup, a script's background job) stay ignored by vigil, its services
// and its main command, as under tini; TERM still stops it.
func TestInitInheritedIgnore(t *testing.T) {
	r := startSigStates(t, `trap "" HUP INT; exec "$@"`, "exec sleep 1000")
	testenv.WaitFor(t, 10*time.Second, "status of the service, the main command and vigil", func() bool {
		for _, f := range []string{"svc.status", "main.status", "init.status"} {
			if !r.exists(f) {
				return false
			}
		}
		return true
	})
	const hupInt = 1<<(syscall.SIGHUP-1) | 1<<(syscall.SIGINT-1)
	for _, f := range []string{"svc.status", "main.status", "init.status"} {
		ign, err := strconv.ParseUint(sigLine(r.file(f), "SigIgn"), 16, 64)
		if got := ign & hupInt; err != nil || got != hupInt {
			t.Errorf("%s: SigIgn has HUP and INT bits %#x (%v); want %#x, as inherited", f, got, err, hupInt)
		}
	}
	r.signal(syscall.SIGHUP)
	r.signal(syscall.SIGINT)
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(15 * time.Second); code != 143 {
		t.Errorf("vigil exited %d after HUP, INT (ignored) and TERM; want 143, the main command's TERM\n%s", code, r.stderr())
	}
}

// startSigStates starts vigil, through the wrap script if there is one,
// with a service that saves its /proc/PID/status as $T/svc.status and a
// main command that saves its own and vigil's as main.status and
// init.status, then runs the shell command then.
func startSigStates(t *testing.T, wrap, then string) *initNS {
	svdir := filepath.Join(t.TempDir(), "sv")
	initServices(t, svdir, map[string]string{
		"status": `cat /proc/self/status > $T/svc.tmp && mv $T/svc.tmp $T/svc.status; exec sleep 1000`,
	})
	return startInitNS(t, initOpts{
		wrap: wrap,
		args: []string{"-s", svdir, "--", "/bin/sh", "-c", `
cat /proc/self/status > $T/main.tmp && mv $T/main.tmp $T/main.status
cat /proc/1/status > $T/init.tmp && mv $T/init.tmp $T/init.status
` + then},
	})
}

// TestInitSigStatusCanFail checks the checker: an ignored signal shows.
func TestInitSigStatusCanFail(t *testing.T) {
	out, err := exec.Command("/bin/sh", "-c", `trap "" USR1; exec cat /proc/self/status`).Output()
	if err != nil {
		t.Fatal(err)
	}
	bad, err := initSigStatus(string(out))
	if err != nil || len(bad) == 0 {
		t.Errorf("initSigStatus(a process ignoring USR1) = %v, %v; want SigIgn reported", bad, err)
	}
}

// sigLine returns the value of a /proc/PID/status line such as SigIgn.
func sigLine(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestRunsvdirAsPID1: runsvdir as a container's PID 1 outlives the signals
// the kernel drops for runit's there (INT, QUIT, faults sent with kill),
// still serves its services, and stops on TERM.
func TestRunsvdirAsPID1(t *testing.T) {
	svdir := filepath.Join(t.TempDir(), "sv")
	initServices(t, svdir, map[string]string{"a": "exec sleep 1000"})
	r := startInitNS(t, initOpts{args: []string{"runsvdir", svdir}})
	a := filepath.Join(svdir, "a")
	svtest.WaitRunning(t, a)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGSEGV} {
		r.signal(sig)
	}
	svtest.Send(t, a, "d")
	svtest.WaitStatus(t, a, 10*time.Second, "down after the stray signals", func(st supervise.Status) bool { return st.Pid == 0 })
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(15 * time.Second); code != 0 {
		t.Errorf("runsvdir as PID 1 exited %d; want 0 after TERM\n%s", code, r.stderr())
	}
}
