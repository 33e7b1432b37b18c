package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// asked is the state the soak last asked a service and its logger to be in.
type asked struct {
	svc  string // "up", "down" or "exit,up" (exit, then up)
	log  string // "up" or "down"; "" without log/
	sent []string
}

// settle brings every present service to a state drawn at random, one
// goroutine a service, each sending its commands in order with vigil's sv:
// cont to both (pause is part of the state), the logger's state, then the
// service's. After exit then up, the logger must run again, as a runit
// logger does when runsvdir restarts an exited runsv.
func (s *soak) settle(r *rand.Rand, vigilSv svTool) map[string]*asked {
	want := make(map[string]*asked)
	for _, svc := range s.reg.list() {
		if !svc.present {
			continue
		}
		a := &asked{svc: []string{"up", "up", "down", "exit,up"}[r.IntN(4)]}
		if svc.hasLog {
			a.log = "up"
			if a.svc != "exit,up" && r.IntN(5) == 0 {
				a.log = "down"
			}
		}
		want[svc.name] = a
		s.j.printf("last state of %s: %s, logger %q", svc.name, a.svc, a.log)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, a := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cmds [][]string
			cmds = append(cmds, []string{"cont", name})
			if a.log != "" {
				cmds = append(cmds, []string{"cont", name + "/log"}, []string{"-w", "30", a.log, name + "/log"})
			}
			for _, c := range strings.Split(a.svc, ",") {
				cmds = append(cmds, []string{"-w", "30", c, name})
			}
			for _, c := range cmds {
				class, out := s.sv(vigilSv, c...)
				if class == "fail" && strings.Contains(out, "runsv not running") {
					// Between an exit and its return a service has no
					// supervisor, for a moment; the command waits for it.
					s.tally.add("settle retried")
					s.waitAlive(c[len(c)-1], time.Now().Add(30*time.Second))
					class, out = s.sv(vigilSv, c...)
				}
				mu.Lock()
				a.sent = append(a.sent, fmt.Sprintf("sv %s: %s", strings.Join(c, " "), firstLine(out)))
				mu.Unlock()
				if class != "ok" {
					s.tally.add("settle answer " + class)
					s.tally.settleNote(fmt.Sprintf("sv %s: %s", strings.Join(c, " "), firstLine(out)))
				}
			}
		}()
	}
	wg.Wait()
	return want
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// mismatch says how the status in supervise differs from what was asked,
// or "" when it matches. A running process must be a live child of vigil.
func (s *soak) mismatch(superviseDir, want string, procs map[int]proc) string {
	st, err := supervise.ReadStatus(superviseDir)
	if err != nil {
		return fmt.Sprintf("status unreadable: %v", err)
	}
	got := describe(st)
	switch {
	case want == "gone" && (st.State != supervise.Down || st.Pid != 0):
		return "want it stopped (removed from SVDIR); got " + got
	case want == "gone":
		return ""
	case st.Paused:
		return "want " + want + " and not paused; got " + got
	case want == "up" && (st.Want != supervise.WantUp || st.State != supervise.Run || st.Pid == 0):
		return "want up, run; got " + got
	case want == "down" && (st.Want != supervise.WantDown || st.State != supervise.Down || st.Pid != 0):
		return "want down, down; got " + got
	case want == "up":
		for _, p := range procs {
			if p.nspid == st.Pid && p.ppid == s.ns.pid && p.state != 'Z' {
				return ""
			}
		}
		return fmt.Sprintf("status says run with pid %d, but no live child of vigil has that pid", st.Pid)
	}
	return ""
}

// describe is a status as sv would say it, with the want that the
// 20 bytes hold.
func describe(st supervise.Status) string {
	w := "want up"
	if st.Want != supervise.WantUp {
		w = "want down"
	}
	return fmt.Sprintf("%s, pid %d, %s", strings.TrimSpace(st.Stat()), st.Pid, w)
}

// stateFailures polls each service and logger until it is in the state
// asked for, and lists those that are not by the deadline; removed
// services must have stopped.
func (s *soak) stateFailures(want map[string]*asked, deadline time.Time) (failures []string, checked int) {
	type target struct{ label, dir, want string }
	var targets []target
	for _, svc := range s.reg.list() {
		dir := svc.dir(s.l)
		if !svc.present {
			targets = append(targets, target{svc.name, dir, "gone"})
			if svc.hasLog {
				targets = append(targets, target{svc.name + "/log", filepath.Join(dir, "log"), "gone"})
			}
			continue
		}
		a := want[svc.name]
		targets = append(targets, target{svc.name, dir, strings.TrimPrefix(a.svc, "exit,")})
		if svc.hasLog {
			targets = append(targets, target{svc.name + "/log", filepath.Join(dir, "log"), a.log})
		}
	}
	for _, t := range targets {
		var why string
		for {
			why = s.mismatch(filepath.Join(t.dir, "supervise"), t.want, s.ns.scan())
			if why == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		checked++
		if why != "" {
			name, _, _ := strings.Cut(t.label, "/")
			var sent string
			if a := want[name]; a != nil {
				sent = " (after " + strings.Join(a.sent, "; ") + ")"
			}
			failures = append(failures, t.label+": "+why+sent)
		}
	}
	return failures, checked
}

// strays are the zombies and the orphans of the namespace: processes that
// are neither vigil nor in the session of a running service or logger
// (each run and log/run leads its own session in init mode).
func (s *soak) strays() (zombies, orphans []proc) {
	procs := s.ns.scan()
	leaders := make(map[int]bool)
	for _, svc := range s.reg.list() {
		if !svc.present {
			continue
		}
		dirs := []string{svc.dir(s.l)}
		if svc.hasLog {
			dirs = append(dirs, filepath.Join(dirs[0], "log"))
		}
		for _, d := range dirs {
			st, err := supervise.ReadStatus(filepath.Join(d, "supervise"))
			if err != nil || st.Pid == 0 || st.State != supervise.Run {
				continue
			}
			for _, p := range procs {
				if p.nspid == st.Pid && p.ppid == s.ns.pid {
					leaders[p.pid] = true
				}
			}
		}
	}
	for _, p := range procs {
		switch {
		case p.state == 'Z':
			zombies = append(zombies, p)
		case p.pid == s.ns.pid:
		case !leaders[p.sid]:
			orphans = append(orphans, p)
		}
	}
	sort.Slice(zombies, func(i, j int) bool { return zombies[i].pid < zombies[j].pid })
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].pid < orphans[j].pid })
	return zombies, orphans
}

