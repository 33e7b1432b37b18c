package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// TestHogHelper allocates memory until the OOM killer ends it, once a
// byte arrives on stdin (so its parent can move it into a cgroup first).
func TestHogHelper(t *testing.T) {
	if os.Getenv("CGROUP_TEST_HOG") != "1" {
		t.Skip("only run by the OOM tests")
	}
	os.Stdin.Read(make([]byte, 1))
	var hog [][]byte
	for range 4096 { // 4 GiB at most: a machine without limits survives it
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hog = append(hog, b)
	}
	fmt.Println("allocated", len(hog), "MiB without being killed")
}

// hog starts TestHogHelper, waiting for its go.
func hog(t *testing.T) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHogHelper$")
	cmd.Env = append(os.Environ(), "CGROUP_TEST_HOG=1")
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, func() { w.Write([]byte{1}); w.Close() }
}

// killedByKILL waits for cmd and says whether KILL ended it.
func killedByKILL(t *testing.T, cmd *exec.Cmd) bool {
	t.Helper()
	cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// On this machine's real hierarchy: a child memory cgroup of 64 MiB
// under vigil's own, a process in it that allocates until killed. The
// watcher (v1: the eventfd; v2: inotify) reports the kill, the count
// reads 1, and the attributor blames the OOM killer for the KILL.
func TestRealOOMKill(t *testing.T) {
	testenv.RequireRoot(t, "creates a memory cgroup")
	self, err := Self()
	if err != nil {
		t.Skipf("no memory cgroup here: %v", err)
	}
	dir := filepath.Join(self.Dir, "vigil-oom-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("unable to create a memory cgroup under %s: %v", self.Dir, err)
	}
	t.Cleanup(func() {
		// rmdir succeeds once the killed process has left it.
		testenv.WaitFor(t, 30*time.Second, "removing "+dir, func() bool {
			err := os.Remove(dir)
			return err == nil || errors.Is(err, os.ErrNotExist)
		})
	})
	c := &Cgroup{Dir: dir, V2: self.V2}
	limits := map[string]string{"memory.limit_in_bytes": "64M", "memory.memsw.limit_in_bytes": "64M", "memory.swappiness": "0"}
	if c.V2 {
		limits = map[string]string{"memory.max": "64M", "memory.swap.max": "0"}
	}
	for f, v := range limits {
		if err := writeExisting(filepath.Join(dir, f), v); err != nil && !strings.Contains(f, "swap") {
			t.Skipf("unable to limit %s: %v", dir, err)
		}
	}
	att, err := NewKillAttributor(c)
	if err != nil {
		t.Fatal(err)
	}
	kills := make(chan uint64, 4)
	stop, err := c.WatchOOM(func(n uint64) { kills <- n })
	if err != nil {
		t.Fatalf("watching %s: %v", dir, err)
	}
	defer stop()

	cmd, start := hog(t)
	if err := writeExisting(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(cmd.Process.Pid)); err != nil {
		t.Fatalf("moving the hog into %s: %v", dir, err)
	}
	start()
	if !killedByKILL(t, cmd) {
		t.Fatalf("the hog in 64 MiB: %v; want KILL", cmd.ProcessState)
	}
	select {
	case n := <-kills:
		if n != 1 {
			t.Errorf("watcher: got count %d; want 1", n)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("watcher: no report 30 s after the OOM kill")
	}
	if n, err := c.OOMKills(); n != 1 || err != nil {
		t.Errorf("OOMKills after one kill: got %d, %v; want 1", n, err)
	}
	if !att.OOMKilled() {
		t.Errorf("KillAttributor: the hog's KILL not put down to the OOM killer")
	}
	if att.OOMKilled() {
		t.Errorf("KillAttributor: one kill attributed twice")
	}
}

// TestDockerOOMHelper is TestDockerOOM's inside: vigil's own cgroup is
// the container's (Self), a child of it is OOM-killed, and the count
// grows by one. It prints what it saw for the outside to check.
func TestDockerOOMHelper(t *testing.T) {
	if os.Getenv("CGROUP_TEST_DOCKER") != "1" {
		t.Skip("only run inside the container of TestDockerOOM")
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	before, err := self.OOMKills()
	if err != nil {
		t.Fatal(err)
	}
	stop, werr := self.WatchOOM(func(uint64) {})
	if werr == nil {
		stop()
	}
	att, err := NewKillAttributor(self)
	if err != nil {
		t.Fatal(err)
	}
	cmd, start := hog(t)
	start()
	killed := killedByKILL(t, cmd)
	after, err := self.OOMKills()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("dir=%s v2=%v before=%d after=%d killed=%v attributed=%v watch=%v\n",
		self.Dir, self.V2, before, after, killed, att.OOMKilled(), werr)
}

// In Docker with --memory (cgroup v1 here, mounted read-only): the count
// is found through /proc/self/cgroup and grows when a process of the
// container is OOM-killed.
func TestDockerOOM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker command")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine: %v: %s", err, out)
	}
	ctx := t.TempDir()
	bin := filepath.Join(ctx, "cgroup.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v: %s", err, out)
	}
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\nCOPY cgroup.test /cgroup.test\n"), 0o644)
	tag := "vigil-test-cgroup-oom"
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, ctx).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v: %s", err, out)
	}
	out, err := exec.Command("docker", "run", "--rm", "--memory", "64m", "--memory-swap", "64m", "-e", "CGROUP_TEST_DOCKER=1",
		tag, "/cgroup.test", "-test.run=^TestDockerOOMHelper$", "-test.v").CombinedOutput()
	t.Logf("in the container:\n%s", out)
	if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	line := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "dir=") {
			line = l
		}
	}
	var dir, v2, killed, attributed string
	var before, after int
	fmt.Sscanf(strings.ReplaceAll(line, "=", " "), "dir %s v2 %s before %d after %d killed %s attributed %s", &dir, &v2, &before, &after, &killed, &attributed)
	if killed != "true" || after != before+1 || attributed != "true" {
		t.Errorf("in Docker --memory 64m: got %q; want the hog killed by KILL, the count up by one, and the kill attributed", line)
	}
}
