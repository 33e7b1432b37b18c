package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		line string
		want logRecord
		ok   bool
	}{
		{"2026-12-07_02:05:35.12345 soak s03.7 41", logRecord{7, 41}, true},
		{"soak s03.7 41", logRecord{7, 41}, true},
		{"@400000006574a0c30b1d4a2c soak s03.12 1", logRecord{12, 1}, true},
		{"2026-12-07_02:05:35.12345 child of s03.7", logRecord{}, false},
		{"2026-12-07_02:05:35.12345 finish s03 -1 15", logRecord{}, false},
		{"2026-12-07_02:05:35.12345 soak s13.7 41", logRecord{}, false}, // another service
		{"2026-12-07_02:05:35.12345 soak s03.7 4", logRecord{7, 4}, true},
		{"2026-12-07_02:05:35.12345 soak s03.7 41 soak s03.7 42", logRecord{}, false}, // two lines run together
		{"2026-12-07_02:05:35.12345 soak s03.7", logRecord{}, false},
		{"2026-12-07_02:05:35.12345 soak s03.x 1", logRecord{}, false},
	}
	for _, tt := range tests {
		got, ok := parseLogLine(tt.line, "s03")
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseLogLine(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// recs builds records from "run:first-last" ranges.
func recs(runs ...[3]int) []logRecord {
	var out []logRecord
	for _, r := range runs {
		for n := r[1]; n <= r[2]; n++ {
			out = append(out, logRecord{r[0], n})
		}
	}
	return out
}

func TestCheckLog(t *testing.T) {
	tests := []struct {
		name     string
		recs     []logRecord
		recorded map[int]int
		epochs   []int
		drained  bool
		lost     int
		problems []string
	}{
		{name: "complete runs", recs: recs([3]int{1, 1, 5}, [3]int{2, 1, 3}), recorded: map[int]int{1: 5, 2: 3}, drained: true},
		{name: "the record lags one line behind the pipe", recs: recs([3]int{1, 1, 6}), recorded: map[int]int{1: 5}, drained: true},
		{
			name: "a gap", recs: append(recs([3]int{1, 1, 3}), recs([3]int{1, 6, 7})...), recorded: map[int]int{1: 7}, drained: true,
			lost: 2, problems: []string{"run 1: lines 4 to 5 lost"},
		},
		{
			name: "a repeat", recs: append(recs([3]int{1, 1, 3}), logRecord{1, 3}), recorded: map[int]int{1: 3}, drained: true,
			problems: []string{"run 1: line 3 twice"},
		},
		{
			name: "a line back in time", recs: append(recs([3]int{1, 1, 3}), logRecord{1, 2}), recorded: map[int]int{1: 3}, drained: true,
			problems: []string{"run 1: line 2 after line 3"},
		},
		{
			name: "two runs at once", recs: append(recs([3]int{1, 1, 2}, [3]int{2, 1, 2}), logRecord{1, 3}), recorded: map[int]int{1: 3, 2: 2}, drained: true,
			problems: []string{"run 1's line 3 after run 2's lines"},
		},
		{
			name: "a tail lost before a later run's lines", recs: recs([3]int{1, 1, 3}, [3]int{2, 1, 3}), recorded: map[int]int{1: 5, 2: 3},
			lost: 2, problems: []string{"run 1: wrote lines up to 5, the log ends at 3"},
		},
		{
			name: "a run missing entirely before a later run's lines", recs: recs([3]int{1, 1, 3}, [3]int{3, 1, 3}), recorded: map[int]int{1: 3, 2: 4, 3: 3},
			lost: 4, problems: []string{"run 2: wrote lines up to 4, the log ends at 0"},
		},
		{name: "the last run's tail still in a pipe nobody drained", recs: recs([3]int{1, 1, 3}), recorded: map[int]int{1: 9}},
		{
			name: "the last run's tail missing though the pipe was drained", recs: recs([3]int{1, 1, 3}), recorded: map[int]int{1: 9}, drained: true,
			lost: 6, problems: []string{"run 1: wrote lines up to 9, the log ends at 3"},
		},
		{
			// Run 2 was the last of the first presence in SVDIR: its pipe
			// went with it, so its tail cannot be asked for.
			name: "a presence's last tail went with its pipe", recs: recs([3]int{1, 1, 3}, [3]int{2, 1, 1}, [3]int{3, 1, 4}),
			recorded: map[int]int{1: 3, 2: 5, 3: 4}, epochs: []int{2}, drained: true,
		},
		{
			name: "within a presence a tail must be there", recs: recs([3]int{1, 1, 3}, [3]int{2, 1, 1}, [3]int{3, 1, 4}, [3]int{4, 1, 1}),
			recorded: map[int]int{1: 3, 2: 5, 3: 6, 4: 1}, epochs: []int{2}, drained: false,
			lost: 2, problems: []string{"run 3: wrote lines up to 6, the log ends at 4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := checkLog(tt.recs, tt.recorded, tt.epochs, tt.drained)
			if v.lost != tt.lost || !reflect.DeepEqual(v.problems, tt.problems) {
				t.Errorf("checkLog: lost %d, problems %q; want lost %d, problems %q", v.lost, v.problems, tt.lost, tt.problems)
			}
			if v.lines != len(tt.recs) {
				t.Errorf("checkLog: %d lines; want %d", v.lines, len(tt.recs))
			}
		})
	}
}

// TestReadLogDir reads rotated files before current, in the order of their
// TAI64N names.
func TestReadLogDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"@400000006574a0c30b1d4a2c.s": "2026-12-07_02:05:35.1 soak s03.1 3\n2026-12-07_02:05:35.1 soak s03.1 4\n",
		"@400000006574a0c20b1d4a2c.s": "2026-12-07_02:05:34.1 soak s03.1 1\nchild of s03.1\n2026-12-07_02:05:34.1 soak s03.1 2\n",
		"current":                     "2026-12-07_02:05:36.1 soak s03.2 1\n",
		"config":                      "s200000\nn0\n",
		"lock":                        "",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readLogDir(dir, "s03")
	if err != nil {
		t.Fatal(err)
	}
	want := []logRecord{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readLogDir = %v; want %v", got, want)
	}
}

func TestRSSFlat(t *testing.T) {
	series := func(kb ...int) []sample {
		var s []sample
		for i, k := range kb {
			s = append(s, sample{at: time.Duration(i) * time.Second, rssKB: k})
		}
		return s
	}
	tests := []struct {
		name    string
		samples []sample
		ok      bool
	}{
		{"flat", series(9000, 3000, 3100, 3050, 3200, 3100, 3150), true},
		{"breathing", series(3000, 3000, 4000, 3200, 3900, 3300, 4100), true},
		{"growing", series(3000, 3000, 4000, 5000, 6000, 7000, 8000), false},
		{"too short to judge", series(3000, 9000), true},
	}
	for _, tt := range tests {
		ok, detail := rssFlat(tt.samples, time.Second)
		if ok != tt.ok {
			t.Errorf("%s: rssFlat = %v (%s); want %v", tt.name, ok, detail, tt.ok)
		}
	}
}

func TestFdDiff(t *testing.T) {
	got := fdDiff([]string{"pipe", "pipe", "/x/supervise/lock", "anon_inode"}, []string{"pipe", "anon_inode", "anon_inode"})
	want := "+1 /x/supervise/lock, -1 anon_inode, +1 pipe"
	if got != want {
		t.Errorf("fdDiff = %q; want %q", got, want)
	}
}

// TestRunScript runs a generated run script under sh for a moment and
// checks that its lines are what the log check reads.
func TestRunScript(t *testing.T) {
	l, err := newLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := profile{burst: 3, tick: "0.1", childEvery: 2, life: 2}
	script := filepath.Join(t.TempDir(), "run")
	if err := os.WriteFile(script, []byte(runScript(l, "s00", p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(l.seq, "s00"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runSh(script)
	if code := exitCode(err); code != 3 {
		t.Fatalf("run exited %d (%v); want 3 after its life of 2 ticks\n%s", code, err, out)
	}
	var got []logRecord
	for _, ln := range strings.Split(out, "\n") {
		if r, ok := parseLogLine(ln, "s00"); ok {
			got = append(got, r)
		}
	}
	if want := recs([3]int{1, 1, 6}); !reflect.DeepEqual(got, want) {
		t.Errorf("lines %v; want %v\n%s", got, want, out)
	}
	if rec := readRecorded(filepath.Join(l.seq, "s00")); !reflect.DeepEqual(rec, map[int]int{1: 6}) {
		t.Errorf("recorded %v; want run 1 at line 6", rec)
	}
}

func runSh(script string) (string, error) {
	out, err := exec.Command("sh", script).Output()
	return string(out), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