// waitStrays polls until there are no zombies and no orphans, and returns
// what is left at the deadline.
func (s *soak) waitStrays(deadline time.Time) (zombies, orphans []proc) {
	for {
		zombies, orphans = s.strays()
		if len(zombies)+len(orphans) == 0 || time.Now().After(deadline) {
			return zombies, orphans
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restore puts back the first n services, removes every other, and asks
// all to be up, so that vigil's descriptors can be compared with those it
// had before the soak, in the same state.
func (s *soak) restore(initial map[string]bool, vigilSv svTool) []string {
	var problems []string
	for _, svc := range s.reg.list() {
		p := s.reg.svcs[svc.name]
		switch {
		case initial[svc.name] && !svc.present:
			if err := s.reg.putBack(p); err != nil {
				problems = append(problems, err.Error())
			}
		case !initial[svc.name] && svc.present:
			if err := s.reg.remove(p); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	return append(problems, s.allUp(vigilSv)...)
}

// waitAlive waits until target (NAME or NAME/log) has a supervisor.
func (s *soak) waitAlive(target string, deadline time.Time) {
	dir := filepath.Join(s.l.svdir, target, "supervise")
	for supervise.Alive(dir) != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSupervised waits until vigil supervises every present service and
// logger (supervise/ok has a reader).
func (s *soak) waitSupervised(deadline time.Time) []string {
	var missing []string
	for _, svc := range s.reg.list() {
		if !svc.present {
			continue
		}
		dirs := []string{svc.dir(s.l)}
		if svc.hasLog {
			dirs = append(dirs, filepath.Join(dirs[0], "log"))
		}
		for _, d := range dirs {
			for supervise.Alive(filepath.Join(d, "supervise")) != nil && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if err := supervise.Alive(filepath.Join(d, "supervise")); err != nil {
				missing = append(missing, fmt.Sprintf("%s: not supervised: %v", d, err))
			}
		}
	}
	return missing
}

// allUp asks every present service and logger to be up and waits until
// each runs.
func (s *soak) allUp(vigilSv svTool) []string {
	if missing := s.waitSupervised(time.Now().Add(60 * time.Second)); len(missing) > 0 {
		return missing
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for _, svc := range s.reg.list() {
		if !svc.present {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			targets := []string{svc.name}
			if svc.hasLog {
				targets = append(targets, svc.name+"/log")
			}
			for _, t := range targets {
				for _, c := range [][]string{{"cont", t}, {"-w", "30", "up", t}} {
					if class, out := s.sv(vigilSv, c...); class != "ok" {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("sv %s: %s", strings.Join(c, " "), firstLine(out)))
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	sort.Strings(problems)
	return problems
}

// quietUsage is vigil's usage once transient descriptors (a finish
// script's, a restarting service's) are gone: the first sample within d
// with exactly want descriptors, else the one closest to it (want 0: the
// smallest seen).
func (s *soak) quietUsage(d time.Duration, want int) usage {
	var best usage
	end := time.Now().Add(d)
	dist := func(u usage) int {
		if want == 0 {
			return u.fds
		}
		return max(u.fds-want, want-u.fds)
	}
	for first := true; ; first = false {
		u, err := s.ns.usage()
		if err == nil && (first || dist(u) < dist(best)) {
			best = u
		}
		if time.Now().After(end) || (want > 0 && best.fds == want) {
			return best
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fdDiff says which kinds of descriptors a has more or fewer of than b.
func fdDiff(a, b []string) string {
	count := func(l []string) map[string]int {
		m := make(map[string]int)
		for _, k := range l {
			m[k]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var keys []string
	for k := range ca {
		keys = append(keys, k)
	}
	for k := range cb {
		if _, ok := ca[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if d := ca[k] - cb[k]; d != 0 {
			out = append(out, fmt.Sprintf("%+d %s", d, k))
		}
	}
	return strings.Join(out, ", ")
}
