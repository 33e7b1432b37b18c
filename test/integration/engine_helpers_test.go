package integration

// Helpers for the engine's black-box tests: vigil's runsvdir and runsv
// next to Debian's, each a child of the test process with its output in
// files (no copying goroutine waits for the services that inherit them).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// engImpl is a supervisor to test.
type engImpl struct {
	name string
	argv []string // the command, before its arguments
	env  []string
}

// engRunsvdirs are vigil's runsvdir and Debian's (which finds Debian's
// runsv through PATH).
func engRunsvdirs(t *testing.T) []engImpl {
	runsv := testenv.Peer(t, "runsv")
	return []engImpl{
		{"vigil", []string{testenv.Vigil(t), "runsvdir"}, nil},
		{"runit", []string{testenv.Peer(t, "runsvdir")}, []string{"PATH=" + filepath.Dir(runsv) + ":" + os.Getenv("PATH")}},
	}
}

func engRunsvs(t *testing.T) []engImpl {
	return []engImpl{
		{"vigil", []string{testenv.Vigil(t), "runsv"}, nil},
		{"runit", []string{testenv.Peer(t, "runsv")}, nil},
	}
}

// engWrite creates files under dir; run, finish, check and control/*
// are executable.
func engWrite(t *testing.T, dir string, files map[string]string) {
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
	}
}

type engProc struct {
	cmd  *exec.Cmd
	errf string
	done chan struct{}
}

// engStart starts argv in dir; at cleanup it and every process working
// under dir are killed.
func engStart(t *testing.T, dir string, argv []string, env ...string) *engProc {
	t.Helper()
	p := &engProc{errf: filepath.Join(t.TempDir(), "stderr"), done: make(chan struct{})}
	stderr, err := os.Create(p.errf)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devnull.Close()
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = devnull, devnull, stderr
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		engKillUnder(dir)
	})
	return p
}

func (p *engProc) stderr() string { b, _ := os.ReadFile(p.errf); return string(b) }

// engKillUnder kills every process whose working directory is under root.
func engKillUnder(root string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd"); err == nil && (cwd == root || strings.HasPrefix(cwd, root+"/")) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func engStatus(svc string) (supervise.Status, bool) {
	st, err := supervise.ReadStatus(filepath.Join(svc, "supervise"))
	return st, err == nil
}

func engSend(t *testing.T, svc, cmd string) {
	t.Helper()
	if err := supervise.Send(filepath.Join(svc, "supervise"), []byte(cmd)); err != nil {
		t.Fatalf("sending %q to %s: %v", cmd, svc, err)
	}
}

// engWait waits until svc's status satisfies cond.
func engWait(t *testing.T, svc, what string, cond func(supervise.Status) bool) supervise.Status {
	t.Helper()
	var st supervise.Status
	testenv.WaitFor(t, 10*time.Second, svc+": "+what, func() bool {
		var ok bool
		st, ok = engStatus(svc)
		return ok && cond(st)
	})
	return st
}

func engRunning(st supervise.Status) bool { return st.Pid != 0 && st.State == supervise.Run }
