package reaper

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// run reaps on every SIGCHLD until stop is closed.
func run(t *testing.T, r *Reaper) (stop func()) {
	t.Helper()
	sigc := make(chan os.Signal, 64)
	signal.Notify(sigc, unix.SIGCHLD)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-sigc:
				r.Reap()
			case <-quit:
				return
			}
		}
	}()
	return func() { signal.Stop(sigc); close(quit); <-done }
}

// TestEveryStatusArrives starts thousands of fast-exiting children from
// several goroutines at once and checks that each exit reaches its owner
// with the right status: none stolen, none lost, none early.
func TestEveryStatusArrives(t *testing.T) {
	const workers, perWorker = 8, 250
	r := New()
	defer run(t, r)()

	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				n := (w*perWorker + i) % 256
				script := fmt.Sprintf("exit %d", n)
				want := n
				if n%7 == 0 { // a signal death maps to 128+n
					script = "kill -TERM $$"
					want = 128 + int(unix.SIGTERM)
				}
				got := make(chan Exit, 1)
				p, err := r.StartProcess("/bin/sh", []string{"sh", "-c", script}, &os.ProcAttr{}, func(e Exit) { got <- e })
				if err != nil {
					errs <- err
					return
				}
				select {
				case e := <-got:
					if e.Pid != p.Pid || e.Code() != want {
						errs <- fmt.Errorf("%q: Exit{pid %d, code %d}; want pid %d, code %d", script, e.Pid, e.Code(), p.Pid, want)
					}
				case <-time.After(30 * time.Second):
					errs <- fmt.Errorf("%q (pid %d): exit never delivered", script, p.Pid)
				}
				p.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := r.Running(); got != 0 {
		t.Errorf("Running() = %d after every exit; want 0", got)
	}
}

// TestFailedExecIsNotAnOrphan: os.StartProcess waits for a child whose exec
// failed; the reaper must not steal that child and count it as an orphan.
func TestFailedExecIsNotAnOrphan(t *testing.T) {
	r := New()
	defer run(t, r)()
	for range 50 {
		_, err := r.StartProcess("/nonexistent/binary", []string{"x"}, &os.ProcAttr{}, func(Exit) {})
		if err == nil {
			t.Fatal("StartProcess(/nonexistent/binary) = nil error; want an error")
		}
	}
	r.Reap()
	if got := r.Orphans(); got != 0 {
		t.Errorf("Orphans() = %d after failed execs; want 0", got)
	}
}

func TestUnknownChildIsCountedAsOrphan(t *testing.T) {
	r := New()
	var mu sync.Mutex
	var seen []Exit
	r.OnOrphan = func(e Exit) { mu.Lock(); seen = append(seen, e); mu.Unlock() }
	// Start a child behind the reaper's back, as a forked daemon's
	// grandchild would appear to PID 1.
	p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "exit 3"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	deadline := time.Now().Add(10 * time.Second)
	for r.Orphans() == 0 && time.Now().Before(deadline) {
		r.Reap()
		time.Sleep(time.Millisecond)
	}
	if got := r.Orphans(); got != 1 {
		t.Fatalf("Orphans() = %d; want 1", got)
	}
	if len(seen) != 1 || seen[0].Pid != p.Pid || seen[0].Code() != 3 {
		t.Errorf("OnOrphan saw %+v; want one exit of pid %d with code 3", seen, p.Pid)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		ws   unix.WaitStatus
		want int
	}{
		{0, 0},
		{3 << 8, 3},
		{255 << 8, 255},
		{unix.WaitStatus(unix.SIGKILL), 137},
		{unix.WaitStatus(unix.SIGTERM), 143},
		{unix.WaitStatus(unix.SIGQUIT) | 0x80, 131}, // core dumped
	} {
		if got := (Exit{Status: tc.ws}).Code(); got != tc.want {
			t.Errorf("Exit{Status: %#x}.Code() = %d; want %d", uint32(tc.ws), got, tc.want)
		}
	}
}
