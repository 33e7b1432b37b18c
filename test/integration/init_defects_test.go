package integration

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// TestInitGraceTooLong: a grace period that a Duration cannot hold is
// refused, naming the option. It used to wrap negative: on TERM vigil
// KILLed everything at once and the main command never saw the TERM.
func TestInitGraceTooLong(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"-g inf", []string{"-g", "inf", "--", "true"}, nil, `-g: too long: "inf"`},
		{"-g 1e10", []string{"-g", "1e10", "--", "true"}, nil, `-g: too long: "1e10"`},
		{"VIGIL_GRACE=9.3e9", []string{"--", "true"}, []string{"VIGIL_GRACE=9.3e9"}, `VIGIL_GRACE: too long: "9.3e9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startInitNS(t, initOpts{args: tc.args, env: tc.env})
			if code, _ := r.wait(30 * time.Second); code != 100 {
				t.Errorf("exit code %d; want 100\nstderr:\n%s", code, r.stderr())
			}
			if !strings.Contains(r.stderr(), tc.want) {
				t.Errorf("stderr:\n%s\nwant it to say %q", r.stderr(), tc.want)
			}
		})
	}
}

// TestInitServiceKillZero: a service's `kill -TERM 0` (trap 'kill 0'
// EXIT) reaches its own process group only. With the services in vigil's
// group it stopped the whole container, exit code 0.
func TestInitServiceKillZero(t *testing.T) {
	dir := t.TempDir()
	svdir := filepath.Join(dir, "service")
	initServices(t, svdir, map[string]string{
		"steady": "touch $T/up.steady; exec sleep 1000",
		// Each start leaves a mark, then signals its whole group.
		"killer": "touch $T/killer.$$; trap 'kill -TERM 0' EXIT; exit 0",
	})
	r := startInitNS(t, initOpts{scratch: dir, env: []string{"SVDIR=" + svdir}, args: []string{"--", "sleep", "1000"}})
	r.waitFile("up.steady", 30*time.Second)
	waitGlob(t, r, "killer.*", 3, 60*time.Second)
	if r.exited() {
		t.Fatalf("vigil exited after a service's kill 0: %v\nstderr:\n%s", r.status, r.stderr())
	}
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(30 * time.Second); code != 143 {
		t.Errorf("exit code %d; want 143, the main command's TERM\nstderr:\n%s", code, r.stderr())
	}
}

// TestInitCrashLeavesNoChildren: what a crashed run left in the
// background is stopped with it, instead of living on as an orphan.
func TestInitCrashLeavesNoChildren(t *testing.T) {
	dir := t.TempDir()
	svdir := filepath.Join(dir, "service")
	initServices(t, svdir, map[string]string{
		"crash": `[ -e $T/crashed ] && exec sleep 1000
(trap 'touch $T/child.termed; exit 0' TERM; sleep 1000 & wait) &
touch $T/crashed; exit 1`,
	})
	r := startInitNS(t, initOpts{scratch: dir, env: []string{"SVDIR=" + svdir}})
	r.waitFile("crashed", 30*time.Second)
	r.waitFile("child.termed", 30*time.Second)
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d; want 0\nstderr:\n%s", code, r.stderr())
	}
}

// waitGlob waits for n files matching pattern in the scratch directory.
func waitGlob(t *testing.T, r *initNS, pattern string, n int, timeout time.Duration) {
	t.Helper()
	timeout = testenv.Scale(timeout)
	deadline := time.Now().Add(timeout)
	for {
		m, _ := filepath.Glob(filepath.Join(r.dir, pattern))
		if len(m) >= n {
			return
		}
		if r.exited() {
			t.Fatalf("vigil exited (%v) with %d of %d %s\nstderr:\n%s", r.status, len(m), n, pattern, r.stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %d %s (have %d)", timeout, n, pattern, len(m))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
