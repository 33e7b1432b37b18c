package integration

// Harness for init mode: vigil runs as PID 1 of a new PID namespace (with
// its own /proc) through `unshare --pid --fork --mount-proc`, so reparenting,
// the kernel's signal filtering for a namespace init and the SIGKILL of the
// whole namespace when init exits are all real.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// initHelperEnv makes the test binary, run as a process inside the
// namespace, one of the small programs of initHelpers instead of the tests.
const initHelperEnv = "VIGIL_INIT_TEST_HELPER"

// init, not TestMain: other files of this package may own TestMain.
func init() {
	if name := os.Getenv(initHelperEnv); name != "" {
		os.Unsetenv(initHelperEnv)
		h, ok := initHelpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(h(os.Args[1:]))
	}
}

// initHelpers are the programs the test binary can be inside a namespace.
// (A map literal, not registrations in init functions: the dispatch above
// may run before those.)
var initHelpers = map[string]func(args []string) int{
	"signals": signalPrinter,
	"zombies": zombieCheck,
	"noreap":  noReapInit,
	"jobctl":  jobControlShell,
}

// initHelperCmd is the argv (and environment entry) that runs helper name.
func initHelperCmd(t *testing.T, name string, args ...string) (argv []string, env string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{self}, args...), initHelperEnv + "=" + name
}

var (
	initNSOnce   sync.Once
	initNSErr    error
	initLinkOnce sync.Once
	initLinkPath string
)

// requireInitNS skips the test where PID namespaces are refused (not root, or
// a locked-down host); CI runs as root, where they work.
func requireInitNS(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	initNSOnce.Do(func() {
		out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").CombinedOutput()
		if err != nil {
			initNSErr = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
	})
	if initNSErr != nil {
		t.Skipf("PID namespaces refused here (unshare --pid --fork --mount-proc: %v); run as root", initNSErr)
	}
}

// vigilInit is the built vigil, reached through a link named "vigil": the
// multi-call binary picks init mode from that name.
func vigilInit(t *testing.T) string {
	t.Helper()
	bin := testenv.Vigil(t)
	initLinkOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-init-test-")
		if err != nil {
			t.Fatal(err)
		}
		initLinkPath = filepath.Join(dir, "vigil")
		if err := os.Symlink(bin, initLinkPath); err != nil {
			t.Fatal(err)
		}
	})
	return initLinkPath
}

// initNS is one vigil running as PID 1 of its own namespace.
type initNS struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string // scratch directory of the test
	outF   string // vigil's stdout, a file
	errF   string // vigil's stderr, a file
	start  time.Time
	done   chan struct{}
	end    time.Time
	status syscall.WaitStatus
}

// initOpts configure a run.
type initOpts struct {
	args  []string // vigil's arguments
	env   []string // added to the base environment
	dir   string   // working directory (default: the test's scratch dir)
	stdin *os.File
	// scratch is the test's scratch directory ($T), if the test made it.
	scratch string
	// wrap runs a shell inside the namespace before vigil: its script
	// gets vigil's argv in "$@" and must end with `exec "$@"`.
	wrap string
}

// initBaseEnv keeps vigil away from the host's /etc/service, /etc/vigil and
// /run/vigil.
func initBaseEnv(dir string) []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SVDIR=" + filepath.Join(dir, "no-service"),
		"VIGIL_INIT_DIR=" + filepath.Join(dir, "no-init.d"),
		"VIGIL_SHUTDOWN_DIR=" + filepath.Join(dir, "no-shutdown.d"),
		"VIGIL_RUNDIR=" + filepath.Join(dir, "run"),
		"T=" + dir,
	}
}

// startInitNS starts vigil as PID 1 of a new PID namespace.
func startInitNS(t *testing.T, o initOpts) *initNS {
	t.Helper()
	requireInitNS(t)
	vigil := vigilInit(t)
	dir := o.scratch
	if dir == "" {
		dir = t.TempDir()
	}
	r := &initNS{t: t, dir: dir, outF: filepath.Join(dir, "vigil.out"), errF: filepath.Join(dir, "vigil.err"), done: make(chan struct{})}
	out, err := os.Create(r.outF)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(r.errF)
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	argv := []string{"--pid", "--fork", "--mount-proc", "--kill-child"}
	if o.wrap != "" {
		argv = append(argv, "/bin/sh", "-c", o.wrap, "sh")
	}
	argv = append(argv, vigil)
	argv = append(argv, o.args...)
	r.cmd = exec.Command("unshare", argv...)
	r.cmd.Env = append(initBaseEnv(dir), o.env...)
	r.cmd.Dir = dir
	if o.dir != "" {
		r.cmd.Dir = o.dir
	}
	r.cmd.Stdin = o.stdin
	r.cmd.Stdout = out
	r.cmd.Stderr = errf
	// If the test dies, unshare dies, and --kill-child takes the
	// namespace with it.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r.start = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting unshare: %v", err)
	}
	go func() {
		r.cmd.Wait()
		r.end = time.Now()
		r.status = r.cmd.ProcessState.Sys().(syscall.WaitStatus)
		close(r.done)
	}()
	killAtCleanup(t, r.cmd, r.done)
	return r
}

