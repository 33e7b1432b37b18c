package runsvdir_test

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

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestMain doubles as a service: with VIGIL_TEST_HELPER=signals the test
// binary records every signal it gets, one name a line, in ./signals (the
// service directory), and exits 100 ms after TERM so that a CONT sent right
// after the TERM is recorded too.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_HELPER") == "signals" {
		signalHelper()
		return
	}
	os.Exit(m.Run())
}

func signalHelper() {
	sigs := []os.Signal{syscall.SIGHUP, syscall.SIGALRM, syscall.SIGINT, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCONT, syscall.SIGTERM}
	c := make(chan os.Signal, 32)
	signal.Notify(c, sigs...)
	f, err := os.OpenFile("signals", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		os.Exit(3)
	}
	os.WriteFile("ready", []byte(strconv.Itoa(os.Getpid())), 0o644)
	var exit <-chan time.Time
	for {
		select {
		case s := <-c:
			name := strings.ToUpper(strings.TrimPrefix(unixName(s.(syscall.Signal)), "SIG"))
			fmt.Fprintln(f, name)
			if s == syscall.SIGTERM && exit == nil {
				exit = time.After(100 * time.Millisecond)
			}
		case <-exit:
			os.Exit(0)
		}
	}
}

func unixName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGHUP: "HUP", syscall.SIGALRM: "ALRM", syscall.SIGINT: "INT",
		syscall.SIGQUIT: "QUIT", syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2", syscall.SIGCONT: "CONT",
		syscall.SIGTERM: "TERM"}[s]
}

// helperRun is a run script that execs this test binary as the signal recorder.
func helperRun(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "#!/bin/sh\nrm -f ready\nVIGIL_TEST_HELPER=signals exec '" + exe + "'\n"
}

// impl is a runsvdir to test: vigil's or Debian's.
type impl struct {
	name string
	argv []string // without the service directory
	env  []string // runit's runsvdir finds runsv in PATH
}

func impls(t *testing.T) []impl {
	return []impl{
		{"vigil", []string{testenv.Vigil(t), "runsvdir"}, nil},
		{"runit", []string{testenv.Peer(t, "runsvdir")}, []string{"PATH=" + filepath.Dir(testenv.Peer(t, "runsv")) + ":" + os.Getenv("PATH")}},
	}
}

// writeFiles creates files under dir; names ending in run, finish, check
// or under control/ are made executable.
func writeFiles(t *testing.T, dir string, files map[string]string) {
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

// proc is a supervisor under test, its output in files so that no copying
// goroutine waits for the services that inherit it.
type proc struct {
	cmd    *exec.Cmd
	out    string
	errf   string
	done   chan struct{}
	code   int
	killed bool
}

func start(t *testing.T, dir string, argv []string, env ...string) *proc {
	t.Helper()
	tmp := t.TempDir()
	p := &proc{out: filepath.Join(tmp, "stdout"), errf: filepath.Join(tmp, "stderr"), done: make(chan struct{}), code: -1}
	stdout, err := os.Create(p.out)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(p.errf)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	stderr.Close()
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		killUnder(dir)
	})
	return p
}

// wait returns the exit code, or fails the test after timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v; stderr:\n%s", p.cmd.Path, timeout, p.stderr())
		return -1
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stdout() string { b, _ := os.ReadFile(p.out); return string(b) }
func (p *proc) stderr() string { b, _ := os.ReadFile(p.errf); return string(b) }

// killUnder kills every process whose working directory is under root:
// the services a killed supervisor left behind.
func killUnder(root string) {
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

func status(t *testing.T, svc string) supervise.Status {
	t.Helper()
	st, err := supervise.ReadStatus(filepath.Join(svc, "supervise"))
	if err != nil {
		t.Fatalf("reading %s/supervise/status: %v", svc, err)
	}
	return st
}

// statusOK reads the status without failing: for polling.
func statusOK(svc string) (supervise.Status, bool) {
	st, err := supervise.ReadStatus(filepath.Join(svc, "supervise"))
	return st, err == nil
}

func send(t *testing.T, svc, cmd string) {
	t.Helper()
	if err := supervise.Send(filepath.Join(svc, "supervise"), []byte(cmd)); err != nil {
		t.Fatalf("sending %q to %s: %v", cmd, svc, err)
	}
}

// waitRunning waits until the service runs a process, and returns its pid.
func waitRunning(t *testing.T, svc string) int {
	t.Helper()
	var pid int
	testenv.WaitFor(t, 5*time.Second, svc+" running", func() bool {
		st, ok := statusOK(svc)
		pid = st.Pid
		return ok && st.State == supervise.Run && st.Pid != 0
	})
	return pid
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		got = string(b)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q; want %q", path, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// procState is the state letter of /proc/PID/stat: S, R, T, Z...
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// sid is the session of pid, from /proc/PID/stat.
func sid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, _ := strconv.Atoi(f[3])
	return n
}

func alive(pid int) bool {
	st := procState(pid)
	return st != "" && st != "Z"
}

// supervised reports whether a supervisor holds svc's supervise/ok.
func supervised(svc string) bool {
	return supervise.Alive(filepath.Join(svc, "supervise")) == nil
}
