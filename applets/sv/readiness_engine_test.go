package sv

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestReadinessWithEngine: against vigil's engine, a service with a
// notification-fd is "not ready" until it writes its newline; sv check,
// up and restart wait for that newline, and Debian's sv sees runit's line.
// The service waits at a FIFO the test opens when sv has looked a few
// times, so the newline comes strictly after sv started waiting.
func TestReadinessWithEngine(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	svdir := t.TempDir()
	dir := makeService(t, svdir, "db", `read line < gate; echo >&3; exec sleep 1000`)
	gate := filepath.Join(dir, "gate")
	if err := unix.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notification-fd"), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	open := func() {
		f, err := os.OpenFile(gate, os.O_WRONLY, 0)
		if err != nil {
			t.Errorf("opening %s: %v", gate, err)
			return
		}
		f.WriteString("go\n")
		f.Close()
	}
	sup := startSupervisor(t, supervisorKinds()[1], dir)
	st := sup.waitRunning(t, 0)
	pid := strconv.Itoa(st.Pid)

	got := vigil.run(t, svEnv(svdir), "status", "db")
	if want := "run: db: (pid " + pid + ") 0s, not ready\n"; !sameLine(got.stdout, want) {
		t.Errorf("status: got %s; want %q", got, want)
	}
	if deb := debian.run(t, svEnv(svdir), "status", "db"); !sameLine(deb.stdout, "run: db: (pid "+pid+") 0s\n") {
		t.Errorf("Debian's status: %s", deb)
	}
	got = vigil.run(t, svEnv(svdir), "-w", "1", "check", "db")
	if want := "timeout: run: db: (pid " + pid + ") 1s, not ready\n"; !sameLine(got.stdout, want) || got.rc != 1 {
		t.Errorf("check before ready: got %s; want %q, rc 1", got, want)
	}

	// sv waits; the service gets ready once sv has looked three times.
	waitReleased := func(cmd ...string) result {
		t.Helper()
		looks := opens(t, supervise.Locate(dir))
		released := make(chan struct{})
		go func() {
			defer close(released)
			waitLooks(t, looks, 3)
			open()
		}()
		res := vigil.run(t, svEnv(svdir), append([]string{"-w", "30"}, append(cmd, "db")...)...)
		<-released
		return res
	}
	readyRE := regexp.MustCompile(`^ok: run: db: \(pid ([0-9]+)\) [0-9]+s, ready [0-9]+s\n$`)
	got = waitReleased("check")
	if m := readyRE.FindStringSubmatch(got.stdout); m == nil || m[1] != pid || got.rc != 0 {
		t.Errorf("check: got %s; want ok, pid %s and ready", got, pid)
	}

	// A restart clears readiness until the new process writes its line.
	sup.waitRunning(t, time.Second) // past the engine's restart pacing
	got = waitReleased("restart")
	if m := readyRE.FindStringSubmatch(got.stdout); m == nil || m[1] == pid || got.rc != 0 {
		t.Errorf("restart: got %s; want ok, a new pid and ready", got)
	}
	if x, err := supervise.ReadExtended(supervise.Locate(dir)); err != nil || x.Ready.IsZero() || x.Notify != "fd" {
		t.Errorf("supervise/vigil after restart: %+v, %v", x, err)
	}
}

// TestFailedWithEngine: against vigil's engine, a service the restart
// limit gave up on is "failed": sv check fails at once, and sv up clears
// it and waits for the new process as usual.
func TestFailedWithEngine(t *testing.T) {
	vigil := vigilSv(t)
	svdir := t.TempDir()
	dir := makeService(t, svdir, "app", `test -e healthy || exit 1; exec sleep 1000`)
	if err := os.WriteFile(filepath.Join(dir, "restart-limit"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startSupervisor(t, supervisorKinds()[1], dir)
	failedRE := regexp.MustCompile(`^down: app: [0-9]+s, normally up, want up, failed\n$`)
	var got result
	testenv.WaitFor(t, 20*time.Second, "app failed", func() bool {
		got = vigil.run(t, svEnv(svdir), "status", "app")
		return failedRE.MatchString(got.stdout)
	})
	got = vigil.run(t, svEnv(svdir), "-w", "10", "check", "app")
	if !failedRE.MatchString(strings.TrimPrefix(got.stdout, "fail: ")) || !strings.HasPrefix(got.stdout, "fail: ") || got.rc != 1 || got.took > 5*time.Second {
		t.Errorf("check: got %s after %v; want fail: and the failed line at once, rc 1", got, got.took)
	}
	os.WriteFile(filepath.Join(dir, "healthy"), nil, 0o644)
	got = vigil.run(t, svEnv(svdir), "-w", "10", "up", "app")
	if !regexp.MustCompile(`^ok: run: app: \(pid [0-9]+\) [0-9]+s\n$`).MatchString(got.stdout) || got.rc != 0 {
		t.Errorf("up: got %s; want ok and running", got)
	}
}
