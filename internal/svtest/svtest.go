// Package svtest holds helpers for tests that drive supervisors: service
// directories, supervisor processes, supervise/ status polling, and a
// signal-recording service. It is shared by the runsv and runsvdir applet
// tests and the engine's integration tests, and runs vigil's supervisors
// next to Debian's runit ones.
//
// It imports only the standard library, golang.org/x/sys/unix,
// internal/testenv and services/supervise: never the engine or an applet,
// so that the tests stay black-box.
package svtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// Impl is a supervisor to test: vigil's or Debian's.
type Impl struct {
	Name string
	Argv []string // the command, without the service directory
	Env  []string // added to the environment of the supervisor
}

// RunNamed runs im with args to the end, called by its own name (argv[0]
// "runsv" for Debian's; "vigil" then the applet for vigil's, as a user
// types it), and returns the exit code and stderr.
func (im Impl) RunNamed(name string, args ...string) (int, string) {
	cmd := exec.Command(im.Argv[0])
	cmd.Args = append(append([]string{name}, im.Argv[1:]...), args...)
	if im.Name == "vigil" {
		cmd.Args[0] = "vigil"
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Run()
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// Runsvs are vigil's runsv and, when it is unpacked, Debian's: a test
// that ranges over them runs vigil's half without the peer (and logs
// why the other half does not run).
func Runsvs(t testing.TB) []Impl {
	t.Helper()
	ims := []Impl{{"vigil", []string{testenv.Vigil(t), "runsv"}, nil}}
	if p := testenv.HavePeer(t, "runsv"); p != "" {
		ims = append(ims, Impl{"runit", []string{p}, nil})
	}
	return ims
}

// Runsvdirs are vigil's runsvdir and, when it is unpacked, Debian's,
// which finds Debian's runsv through PATH.
func Runsvdirs(t testing.TB) []Impl {
	t.Helper()
	ims := []Impl{{"vigil", []string{testenv.Vigil(t), "runsvdir"}, nil}}
	runsvdir, runsv := testenv.HavePeer(t, "runsvdir"), testenv.HavePeer(t, "runsv")
	if runsvdir != "" && runsv != "" {
		ims = append(ims, Impl{"runit", []string{runsvdir}, []string{"PATH=" + filepath.Dir(runsv) + ":" + os.Getenv("PATH")}})
	}
	return ims
}

// WriteFiles creates files under dir; names ending in run, finish, check
// or under control/ are made executable.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		base := filepath.Base(name)
		if base == "run" || base == "finish" || base == "check" || filepath.Base(filepath.Dir(name)) == "control" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
}

// Proc is a supervisor under test, its output in files so that no copying
// goroutine waits for the services that inherit it.
type Proc struct {
	Cmd  *exec.Cmd
	Out  string // the file that holds its stdout
	errf string
	done chan struct{}
	code int
	err  error
}

// Start starts argv in dir with env added to the environment. At cleanup
// it, and every process working under dir, is killed.
func Start(t testing.TB, dir string, argv []string, env ...string) *Proc {
	t.Helper()
	return start(t, dir, argv, env, nil)
}

// StartAs is Start with the process's user and groups switched to cred.
func StartAs(t testing.TB, cred *syscall.Credential, dir string, argv []string, env ...string) *Proc {
	t.Helper()
	return start(t, dir, argv, env, &syscall.SysProcAttr{Credential: cred})
}

func start(t testing.TB, dir string, argv, env []string, attr *syscall.SysProcAttr) *Proc {
	t.Helper()
	tmp := t.TempDir()
	p := &Proc{Out: filepath.Join(tmp, "stdout"), errf: filepath.Join(tmp, "stderr"), done: make(chan struct{}), code: -1}
	stdout, err := os.Create(p.Out)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(p.errf)
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd = exec.Command(argv[0], argv[1:]...)
	p.Cmd.Dir = dir
	p.Cmd.Stdout, p.Cmd.Stderr = stdout, stderr
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.SysProcAttr = attr
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	stderr.Close()
	go func() {
		p.err = p.Cmd.Wait()
		p.code = p.Cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		<-p.done
		KillUnder(dir)
	})
	return p
}

// Wait returns the exit code, or fails the test after timeout (scaled
// by testenv.Scale).
func (p *Proc) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	timeout = testenv.Scale(timeout)
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v; stderr:\n%s", p.Cmd.Path, timeout, p.Stderr())
		return -1
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is what waiting for the process returned: nil for exit 0. It is
// known once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stdout is what the process wrote to its stdout so far.
func (p *Proc) Stdout() string { return ReadFile(p.Out) }

// Stderr is what the process wrote to its stderr so far.
func (p *Proc) Stderr() string { return ReadFile(p.errf) }

// Supervise writes files into the directory name under a new temporary
// directory and starts im on name there, with im.Env and env added to its
// environment. It returns the directory and the supervisor.
func Supervise(t testing.TB, im Impl, name string, files map[string]string, env ...string) (string, *Proc) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, name)
	WriteFiles(t, dir, files)
	return dir, Start(t, root, append(slices.Clip(im.Argv), name), slices.Concat(im.Env, env)...)
}

