package procsetup

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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

// FuzzReadEnvDir writes two files of any name and content into an envdir
// and holds chpst -e to runit's rules: each file not starting with '.'
// gives one change, an empty file unsets, otherwise the value is the
// first line without trailing blanks and with NULs made newlines; merged
// into an environment, every variable is there once, as the last change
// to it says.
func FuzzReadEnvDir(f *testing.F) {
	// Files of real envdirs (daemontools' and runit's services: dnscache's
	// IP and ROOT, a PATH, a secret with a trailing newline) and the
	// corner cases of TestReadEnvDir.
	f.Add("IP", []byte("127.0.0.1\n"), "ROOT", []byte("/etc/dnscache/root\n"))
	f.Add("PATH", []byte("/usr/local/bin:/usr/bin:/bin\n"), "HOME", []byte("/var/lib/app"))
	f.Add("TRAIL", []byte("x \t \n"), "CR", []byte("x\r\n"))
	f.Add("NUL", []byte("a\x00b\nc"), "EMPTY", []byte(""))
	f.Add("NL", []byte("\n"), ".hide", []byte("h"))
	f.Add("A=B", []byte("v\n"), "A", []byte("w\n"))
	f.Add("LONG", bytes.Repeat([]byte("y"), 1000), "SECRET", []byte("s3cr3t\nsecond line\n"))
	f.Fuzz(func(t *testing.T, name1 string, val1 []byte, name2 string, val2 []byte) {
		for _, n := range []string{name1, name2} {
			if n == "" || n == "." || n == ".." || len(n) > 255 || strings.ContainsAny(n, "/\x00") {
				t.Skip("not a file name")
			}
		}
		dir := t.TempDir()
		want := map[string]string{}
		for _, file := range []struct {
			name string
			val  []byte
		}{{name1, val1}, {name2, val2}} {
			if err := os.WriteFile(filepath.Join(dir, file.name), file.val, 0o644); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(file.name, ".") {
				if v, set := envdirValue(file.name, file.val); set {
					want[file.name] = v
				} else {
					want[file.name] = file.name
				}
			}
		}
		fds := countFDs(t)
		s := &Spec{EnvDir: &dir}
		changes, err := s.readEnvDir()
		if err != nil {
			t.Fatalf("envdir with %q and %q: %v", name1, name2, err)
		}
		if n := countFDs(t); n != fds {
			t.Errorf("envdir with %q and %q: %d open descriptors before, %d after", name1, name2, fds, n)
		}
		got := map[string]string{}
		for _, c := range changes {
			got[fileOf(c, want)] = c
		}
		if len(changes) != len(want) || !mapsEqual(got, want) {
			t.Fatalf("envdir %q=%q, %q=%q: changes %q; want %q", name1, val1, name2, val2, changes, want)
		}

		base := []string{"PATH=/bin", "IP=0.0.0.0", "A=1", "HOME=/"}
		env := mergeEnv(base, changes)
		final := map[string]*string{} // the last change to each variable
		for _, kv := range base {
			k, v, _ := strings.Cut(kv, "=")
			final[k] = &v
		}
		for _, c := range changes {
			k, v, set := strings.Cut(c, "=")
			if set {
				final[k] = &v
			} else {
				final[k] = nil
			}
		}
		for k, v := range final {
			var have []string
			for _, kv := range env {
				if n, val, _ := strings.Cut(kv, "="); n == k {
					have = append(have, val)
				}
			}
			if (v == nil && len(have) != 0) || (v != nil && !slices.Equal(have, []string{*v})) {
				t.Errorf("mergeEnv(%q, %q) = %q: %s is %q; want it once as %v", base, changes, env, k, have, deref(v))
			}
		}
	})
}

// fileOf finds which file a change came from: the longest file name that
// the change is, or starts with followed by '=' (names may hold '=').
func fileOf(c string, files map[string]string) string {
	best := ""
	for n := range files {
		if (c == n || strings.HasPrefix(c, n+"=")) && len(n) > len(best) && files[n] == c {
			best = n
		}
	}
	return best
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func deref(p *string) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
