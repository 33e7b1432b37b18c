package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// logRecord is one numbered line as svlogd wrote it: run number and line
// number within the run.
type logRecord struct{ run, n int }

// readLogDir reads the numbered lines of service name from svlogd's
// directory, oldest file first (rotated files are named by their TAI64N
// time, so they sort in order; current is the newest).
func readLogDir(dir, name string) ([]logRecord, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading log directory %s: %w", dir, err)
	}
	var files []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "@") {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	files = append(files, "current")
	var recs []logRecord
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			if os.IsNotExist(err) && f == "current" {
				continue
			}
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, f), err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if r, ok := parseLogLine(sc.Text(), name); ok {
				recs = append(recs, r)
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, f), err)
		}
	}
	return recs, nil
}

// parseLogLine finds "soak NAME.RUN N" in a line, after svlogd's
// timestamp if there is one.
func parseLogLine(line, name string) (logRecord, bool) {
	f := strings.Fields(line)
	for i := 0; i+2 < len(f); i++ {
		if f[i] != "soak" {
			continue
		}
		run, ok := strings.CutPrefix(f[i+1], name+".")
		if !ok {
			return logRecord{}, false
		}
		r, err1 := strconv.Atoi(run)
		n, err2 := strconv.Atoi(f[i+2])
		if err1 != nil || err2 != nil || i+3 != len(f) {
			// A line cut or run together with another: the check
			// sees the numbers it lacks as lost.
			return logRecord{}, false
		}
		return logRecord{r, n}, true
	}
	return logRecord{}, false
}

// readRecorded reads how far each run of a service got, as its run script
// recorded after each line: run number to line number.
func readRecorded(dir string) map[int]int {
	got := make(map[int]int)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		run, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			got[run] = n
		}
	}
	return got
}

// logVerdict is what the log of one service shows.
type logVerdict struct {
	runs, lines int
	lost        int      // lines recorded as written but missing
	problems    []string // gaps, repeats, runs out of order, tails missing
}

// checkLog checks the numbered lines of one service against what its runs
// recorded. Each run's lines must be 1, 2, 3... in order, and the runs in
// order of their numbers (one run at a time, one pipe, read in order). A
// run's last lines may still be missing legitimately only while they can
// sit in a pipe no logger read: so a run must be complete when a later run
// of the same presence in SVDIR got logged (epochs[i] is the last run
// before the service was put back for the i-th time), and every run must
// be complete when drained says a logger read the last presence's pipe to
// its end.
func checkLog(recs []logRecord, recorded map[int]int, epochs []int, drained bool) logVerdict {
	var v logVerdict
	last := make(map[int]int) // run: last line number seen
	maxRun := 0
	for _, r := range recs {
		v.lines++
		prev := last[r.run]
		switch {
		case r.run < maxRun:
			v.problems = append(v.problems, fmt.Sprintf("run %d's line %d after run %d's lines", r.run, r.n, maxRun))
		case r.n == prev:
			v.problems = append(v.problems, fmt.Sprintf("run %d: line %d twice", r.run, r.n))
		case r.n < prev:
			v.problems = append(v.problems, fmt.Sprintf("run %d: line %d after line %d", r.run, r.n, prev))
		case r.n > prev+1:
			v.problems = append(v.problems, fmt.Sprintf("run %d: lines %d to %d lost", r.run, prev+1, r.n-1))
			v.lost += r.n - prev - 1
		}
		if r.n > prev {
			last[r.run] = r.n
		}
		maxRun = max(maxRun, r.run)
	}
	v.runs = len(last)
	epochOf := func(run int) int {
		return sort.SearchInts(epochs, run) // runs up to epochs[i] are in epoch i
	}
	lastLogged := make(map[int]int) // epoch: highest run logged
	for run := range last {
		e := epochOf(run)
		lastLogged[e] = max(lastLogged[e], run)
	}
	runs := make([]int, 0, len(recorded))
	for run := range recorded {
		runs = append(runs, run)
	}
	sort.Ints(runs)
	for _, run := range runs {
		want, got := recorded[run], last[run]
		if got >= want {
			continue
		}
		if e := epochOf(run); (drained && e == len(epochs)) || lastLogged[e] > run {
			v.problems = append(v.problems, fmt.Sprintf("run %d: wrote lines up to %d, the log ends at %d", run, want, got))
			v.lost += want - got
		}
	}
	return v
}
