package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/testenv"
)

// openPTY returns the master of a new pseudo-terminal and its slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// ttyRun is a process on the slave of a pty, session leader with the pty
// as its controlling terminal, as `docker run -it` starts a container's
// init.
type ttyRun struct {
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
}

func startOnTTY(t *testing.T, stderr *os.File, env []string, argv ...string) *ttyRun {
	t.Helper()
	master, slave := openPTY(t)
	r := &ttyRun{master: master, done: make(chan struct{})}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.Env = env
	r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = slave, slave, stderr
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { r.cmd.Wait(); close(r.done) }()
	killAtCleanup(t, r.cmd, r.done)
	return r
}

func (r *ttyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

func (r *ttyRun) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("still running after %v; terminal output:\n%q", timeout, r.output())
	}
	ws := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// TestInitTTY: vigil as PID 1 on a terminal hands it to the main command:
// input and output go through (T1), and Ctrl-C interrupts the main
// command alone, whose 130 is vigil's exit code (T4).
func TestInitTTY(t *testing.T) {
	requireInitNS(t)
	vigil := vigilInit(t)
	cases := []struct {
		name  string
		argv  []string
		await string // terminal output before input is typed
		input string
		want  int
		out   string // expected in the terminal output
	}{
		{"tac round trip", []string{"tac"}, "", "1\n2\n3\n\x04", 0, "3\r\n2\r\n1\r\n"},
		{"ctrl-c", []string{"/bin/sh", "-c", "echo ready; exec sleep 100"}, "ready", "\x03", 130, ""},
		// The main command leads its own process group, which is the
		// terminal's foreground group (T2: job control works).
		{"foreground group", []string{"/bin/sh", "-c", `read -r pid comm state ppid pgrp sid tty tpgid rest < /proc/$$/stat
[ "$pgrp" = $$ ] && [ "$tpgid" = $$ ]`}, "", "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stderr, err := os.Create(filepath.Join(dir, "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			argv := append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child", vigil, "-vv", "--"}, c.argv...)
			r := startOnTTY(t, stderr, initBaseEnv(dir), argv...)
			if c.await != "" {
				testenv.WaitFor(t, 10*time.Second, c.await+" on the terminal", func() bool {
					return strings.Contains(r.output(), c.await)
				})
			}
			if c.input != "" {
				if _, err := r.master.WriteString(c.input); err != nil {
					t.Fatal(err)
				}
			}
			code := r.wait(t, 15*time.Second)
			errs, _ := os.ReadFile(stderr.Name())
			if code != c.want {
				t.Errorf("exit code %d; want %d\nterminal:\n%q\nstderr:\n%s", code, c.want, r.output(), errs)
			}
			if c.out != "" {
				testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("%q on the terminal", c.out), func() bool {
					return strings.Contains(r.output(), c.out)
				})
			}
			// Ctrl-C goes to the foreground process group, the main
			// command's: vigil itself must not get it.
			if strings.Contains(string(errs), "interrupt: shutting down") {
				t.Errorf("vigil got the terminal's INT itself:\n%s", errs)
			}
		})
	}
}

// jobControlShell plays an interactive shell with job control: it is the
// session leader on a terminal, runs args[0] in a process group of its own
// in the foreground, and exits with its code. vigil, not PID 1 there, has
// a parent in its session but outside its process group, so it may not
// take the terminal back without care: tcsetpgrp from a background group
// gets SIGTTOU.
func jobControlShell(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Foreground: true, Ctty: 0}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// TestInitJobControl: vigil run from an interactive shell (not PID 1)
// gives the terminal to its main command and, when it exits, takes the
// terminal back without spinning on SIGTTOU, then exits.
func TestInitJobControl(t *testing.T) {
	vigil := vigilInit(t)
	argv, env := initHelperCmd(t, "jobctl", vigil, "--", "/bin/sh", "-c", "exit 5")
	dir := t.TempDir()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	r := startOnTTY(t, stderr, append(initBaseEnv(dir), env), argv...)
	code := r.wait(t, 10*time.Second)
	errs, _ := os.ReadFile(stderr.Name())
	if code != 5 {
		t.Errorf("exit code %d; want 5\nstderr:\n%s", code, errs)
	}
	if !strings.Contains(string(errs), "vigil: not PID 1") {
		t.Errorf("stderr %q lacks the one-line subreaper notice", errs)
	}
}

// TestInitStdin: the main command reads vigil's stdin (T7).
func TestInitStdin(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r := startInitNS(t, initOpts{args: []string{"--", "/bin/sh"}, stdin: pr})
	io.WriteString(pw, "exit 7\n")
	pw.Close()
	if code, _ := r.wait(10 * time.Second); code != 7 {
		t.Errorf("echo 'exit 7' | vigil -- sh: exit %d; want 7\n%s", code, r.stderr())
	}
}