// longGrace is a grace period (for -g) that no step of a test comes near
// on this machine, so that a shutdown that ends before it ended because
// everything was gone, not because the deadline struck.
func longGrace() (arg string, d time.Duration) {
	d = testenv.Scale(20 * time.Second)
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64), d
}

// killAtCleanup kills cmd when the test ends, unless done (closed once it
// has been waited for) says it is gone already, and waits for it.
func killAtCleanup(t *testing.T, cmd *exec.Cmd, done <-chan struct{}) {
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
}

// pid is vigil's pid as seen from the test: the child of unshare. With a
// wrap script, the shell has exec'd vigil under the same pid; ready waits
// for that exec.
func (r *initNS) pid() int {
	r.t.Helper()
	var pid int
	testenv.WaitFor(r.t, 10*time.Second, "vigil to start under unshare", func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", r.cmd.Process.Pid))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			if fs := strings.Fields(string(b)); len(fs) > 0 {
				pid, _ = strconv.Atoi(fs[0])
			}
		}
		if pid == 0 {
			return false
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return strings.HasSuffix(exe, filepath.Base(testenv.Vigil(r.t)))
	})
	return pid
}

// signal sends sig to vigil from outside its namespace.
func (r *initNS) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := syscall.Kill(r.pid(), sig); err != nil {
		r.t.Fatalf("kill(vigil, %v): %v", sig, err)
	}
}

// wait waits for vigil to exit, up to timeout (scaled by
// testenv.Scale), and returns its exit code (128+n if it was killed by
// signal n) and how long it ran.
func (r *initNS) wait(timeout time.Duration) (code int, ran time.Duration) {
	r.t.Helper()
	timeout = testenv.Scale(timeout)
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.done
		r.t.Fatalf("vigil still running after %v\nstdout:\n%s\nstderr:\n%s", timeout, r.stdout(), r.stderr())
	}
	code = r.status.ExitStatus()
	if r.status.Signaled() {
		code = 128 + int(r.status.Signal())
	}
	return code, r.end.Sub(r.start)
}

// exited reports whether vigil (and so unshare) has exited.
func (r *initNS) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *initNS) stdout() string { b, _ := os.ReadFile(r.outF); return string(b) }
func (r *initNS) stderr() string { b, _ := os.ReadFile(r.errF); return string(b) }

// file is the content of a file in the scratch directory ("" if none).
func (r *initNS) file(name string) string {
	b, _ := os.ReadFile(filepath.Join(r.dir, name))
	return string(b)
}

func (r *initNS) exists(name string) bool {
	_, err := os.Stat(filepath.Join(r.dir, name))
	return err == nil
}

// waitFile waits until the named file of the scratch directory exists,
// failing early if vigil exits first.
func (r *initNS) waitFile(name string, timeout time.Duration) {
	r.t.Helper()
	testenv.WaitFor(r.t, timeout, name+" to appear", func() bool {
		if r.exists(name) {
			return true
		}
		if r.exited() {
			r.t.Fatalf("vigil exited (%v) before %s appeared\nstdout:\n%s\nstderr:\n%s", r.status, name, r.stdout(), r.stderr())
		}
		return false
	})
}

// initScript writes an executable shell script.
func initScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// initServices writes a service directory: name to the body of its run script.
// Each service finds the test's scratch directory in $T.
func initServices(t *testing.T, svdir string, runs map[string]string) {
	t.Helper()
	for name, body := range runs {
		initScript(t, filepath.Join(svdir, name, "run"), body)
	}
}

// initSigStatus reads the SigBlk, SigIgn and SigCgt lines of a copy of
// /proc/PID/status and reports the ones that are not all zero.
func initSigStatus(status string) (bad []string, err error) {
	// What vigil was given it must hand over unchanged, as tini does: the
	// test's own blocked and ignored sets (an ignored real-time signal
	// inherited from the machine, say). Nothing may be caught, and
	// nothing added.
	base, _ := os.ReadFile("/proc/self/status")
	want := map[string]uint64{"SigCgt": 0}
	for _, line := range strings.Split(string(base), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "SigBlk" || k == "SigIgn") {
			want[k], _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	seen := 0
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "SigBlk", "SigIgn", "SigCgt":
			seen++
			n, perr := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if perr != nil {
				return nil, perr
			}
			if n != want[k] {
				bad = append(bad, fmt.Sprintf("%s: %s (want %016x)", k, strings.TrimSpace(v), want[k]))
			}
		}
	}
	if seen != 3 {
		return nil, errors.New("no SigBlk/SigIgn/SigCgt lines")
	}
	return bad, nil
}
