package pid1

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCanMake: what is in the way of the runtime directory is named, and
// nothing is made while looking. (Read-only file systems are tested as
// PID 1 in test/integration, where a mount namespace can make them.)
func TestCanMake(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, dir, top, want string
	}{
		{"an existing directory", dir, dir, ""},
		{"missing, under a writable one", filepath.Join(dir, "run", "vigil", "supervise", "x"), filepath.Join(dir, "run", "vigil"), ""},
		{"a file in the way, above top", filepath.Join(file, "vigil", "supervise", "x"), filepath.Join(file, "vigil"),
			filepath.Join(file, "vigil") + " cannot be created (" + file + " is not a directory)"},
		{"a file in the way, below top", filepath.Join(file, "supervise", "x"), dir,
			filepath.Join(file, "supervise", "x") + " cannot be created (" + file + " is not a directory)"},
	} {
		err := canMake(c.dir, c.top)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: canMake(%s, %s) = %q; want %q", c.name, c.dir, c.top, got, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Errorf("canMake made %s; want nothing made", filepath.Join(dir, "run"))
	}
}

// TestUnsupervisable: services are the directories runsvdir would take;
// writable ones, with or without log/ and an existing supervise/, are
// never listed, whatever the runtime directory.
func TestUnsupervisable(t *testing.T) {
	svdir := t.TempDir()
	for _, d := range []string{"web/log", "worker/supervise", ".hidden", "ledger"} {
		if err := os.MkdirAll(filepath.Join(svdir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(svdir, "not-a-service"), nil, 0o644)
	os.Symlink("ledger", filepath.Join(svdir, "ledger-link"))
	os.Symlink("nowhere", filepath.Join(svdir, "dangling"))
	// A runtime directory that can never be made.
	t.Setenv("VIGIL_RUNDIR", "/proc/self/no/run")
	total, stuck, why := unsupervisable(svdir)
	if total != 4 || len(stuck) != 0 || why != nil {
		t.Errorf("unsupervisable(%s) = %d, %q, %v; want 4 services (web, worker, ledger, ledger-link), none stuck", svdir, total, stuck, why)
	}
	if total, stuck, _ := unsupervisable(filepath.Join(svdir, "missing")); total != 0 || stuck != nil {
		t.Errorf("unsupervisable(missing) = %d, %q; want nothing", total, stuck)
	}
}
