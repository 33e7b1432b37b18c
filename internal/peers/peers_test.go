package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPath: a program is found in any of the places Debian's packages
// use, a missing one is an error that names the directory and the remedy,
// and a directory of the same name is not a program.
func TestPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	for _, f := range []string{"usr/bin/sv", "bin/busybox", "usr/sbin/x"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "usr/bin/tini"), 0o755)
	for _, tc := range []struct {
		name, want string
	}{
		{"sv", filepath.Join(dir, "usr/bin/sv")},
		{"busybox", filepath.Join(dir, "bin/busybox")},
		{"x", filepath.Join(dir, "usr/sbin/x")},
		{"tini", ""},
		{"runsv", ""},
	} {
		got, err := Path(tc.name)
		if got != tc.want {
			t.Errorf("Path(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
		if tc.want == "" && (err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "scripts/peers.sh")) {
			t.Errorf("Path(%q): error %v; want one naming %s and scripts/peers.sh", tc.name, err, dir)
		}
	}
}

// TestDir: without VIGIL_PEERS the peers are in the repository's
// .cache/peers, where scripts/peers.sh puts them.
func TestDir(t *testing.T) {
	t.Setenv(Env, "")
	got := Dir()
	if _, err := os.Stat(filepath.Join(got, "..", "..", "scripts", "peers.sh")); err != nil || filepath.Base(got) != "peers" {
		t.Errorf("Dir() = %q; want .cache/peers at the top of the repository", got)
	}
}
