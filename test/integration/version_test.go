package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-init/vigil/internal/testenv"
)

// TestVersionFromMake: `make build` in a git checkout gives a vigil whose
// -V and --version print what `git describe --always --dirty` says of the
// checkout, not a placeholder.
func TestVersionFromMake(t *testing.T) {
	root := testenv.Root()
	for _, tool := range []string{"git", "make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s in PATH: cannot build as make build does", tool)
		}
	}
	describe, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		t.Skipf("%s is not a git checkout (git describe: %v)", root, err)
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command("make", "-s", "-C", root, "BIN="+bin, "build").CombinedOutput(); err != nil {
		t.Fatalf("make BIN=%s build: %v\n%s", bin, err, out)
	}
	want := "vigil " + strings.TrimSpace(string(describe)) + "\n"
	for _, flag := range []string{"-V", "--version"} {
		out, err := exec.Command(bin, flag).Output()
		if err != nil || string(out) != want {
			t.Errorf("vigil %s = %q, %v; want %q", flag, out, err, want)
		}
	}
}
