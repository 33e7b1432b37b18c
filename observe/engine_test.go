package observe

import (
	"context"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
)

// runEngine runs a real engine in this process supervising one service,
// sv, and returns it with sv's directory.
func runEngine(t *testing.T) (*services.Engine, string) {
	t.Helper()
	rp := reaper.New()
	sigc := make(chan os.Signal, 16)
	signal.Notify(sigc, syscall.SIGCHLD)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigc:
				rp.Reap()
			case <-stop:
				return
			}
		}
	}()
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	e, err := services.New(services.Config{Reaper: rp, Publish: true, Messages: io.Discard, Stdin: devnull, Stdout: devnull, Stderr: devnull})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sv")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(dir, "sv"); err != nil {
		t.Fatal(err)
	}
	go e.Run()
	t.Cleanup(func() {
		e.Shutdown(time.Now().Add(time.Second))
		kill := time.AfterFunc(time.Second, e.KillAll)
		<-e.Done()
		kill.Stop()
		signal.Stop(sigc)
		close(stop)
		devnull.Close()
	})
	return e, dir
}

func pidOf(e *services.Engine) int {
	if s := e.Snapshot(); s != nil && len(s.Services) == 1 && s.Services[0].State == "run" {
		return s.Services[0].Pid
	}
	return 0
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// 1000 connections held open, never sending a byte: the endpoint serves
// 64 of them and leaves the rest in the kernel's backlog, so neither its
// goroutines nor its heap grow with them, and the engine still answers
// and restarts a service.
func TestThousandConnections(t *testing.T) {
	e, dir := runEngine(t)
	testenv.WaitFor(t, 30*time.Second, "sv to run", func() bool { return pidOf(e) != 0 })
	s, err := Serve(context.Background(), "127.0.0.1:0", e, Options{ReadHeaderTimeout: time.Hour, ReadTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g0, h0 := runtime.NumGoroutine(), heapInUse()

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	// Wait until the server has taken its 64.
	testenv.WaitFor(t, 30*time.Second, "the server to accept 64 connections", func() bool {
		return runtime.NumGoroutine() >= g0+DefaultMaxConns
	})
	g1, h1 := runtime.NumGoroutine(), heapInUse()
	t.Logf("goroutines %d -> %d, heap in use %d -> %d KiB, 1000 connections open", g0, g1, h0>>10, h1>>10)
	if g1 > g0+DefaultMaxConns+8 {
		t.Errorf("goroutines grew from %d to %d with 1000 idle connections; want at most %d more", g0, g1, DefaultMaxConns+8)
	}
	if h1 > h0+8<<20 {
		t.Errorf("heap in use grew from %d to %d KiB with 1000 idle connections", h0>>10, h1>>10)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Ping(ctx); err != nil {
		t.Fatalf("the engine's Ping with 1000 connections open: %v", err)
	}
	old := pidOf(e)
	ctl, err := os.OpenFile(filepath.Join(dir, "supervise", "control"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctl.Write([]byte("t"))
	ctl.Close()
	testenv.WaitFor(t, 30*time.Second, "sv to be restarted with a new pid", func() bool {
		p := pidOf(e)
		return p != 0 && p != old
	})
}
