package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// A bind-mounted log volume receives svlogd's rotated files, complete:
// ledger writes a burst of numbered records, docker stop comes while svlogd
// is still rotating through them, and afterwards the files hold every
// record exactly once, in order, up to the last one ledger reported on TERM.
func TestDockerLogVolume(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	const burst = 100000
	const size = 100000 // bytes per file; a record with its timestamp is ~48
	dir := t.TempDir()
	c := startContainer(t,
		"-v", dir+":/var/log/ledger",
		"-e", "LEDGER_BURST="+strconv.Itoa(burst),
		"-e", "LEDGER_LOG_SIZE="+strconv.Itoa(size),
		"-e", "LEDGER_LOG_KEEP=1000",
		img)
	c.waitRunning(20*time.Second, dockerServices...)
	// Stop as soon as svlogd has rotated a few files: the burst is still
	// in flight, in the pipe or in svlogd.
	testenv.WaitFor(t, 30*time.Second, "svlogd to rotate 3 files in the volume", func() bool {
		time.Sleep(10 * time.Millisecond)
		return len(rotated(t, dir)) >= 3
	})
	atStop := len(rotated(t, dir))
	took, code := c.stop()
	t.Logf("docker stop took %v; %d rotated files when it began", took.Round(time.Millisecond), atStop)
	if code != 0 {
		t.Errorf("exit code: got %d; want 0", code)
	}

	files := rotated(t, dir)
	t.Logf("%d rotated files in the volume", len(files))
	var all []byte
	for _, name := range append(files, "current") {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name != "current" && len(b) > size {
			t.Errorf("%s: got %d bytes; want at most %d (s%d)", name, len(b), size, size)
		}
		if name != "current" && (len(b) == 0 || b[len(b)-1] != '\n') {
			t.Errorf("%s: want whole lines, ending in a newline", name)
		}
		all = append(all, b...)
	}
	if len(files) < 3 {
		t.Errorf("rotated files: got %d; want at least 3", len(files))
	}
	if len(all) > 0 && all[len(all)-1] != '\n' {
		t.Errorf("current: want it to end with a newline after docker stop")
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} `)
	next, last := 1, -1
	for _, line := range strings.Split(strings.TrimSuffix(string(all), "\n"), "\n") {
		loc := stamp.FindStringIndex(line)
		if loc == nil {
			t.Fatalf("log line %q: want svlogd -tt's timestamp first", line)
		}
		msg := line[loc[1]:]
		if n, ok := strings.CutPrefix(msg, "ledger: record "); ok {
			got, err := strconv.Atoi(n)
			if err != nil || got != next {
				t.Fatalf("log: got %q after record %d; want record %d: a record is lost, repeated or out of order", msg, next-1, next)
			}
			next++
			continue
		}
		if n, ok := strings.CutPrefix(msg, "ledger: TERM after record "); ok {
			last, _ = strconv.Atoi(n)
			continue
		}
		t.Errorf("log: unexpected line %q", line)
	}
	if next-1 < burst {
		t.Errorf("log: got records 1 to %d; want at least the burst of %d", next-1, burst)
	}
	if last != next-1 {
		t.Errorf("log: ledger's TERM line names record %d; want it there, after the last record %d", last, next-1)
	}
}

// rotated lists svlogd's rotated files (@TAI64N.s or .u) in dir, oldest
// first: their names sort by time.
func rotated(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, "@") && (strings.HasSuffix(n, ".s") || strings.HasSuffix(n, ".u")) {
			list = append(list, n)
		}
	}
	slices.Sort(list)
	return list
}
