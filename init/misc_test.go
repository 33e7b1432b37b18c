package pid1

import (
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-init/vigil/reaper"
)

func TestParentOf(t *testing.T) {
	if got, want := parentOf(os.Getpid()), os.Getppid(); got != want {
		t.Errorf("parentOf(self) = %d; want %d", got, want)
	}
	if got := parentOf(1 << 30); got != 0 {
		t.Errorf("parentOf(no such pid) = %d; want 0", got)
	}
}

func TestReadExitCode(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VIGIL_RUNDIR", dir)
	for _, c := range []struct {
		content string
		want    int
		ok      bool
	}{
		{"42\n", 42, true}, {"0", 0, true}, {" 255 ", 255, true},
		{"256", 0, false}, {"-1", 0, false}, {"x", 0, false}, {"", 0, false},
	} {
		os.WriteFile(filepath.Join(dir, "exitcode"), []byte(c.content), 0o644)
		if got, ok := readExitCode(); got != c.want || ok != c.ok {
			t.Errorf("readExitCode() with %q = %d, %v; want %d, %v", c.content, got, ok, c.want, c.ok)
		}
	}
	os.Remove(filepath.Join(dir, "exitcode"))
	if _, ok := readExitCode(); ok {
		t.Errorf("readExitCode() without a file = _, true; want false")
	}
}

// TestScripts: executable regular files in lexical order; dot-files,
// directories and files without the execute bit are skipped.
func TestScripts(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"20-b": 0o755, "10-a": 0o755, ".hidden": 0o755, "15-noexec": 0o644, "30-c": 0o700} {
		os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode)
	}
	os.Mkdir(filepath.Join(dir, "25-dir"), 0o755)
	p := &initProc{stderr: os.Stderr, opts: Options{Verbosity: 0}, rp: reaper.New()}
	got := p.scripts(dir)
	want := []string{filepath.Join(dir, "10-a"), filepath.Join(dir, "20-b"), filepath.Join(dir, "30-c")}
	if !slices.Equal(got, want) {
		t.Errorf("scripts(%s) = %q; want %q", dir, got, want)
	}
	if got := p.scripts(filepath.Join(dir, "missing")); got != nil {
		t.Errorf("scripts(missing dir) = %q; want none", got)
	}
}

// TestMainArgs: bad options exit 100, and init mode refuses stdio that
// are not files.
func TestMainArgs(t *testing.T) {
	t.Cleanup(func() { signal.Reset(caught...) }) // Main's first act
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if got := Main([]string{"vigil", "-x"}, r, w, w); got != 100 {
		t.Errorf("Main(-x) = %d; want 100", got)
	}
	if got := Main([]string{"vigil", "--", "true"}, r, io.Discard, w); got != 111 {
		t.Errorf("Main with a non-file stdout = %d; want 111", got)
	}
}
