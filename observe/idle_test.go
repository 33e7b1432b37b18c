package observe

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleHelper is the server of TestIdleNoWakeups, in a process of its
// own so that nothing else of the test binary runs in it.
func TestIdleHelper(t *testing.T) {
	if os.Getenv("OBSERVE_IDLE_HELPER") != "1" {
		t.Skip("only run by TestIdleNoWakeups")
	}
	// Short timeouts: a connection's deadlines are runtime timers that,
	// once the connection is gone, still wake the runtime when they
	// come due (up to IdleTimeout after the last request); the test
	// waits them out before it counts.
	s, err := Serve(context.Background(), "127.0.0.1:0", source(up("web")), Options{
		ReadHeaderTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(s.Addr())
	<-s.Done()
}

// switches sums the context switches of every thread of pid: each wake-up
// of any of them counts one.
func switches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of %d in /proc: %v", pid, err)
	}
	n := 0
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
				x, _ := strconv.Atoi(strings.TrimSpace(v))
				n += x
			}
		}
	}
	return n
}

// The endpoint, once it has answered and its connections are gone, is a
// goroutine blocked in accept: no timer, no wake-up.
func TestIdleNoWakeups(t *testing.T) {
	if testing.Short() {
		t.Skip("watches a process for seconds")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleHelper$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), "OBSERVE_IDLE_HELPER=1", "GODEBUG=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the helper's address: %v", err)
	}
	url := "http://" + strings.TrimSpace(addr)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/services"} {
		if code, _, _ := get(t, url+path); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
	// The client's kept-alive connection goes, and the server's side
	// of it with it.
	closeIdle()
	pid := cmd.Process.Pid
	// Wait for the answers' aftermath to settle: past the timeouts, two
	// seconds with no wake-up at all.
	time.Sleep(time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		n0 := switches(t, pid)
		time.Sleep(2 * time.Second)
		if switches(t, pid) == n0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint never went two seconds without waking up in 60 s")
		}
	}
	n0 := switches(t, pid)
	time.Sleep(5 * time.Second)
	if n := switches(t, pid) - n0; n != 0 {
		t.Errorf("idle endpoint: %d wake-ups in 5 s; want 0", n)
	}
}
