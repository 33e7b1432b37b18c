package procsetup

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// envdirValue is the envdir rule written plainly, the oracle for
// readEntry: an empty file unsets; else the first line, without trailing
// spaces and tabs, with NULs turned into newlines.
func envdirValue(name string, data []byte) (string, bool) {
	if len(data) == 0 {
		return "", false
	}
	line, _, _ := bytes.Cut(data, []byte{'\n'})
	line = bytes.TrimRight(line, " \t")
	return name + "=" + strings.ReplaceAll(string(line), "\x00", "\n"), true
}

func readEntryOf(t testing.TB, data []byte) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "VAR"), data, 0644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	entry, set, err := readEntry(fd, "VAR")
	if err != nil {
		t.Fatal(err)
	}
	return entry, set
}

// FuzzEnvdirFile: whatever an envdir file holds, the variable is what the
// envdir rule says.
func FuzzEnvdirFile(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "value\n", "value", "a\x00b\n", "x  \t\n", "x\r\n", " \t \n", "first\nsecond\n",
		"/usr/local/bin:/usr/bin:/bin\n", "\x00\x00", strings.Repeat("y", 70000) + "\nrest",
		strings.Repeat("z", 65536), strings.Repeat("w", 65535) + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotSet := readEntryOf(t, data)
		want, wantSet := envdirValue("VAR", data)
		if got != want || gotSet != wantSet {
			t.Errorf("file %q: got %q set %v; want %q set %v", data, got, gotSet, want, wantSet)
		}
	})
}

// TestEnvdirFileHoldsOneCopy: a value of several megabytes is read into
// the string that holds it, not copied on the way (it was about five
// copies: a growing buffer, a copy of it, and the "NAME=" string).
func TestEnvdirFileHoldsOneCopy(t *testing.T) {
	const size = 8 << 20
	data := bytes.Repeat([]byte{'v'}, size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, _ := readEntryOf(t, data)
	runtime.ReadMemStats(&after)
	if len(got) != len("VAR=")+size {
		t.Fatalf("value of %d bytes; want %d", len(got)-len("VAR="), size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size+size/4 {
		t.Errorf("reading %d bytes allocated %d; want at most %d", size, alloc, size+size/4)
	}
}
