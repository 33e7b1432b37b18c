// Package testenv gives tests what they need from outside the package under
// test: the built vigil binary, Debian's runit and other peers, root, and
// polling with a deadline. Where a need cannot be met the test is skipped
// with the reason, except under CI, where a missing peer is a failure.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/peers"
)

// Root is the repository's top directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Vigil returns the path of a static vigil binary: $VIGIL_BIN when set (the
// Makefile sets it), else one built once for this test process.
func Vigil(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VIGIL_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vigil")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, "./cmd/vigil")
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatalf("building vigil: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// PeerDir is where scripts/peers.sh unpacks Debian's packages.
func PeerDir() string { return peers.Dir() }

// Peer returns the path of a program from Debian's packages (runsv, sv,
// svlogd, chpst, runsvdir, busybox, tini, dumb-init), unpacked by
// scripts/peers.sh. Without it the test is skipped, or fails under CI.
// A test that compares vigil with the peer uses HavePeer instead, so
// that vigil's half runs without it.
func Peer(t testing.TB, name string) string {
	t.Helper()
	p, err := peers.Path(name)
	if err != nil {
		missing(t, err)
		t.Skip(err.Error())
	}
	return p
}

// HavePeer returns the path of a peer program, or "" when it is not
// unpacked: the test then logs why the peer's half does not run, and
// runs vigil's half alone. Under CI a missing peer is a failure.
func HavePeer(t testing.TB, name string) string {
	t.Helper()
	p, err := peers.Path(name)
	if err != nil {
		missing(t, err)
		t.Logf("without the peer: %v", err)
		return ""
	}
	return p
}

func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(err)
	}
}

// RequireRoot skips a test that needs root, saying why.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
}

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test naming what was awaited if it does not hold within timeout, scaled
// by Scale for slow machines.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout = Scale(timeout)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
