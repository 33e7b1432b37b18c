package sv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// The test binary is also sv, svc and svok: with VIGIL_TEST_APPLET set it
// runs that applet on its own argv, so every test drives vigil's sv as a
// real process, exactly as Debian's.
func TestMain(m *testing.M) {
	switch os.Getenv("VIGIL_TEST_APPLET") {
	case "sv":
		os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	case "svc":
		os.Exit(SvcMain(os.Args, os.Stdin, os.Stdout, os.Stderr))
	case "svok":
		os.Exit(SvokMain(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// client is an sv to run: vigil's (this test binary) or Debian's.
type client struct {
	name  string
	path  string
	vigil bool
}

func vigilSv(t testing.TB) client {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return client{name: "vigil", path: exe, vigil: true}
}

// debianSv is Debian's sv; its path is "" when it is not unpacked, and
// the test then runs vigil's half alone (present says which).
func debianSv(t testing.TB) client {
	t.Helper()
	return client{name: "debian", path: testenv.HavePeer(t, "sv")}
}

// present reports whether the client can be run: vigil's always,
// Debian's when it is unpacked.
func (c client) present() bool { return c.path != "" }

// clients are vigil's sv and, when it is unpacked, Debian's.
func clients(t testing.TB) []client {
	t.Helper()
	cs := []client{vigilSv(t)}
	if deb := debianSv(t); deb.present() {
		cs = append(cs, deb)
	}
	return cs
}

type result struct {
	stdout, stderr string
	rc             int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("rc %d, stdout %q, stderr %q", r.rc, r.stdout, r.stderr)
}

// invocation says how to run a client once.
type invocation struct {
	applet string   // sv (default), svc, svok
	argv0  string   // the name called by; default the applet's
	env    []string // added to the environment
	cred   *syscall.Credential
	path   string // override the program (a copy for other users)
	// stdout, if set, is a file that gets sv's stdout as it writes it,
	// for services that wait on what sv said.
	stdout string
}

func (c client) run(t testing.TB, inv invocation, args ...string) result {
	t.Helper()
	applet := inv.applet
	if applet == "" {
		applet = "sv"
	}
	argv0 := inv.argv0
	if argv0 == "" {
		argv0 = applet
	}
	path := c.path
	if inv.path != "" {
		path = inv.path
	}
	env := append(os.Environ(), inv.env...)
	if c.vigil {
		env = append(env, "VIGIL_TEST_APPLET="+applet)
	} else if argv0 != filepath.Base(path) {
		// Debian's sv learns its name only from argv[0]; exec it through
		// a link so that argv[0] and the program agree.
		link := filepath.Join(t.TempDir(), argv0)
		if err := os.Symlink(path, link); err != nil {
			t.Fatal(err)
		}
		path = link
	}
	args = stretchWait(args)
	hang := testenv.Scale(30 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = argv0
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if inv.stdout != "" {
		f, err := os.Create(inv.stdout)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	if inv.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: inv.cred}
	}
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if inv.stdout != "" {
		b, _ := os.ReadFile(inv.stdout)
		res.stdout = string(b)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.rc = ee.ExitCode()
	default:
		t.Fatalf("%s sv %q: %v (%s)", c.name, args, err, res)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s sv %q hung: killed after %v", c.name, args, hang)
	}
	return res
}

// stretchWait scales a -w of 5 s or more by testenv.Factor: such a -w
// only bounds how long sv may wait for a supervisor that will answer, and
// a loaded machine needs longer. A shorter -w is what a test examines (a
// timeout) and stays as it is.
func stretchWait(args []string) []string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] != "-w" {
			continue
		}
		if n, err := strconv.Atoi(args[i+1]); err == nil && n >= 5 {
			args = slices.Clone(args)
			args[i+1] = strconv.Itoa(int(math.Ceil(float64(n) * testenv.Factor())))
		}
		break
	}
	return args
}

// svEnv is the environment a test gives sv: SVDIR, and SVWAIT if wanted.
func svEnv(svdir string, extra ...string) invocation {
	return invocation{env: append([]string{"SVDIR=" + svdir}, extra...)}
}

// makeService creates svdir/name with an executable run script.
func makeService(t testing.TB, svdir, name, run string) string {
	t.Helper()
	dir := filepath.Join(svdir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(dir, "run"), run)
	return dir
}

func writeScript(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// supervisorKind is a runsv to test against: Debian's or vigil's engine.
type supervisorKind struct {
	name string
	argv func(t testing.TB, dir string) []string
}

func supervisorKinds() []supervisorKind {
	return []supervisorKind{
		{"runsv", func(t testing.TB, dir string) []string {
			return []string{testenv.Peer(t, "runsv"), dir}
		}},
		{"vigil", func(t testing.TB, dir string) []string {
			return []string{testenv.Vigil(t), "runsv", dir}
		}},
	}
}

// supervisor is a running runsv on one service directory.
type supervisor struct {
	dir  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// startSupervisor starts kind on dir in its own process group (killed as
// a whole at cleanup) and waits until it answers on supervise/ok.
func startSupervisor(t testing.TB, kind supervisorKind, dir string) *supervisor {
	t.Helper()
	argv := kind.argv(t, dir)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &supervisor{dir: dir, cmd: cmd, logs: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: s.logs}, &lockedWriter{w: s.logs}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", kind.name, err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	})
	testenv.WaitFor(t, 10*time.Second, kind.name+" answering on "+dir+"/supervise/ok", func() bool {
		select {
		case <-s.done:
			t.Fatalf("%s %s exited: %s", kind.name, dir, s.logs)
		default:
		}
		sup := supervise.Locate(dir)
		if supervise.Alive(sup) != nil {
			return false
		}
		_, err := supervise.ReadStatus(sup)
		return err == nil
	})
	return s
}

func (s *supervisor) status(t testing.TB) supervise.Status {
	t.Helper()
	st, err := supervise.ReadStatus(supervise.Locate(s.dir))
	if err != nil {
		t.Fatalf("reading status of %s: %v", s.dir, err)
	}
	return st
}

// waitRunning waits until a process runs and has run for longer than d
// (runsv's back-off does not then delay its next restart).
func (s *supervisor) waitRunning(t testing.TB, d time.Duration) supervise.Status {
	t.Helper()
	var st supervise.Status
	testenv.WaitFor(t, 10*time.Second, s.dir+" running", func() bool {
		st = s.status(t)
		return st.State == supervise.Run && st.Pid != 0 && time.Since(st.Since) > d
	})
	return st
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fake is a supervisor played by the test: it holds supervise/ (lock,
// control, ok) through the protocol package and writes whatever status
// the test wants, so that sv can be examined byte by byte.
type fake struct {
	dir string
	d   *supervise.Dir
}

func newFake(t testing.TB, dir string) *fake {
	t.Helper()
	d, err := supervise.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return &fake{dir: dir, d: d}
}

func (f *fake) set(t testing.TB, st supervise.Status) {
	t.Helper()
	if err := f.d.Write(st, true); err != nil {
		t.Fatal(err)
	}
}

func (f *fake) setRaw(t testing.TB, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.d.Path, "status"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// drain returns the bytes sv wrote to control since the last drain.
func (f *fake) drain() string {
	var out []byte
	var buf [256]byte
	for {
		n, err := unix.Read(f.d.Control, buf[:])
		if n <= 0 || err != nil {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

// serve reads control as a supervisor would, byte by byte, and calls
// handle for each, until the test ends.
func (f *fake) serve(t testing.TB, handle func(c byte)) {
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			fds := []unix.PollFd{{Fd: int32(f.d.Control), Events: unix.POLLIN}}
			unix.Poll(fds, 20)
			var b [1]byte
			for {
				n, _ := unix.Read(f.d.Control, b[:])
				if n != 1 {
					break
				}
				handle(b[0])
			}
		}
	}()
}

var (
	pidRE  = regexp.MustCompile(`\(pid [0-9]+\)`)
	secsRE = regexp.MustCompile(`\) [0-9]+s|: [0-9]+s`)
)

// normalise hides what differs between two runs against the same
// supervisor: pids and elapsed seconds.
func normalise(s string) string {
	s = pidRE.ReplaceAllString(s, "(pid N)")
	return secsRE.ReplaceAllStringFunc(s, func(m string) string {
		return m[:2] + "Ns"
	})
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