// Nobody is the user and group id of nobody.
const Nobody = 65534

// NobodyRoot is a new temporary directory that nobody can enter, with a
// copy of vigil in it that nobody can run (vigil itself may sit in a
// directory only root can enter). It skips the test unless it runs as
// root and nobody can reach the directory.
func NobodyRoot(t testing.TB) (root, vigil string) {
	t.Helper()
	testenv.RequireRoot(t, "to switch to nobody")
	root = t.TempDir()
	for _, d := range []string{root, filepath.Dir(root)} {
		os.Chmod(d, 0o755)
	}
	for d := filepath.Dir(root); d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by nobody", d)
		}
	}
	vigil = filepath.Join(root, "vigil")
	data, err := os.ReadFile(testenv.Vigil(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vigil, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, vigil
}

// KillUnder kills every process whose working directory is under root:
// the services a killed supervisor left behind.
func KillUnder(root string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err == nil && (cwd == root || strings.HasPrefix(cwd, root+"/")) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Status reads svc's supervise/status, or fails the test.
func Status(t testing.TB, svc string) supervise.Status {
	t.Helper()
	st, err := supervise.ReadStatus(filepath.Join(svc, "supervise"))
	if err != nil {
		t.Fatalf("reading %s/supervise/status: %v", svc, err)
	}
	return st
}

// StatusOK reads the status without failing: for polling.
func StatusOK(svc string) (supervise.Status, bool) {
	st, err := supervise.ReadStatus(filepath.Join(svc, "supervise"))
	return st, err == nil
}

// Running reports whether st is a service running a process.
func Running(st supervise.Status) bool { return st.Pid != 0 && st.State == supervise.Run }

// Send writes cmd to svc's supervise/control, or fails the test.
func Send(t testing.TB, svc, cmd string) {
	t.Helper()
	if err := supervise.Send(filepath.Join(svc, "supervise"), []byte(cmd)); err != nil {
		t.Fatalf("sending %q to %s: %v", cmd, svc, err)
	}
}

// WaitRunning waits until the service runs a process, and returns its pid.
func WaitRunning(t testing.TB, svc string) int {
	t.Helper()
	var pid int
	testenv.WaitFor(t, 10*time.Second, svc+" running", func() bool {
		st, ok := StatusOK(svc)
		pid = st.Pid
		return ok && Running(st)
	})
	return pid
}

// WaitStatus waits up to timeout until svc's status satisfies cond, what
// naming it in the failure, and returns the status.
func WaitStatus(t testing.TB, svc string, timeout time.Duration, what string, cond func(supervise.Status) bool) supervise.Status {
	t.Helper()
	var st supervise.Status
	testenv.WaitFor(t, timeout, svc+": "+what, func() bool {
		var ok bool
		st, ok = StatusOK(svc)
		return ok && cond(st)
	})
	return st
}

// Supervised reports whether a supervisor holds svc's supervise/ok.
func Supervised(svc string) bool {
	return supervise.Alive(filepath.Join(svc, "supervise")) == nil
}

// WaitFile waits up to fifteen seconds (scaled) until the file at path
// holds want.
func WaitFile(t testing.TB, path, want string) {
	t.Helper()
	var got string
	// Generous: the CI machine runs every package's tests at once, and
	// runit's runsv adds its one-second sleeps.
	deadline := time.Now().Add(testenv.Scale(15 * time.Second))
	for {
		got = ReadFile(path)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q; want %q", path, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ReadFile is the content of path, empty if it cannot be read.
func ReadFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// procStat is the part of /proc/PID/stat after the command name, from
// the space after its closing parenthesis; "" if pid is gone.
func procStat(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	return s[i+1:]
}

// ProcState is the state letter of /proc/PID/stat: S, R, T, Z...; "" if
// pid is gone.
func ProcState(pid int) string {
	s := procStat(pid)
	if len(s) < 2 {
		return ""
	}
	return s[1:2]
}

// Sid is the session of pid, from /proc/PID/stat; -1 if pid is gone.
func Sid(pid int) int {
	f := strings.Fields(procStat(pid))
	if len(f) < 4 {
		return -1
	}
	n, _ := strconv.Atoi(f[3])
	return n
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	st := ProcState(pid)
	return st != "" && st != "Z"
}

// RecorderRun is a run script that records each signal the service gets,
// one name a line, in ./signals, writes its pid to ./ready when it is set
// up, and exits 100 ms after TERM, so that a CONT sent right after the TERM
// is recorded too. It is a shell on purpose: a shell runs traps one at a
// time, the lowest signal number first when several are pending, so a TERM
// sent before a CONT is recorded before it; a Go program may take the two
// on different threads and see them in either order.
func RecorderRun(t testing.TB) string {
	t.Helper()
	return `#!/bin/sh
rm -f ready
for s in HUP ALRM INT QUIT USR1 USR2 CONT; do trap "echo $s >> signals" $s; done
trap 'echo TERM >> signals; term=1' TERM
echo $$ > ready
while :; do
	sleep 1 & nap=$!
	wait $nap
	kill $nap 2>/dev/null
	if [ -n "$term" ]; then sleep 0.1; exit 0; fi
done
`
}
