package services_test

import (
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

// engine runs an engine in this test process. The test owns every child
// it starts, so the reaper may wait for any pid; it stops at cleanup.
func engine(t *testing.T, cfg services.Config) *services.Engine {
	t.Helper()
	rp := reaper.New()
	sigc := make(chan os.Signal, 16)
	signal.Notify(sigc, syscall.SIGCHLD)
	stop := make(chan struct{})
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		for {
			select {
			case <-sigc:
				rp.Reap()
			case <-stop:
				return
			}
		}
	}()
	cfg.Reaper = rp
	cfg.Publish = true // for what the cleanup reports when a stop hangs
	if cfg.Messages == nil {
		cfg.Messages = io.Discard
	}
	e, err := services.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Shutdown(time.Now().Add(time.Second))
		kill := time.AfterFunc(time.Second, e.KillAll)
		defer kill.Stop()
		select {
		case <-e.Done():
		case <-time.After(testenv.Scale(10 * time.Second)):
			t.Error("the engine did not stop within 10s (scaled) of Shutdown")
			if snap := e.Snapshot(); snap != nil {
				for _, st := range snap.Services {
					t.Logf("left: %+v log %+v", st, st.Log)
				}
			}
		}
		signal.Stop(sigc)
		close(stop)
		<-reaped
	})
	return e
}

func writeService(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestCrashLoop: a service that forks and exits at once is restarted at
// the pace, and a thousand restarts leak neither descriptors nor memory.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("1000 restarts")
	}
	dir := t.TempDir()
	svc := filepath.Join(dir, "loop")
	writeService(t, svc, map[string]string{
		"run":     "#!/bin/sh\necho x >>../starts\ntrue &\nexit 0\n",
		"log/run": "#!/bin/sh\nexec cat >/dev/null\n",
	})
	devnull, _ := os.Open(os.DevNull)
	t.Cleanup(func() { devnull.Close() }) // after the engine's cleanup: it runs last
	e := engine(t, services.Config{Pace: time.Millisecond, Stdout: devnull, Stdin: devnull})
	if err := e.Add(svc, "loop"); err != nil {
		t.Fatal(err)
	}
	go e.Run()
	starts := func() int { b, _ := os.ReadFile(filepath.Join(dir, "starts")); return strings.Count(string(b), "x") }

	// A restart in flight holds a few descriptors for a moment (the
	// child's pidfd, the pipe os.StartProcess execs through); a leak
	// raises the floor, so the floor over a few samples is compared.
	floorFDs := func() int {
		least := openFDs(t)
		for range 50 {
			least = min(least, openFDs(t))
			time.Sleep(2 * time.Millisecond)
		}
		return least
	}
	testenv.WaitFor(t, 30*time.Second, "100 starts", func() bool { return starts() >= 100 })
	fds0, heap0 := floorFDs(), heap()
	t0, n0 := time.Now(), starts()
	testenv.WaitFor(t, 120*time.Second, "1100 starts", func() bool { return starts() >= 1100 })
	fds1, heap1 := floorFDs(), heap()
	n1 := starts()
	t.Logf("%d restarts in %v; fds %d -> %d; heap %d -> %d", n1-n0, time.Since(t0), fds0, fds1, heap0, heap1)
	if fds1 > fds0+2 {
		t.Errorf("open descriptors grew from %d to %d over %d restarts", fds0, fds1, n1-n0)
	}
	if heap1 > heap0+512<<10 {
		t.Errorf("heap grew from %d to %d bytes over %d restarts", heap0, heap1, n1-n0)
	}
}

// TestPauseAnswersAndShutdown: during a long restart pause commands are
// answered at once, and a shutdown does not wait for the pause.
func TestPauseAnswersAndShutdown(t *testing.T) {
	dir := t.TempDir()
	svc := filepath.Join(dir, "s")
	writeService(t, svc, map[string]string{"run": "#!/bin/sh\necho x >>../starts\nexit 0\n"})
	e := engine(t, services.Config{Pace: time.Hour})
	if err := e.Add(svc, "s"); err != nil {
		t.Fatal(err)
	}
	go e.Run()
	sup := filepath.Join(svc, "supervise")
	testenv.WaitFor(t, 5*time.Second, "the first exit", func() bool {
		st, err := supervise.ReadStatus(sup)
		b, _ := os.ReadFile(filepath.Join(dir, "starts"))
		return err == nil && string(b) == "x\n" && st.Pid == 0 && st.State == supervise.Down
	})
	for _, c := range []struct {
		cmd   string
		check func(supervise.Status) bool
	}{
		{"d", func(st supervise.Status) bool { return st.Want == supervise.WantDown }},
		{"p", func(st supervise.Status) bool { return st.Paused }},
		{"c", func(st supervise.Status) bool { return !st.Paused }},
		{"u", func(st supervise.Status) bool { return st.Want == supervise.WantUp }},
	} {
		if err := supervise.Send(sup, []byte(c.cmd)); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, 5*time.Second, "the answer to "+c.cmd+" in the pause", func() bool {
			st, err := supervise.ReadStatus(sup)
			return err == nil && c.check(st)
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "starts")); string(b) != "x\n" {
		t.Errorf("starts = %q; want one start, the pace is an hour", b)
	}
	t0 := time.Now()
	e.Shutdown(time.Time{})
	select {
	case <-e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown waited for the restart pause")
	}
	if err := supervise.Alive(sup); err != supervise.ErrNotRunning {
		t.Errorf("after shutdown, ok: %v; want %v", err, supervise.ErrNotRunning)
	}
	t.Logf("shutdown took %v", time.Since(t0))
}
