package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// verdict is one invariant and whether it held.
type verdict struct {
	name   string
	ok     bool
	detail string
}

// bullet puts each item on a line of its own under a verdict, the first
// twenty at most.
func bullet(items []string) string {
	var b strings.Builder
	for i, it := range items {
		if i == 20 {
			fmt.Fprintf(&b, "\n        ... and %d more", len(items)-i)
			break
		}
		b.WriteString("\n        " + it)
	}
	return b.String()
}

func procLines(ps []proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// rssFlat compares vigil's resident memory late in the soak with what it
// was just after warm-up: the median of the last third of the samples
// after warm-up may exceed the median of the first third by a quarter
// plus 1 MiB (the Go heap breathes; a leak grows without end).
func rssFlat(samples []sample, warmup time.Duration) (bool, string) {
	var after []int
	for _, s := range samples {
		if s.at >= warmup {
			after = append(after, s.rssKB)
		}
	}
	if len(after) < 3 {
		return true, fmt.Sprintf("only %d samples after a warm-up of %v: not judged", len(after), warmup)
	}
	third := len(after) / 3
	first, last := median(after[:third]), median(after[len(after)-third:])
	limit := first + first/4 + 1024
	return last <= limit, fmt.Sprintf("median %d kB after a warm-up of %v, %d kB at the end (limit %d kB)", first, warmup, last, limit)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func median(v []int) int {
	c := append([]int(nil), v...)
	sort.Ints(c)
	return c[len(c)/2]
}

// report prints the summary and returns the exit code: 1 when an
// invariant failed.
func report(o options, w io.Writer, s *soak, toolNote string, elapsed time.Duration, samples []sample, verdicts []verdict) int {
	var b strings.Builder
	withLog, killable, long, trap, crash, finish := 0, 0, 0, 0, 0, 0
	for _, svc := range s.reg.list() {
		if svc.hasLog {
			withLog++
			if svc.logKillable {
				killable++
			}
		}
		p := svc.profile
		long += b2i(p.longChild)
		trap += b2i(p.trapKill0)
		crash += b2i(p.life > 0)
		finish += b2i(p.finish)
	}
	fmt.Fprintf(&b, "soak: %v of random commands, seed %d, %d services about (%d made, %d with log/), %d clients, sv: %s\n",
		elapsed.Round(time.Second), o.seed, o.services, len(s.reg.list()), withLog, o.clients, toolNote)
	fmt.Fprintf(&b, "  of the services: %d with log/ (%d whose logger the soak may KILL), %d with a child as long-lived as the group, %d with trap 'kill 0' EXIT, %d that exit 3 now and then, %d with finish\n",
		withLog, killable, long, trap, crash, finish)
	for _, tool := range s.tools {
		fmt.Fprintf(&b, "  %s sv: %d commands:", tool.label, s.tally.get("sv "+tool.label))
		byCmd := make(map[string][]string)
		var cmds []string
		for _, k := range s.tally.keys("sv " + tool.label + " ") {
			f := strings.Fields(k)
			if len(f) != 4 {
				continue
			}
			if _, ok := byCmd[f[2]]; !ok {
				cmds = append(cmds, f[2])
			}
			byCmd[f[2]] = append(byCmd[f[2]], fmt.Sprintf("%s %d", f[3], s.tally.get(k)))
		}
		for _, c := range cmds {
			fmt.Fprintf(&b, " %s (%s)", c, strings.Join(byCmd[c], ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  KILLs from outside: %d services, %d loggers; directories: %d removed, %d put back, %d new\n",
		s.tally.get("kill service"), s.tally.get("kill logger"),
		s.tally.get("churn removed"), s.tally.get("churn put back"), s.tally.get("churn added new"))
	if n := s.tally.get("settle retried"); n > 0 {
		fmt.Fprintf(&b, "  last-state commands sent again once the service was supervised again (after an exit): %d\n", n)
	}
	if ks := s.tally.keys("settle answer "); len(ks) > 0 {
		var parts []string
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(k, "settle answer "), s.tally.get(k)))
		}
		sort.Strings(s.tally.settleNotes)
		fmt.Fprintf(&b, "  last-state commands not answered ok: %s%s\n", strings.Join(parts, ", "), bullet(s.tally.settleNotes))
	}
	b.WriteString("  vigil over time (RSS, descriptors, services in SVDIR, processes and zombies in the namespace):\n")
	for _, sm := range samples {
		fmt.Fprintf(&b, "    %6v  %6d kB  %4d fds  %3d services  %4d procs  %2d zombies\n", sm.at, sm.rssKB, sm.fds, sm.services, sm.procs, sm.zombies)
	}
	var failed []string
	for _, v := range verdicts {
		mark := "ok  "
		if !v.ok {
			mark = "FAIL"
			failed = append(failed, v.name)
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", mark, v.name, v.detail)
	}
	if len(failed) > 0 {
		fmt.Fprintf(&b, "soak: FAIL: %s\n", strings.Join(failed, "; "))
	} else {
		b.WriteString("soak: PASS\n")
	}
	io.WriteString(w, b.String())
	if o.summary != "" {
		os.WriteFile(o.summary, []byte(b.String()), 0o644)
	}
	if len(failed) > 0 {
		return 1
	}
	return 0
}
