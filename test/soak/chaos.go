package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// commands are the sv commands the clients send, with their weights.
var commands = []struct {
	name   string
	weight int
}{
	{"up", 4}, {"down", 2}, {"restart", 2}, {"once", 1}, {"exit", 1},
	{"term", 1}, {"kill", 1}, {"pause", 1}, {"cont", 2}, {"hup", 1}, {"status", 2},
}

func drawCommand(r *rand.Rand) string {
	total := 0
	for _, c := range commands {
		total += c.weight
	}
	n := r.IntN(total)
	for _, c := range commands {
		if n -= c.weight; n < 0 {
			return c.name
		}
	}
	return "status"
}

// svTool is one sv to drive vigil with.
type svTool struct {
	label string // "vigil" or "debian"
	path  string
}

// tally counts what happened, by key, across goroutines.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	notes  []string // the first few surprises, verbatim
	// settleNotes: answers other than ok to the last-state commands
	settleNotes []string
}

func newTally() *tally { return &tally{counts: make(map[string]int)} }

func (t *tally) add(key string) {
	t.mu.Lock()
	t.counts[key]++
	t.mu.Unlock()
}

func (t *tally) note(s string) {
	t.mu.Lock()
	if len(t.notes) < 10 {
		t.notes = append(t.notes, s)
	}
	t.mu.Unlock()
}

func (t *tally) settleNote(s string) {
	t.mu.Lock()
	t.settleNotes = append(t.settleNotes, s)
	t.mu.Unlock()
}

func (t *tally) get(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[key]
}

// keys are the counted keys with prefix, sorted.
func (t *tally) keys(prefix string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ks []string
	for k := range t.counts {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

// journal is the soak's record of everything it did, in order, kept in
// the scratch directory to explain a failure.
type journal struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (j *journal) printf(format string, args ...any) {
	j.mu.Lock()
	fmt.Fprintf(j.w, "%9.3f ", time.Since(j.start).Seconds())
	fmt.Fprintf(j.w, format, args...)
	io.WriteString(j.w, "\n")
	j.mu.Unlock()
}

// soak is one run: vigil, its services, and what the soak did to them.
type soak struct {
	j       *journal
	l       layout
	reg     *registry
	ns      *initNS
	tools   []svTool
	env     []string // for sv: SVDIR and PATH
	n       int      // services to keep about
	tally   *tally
	hangFor time.Duration // an sv that takes longer than its -w by this much hangs
}

// sv runs one sv command and classifies its answer by the first word of
// its output (ok, timeout, fail, warning, run, down, finish).
func (s *soak) sv(tool svTool, args ...string) (class, out string) {
	wait := 7 * time.Second
	for i, a := range args {
		if a == "-w" && i+1 < len(args) {
			n, _ := strconv.Atoi(args[i+1])
			wait = time.Duration(n) * time.Second
		}
	}
	s.markExit(args)
	ctx, cancel := context.WithTimeout(context.Background(), wait+s.hangFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool.path, args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	out = strings.TrimSpace(stdout.String() + stderr.String())
	defer func() {
		s.j.printf("%s sv %s -> %s (%.3fs): %s", tool.label, strings.Join(args, " "), class, time.Since(t0).Seconds(), strings.ReplaceAll(out, "\n", " | "))
	}()
	switch {
	case ctx.Err() != nil:
		return "hung", out
	case bytes.Contains(stderr.Bytes(), []byte("panic:")) || bytes.Contains(stderr.Bytes(), []byte("goroutine ")):
		return "panic", out
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return "error", err.Error()
	}
	word, _, _ := strings.Cut(out, ":")
	if word == "" && err == nil {
		return "ok", out // commands without -w say nothing
	}
	if word == "" || strings.ContainsAny(word, " /") {
		word = "other"
	}
	return word, out
}

// markExit notes, before an exit to a service with a logger is sent, that
// the service may end and come back with a new pipe: the run going now, or
// the next if it just started, may be the last its pipe carries, so lines
// it wrote while no logger read are gone with the pipe, as with runit's
// runsv exiting.
func (s *soak) markExit(args []string) {
	if len(args) < 2 || args[len(args)-2] != "exit" || strings.Contains(args[len(args)-1], "/") {
		return
	}
	name := args[len(args)-1]
	s.reg.mu.Lock()
	svc := s.reg.svcs[name]
	s.reg.mu.Unlock()
	if svc == nil || !svc.hasLog {
		return
	}
	run := s.reg.lastRun(name)
	s.reg.addPipeEnd(svc, run, run+1)
}

// client sends random commands to random services and loggers until stop.
func (s *soak) client(r *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		svc := s.reg.pick(r)
		if svc == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		target := svc.name
		if svc.hasLog && r.IntN(3) == 0 {
			target += "/log"
		}
		cmd := drawCommand(r)
		tool := s.tools[r.IntN(len(s.tools))]
		var args []string
		switch r.IntN(3) {
		case 0:
			args = []string{"-w", strconv.Itoa(1 + r.IntN(5))}
		case 1:
			if r.IntN(2) == 0 {
				args = []string{"-v"}
			}
		}
		args = append(args, cmd, target)
		if cmd == "kill" && strings.HasSuffix(target, "/log") {
			if !svc.logKillable {
				cmd = "term"
			} else {
				s.reg.markLoggerKilled(svc)
			}
		}
		class, out := s.sv(tool, args...)
		s.tally.add("sv " + tool.label + " " + cmd + " " + class)
		s.tally.add("sv " + tool.label)
		if class == "hung" || class == "panic" || class == "error" {
			s.tally.note(fmt.Sprintf("%s sv %s: %s: %s", tool.label, strings.Join(args, " "), class, out))
		}
		time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
	}
}

// killer sends KILL, from outside the supervisor, to the run process or
// the logger of a random service now and then.
func (s *soak) killer(r *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(200+r.IntN(1000)) * time.Millisecond):
		}
		svc := s.reg.pick(r)
		if svc == nil {
			continue
		}
		log := svc.hasLog && svc.logKillable && r.IntN(3) == 0
		dir := filepath.Join(s.l.svdir, svc.name)
		if log {
			dir = filepath.Join(dir, "log")
		}
		st, err := supervise.ReadStatus(filepath.Join(dir, "supervise"))
		if err != nil || st.Pid == 0 {
			continue
		}
		p, ok := s.childOfVigil(st.Pid)
		if !ok {
			continue
		}
		if log {
			s.reg.markLoggerKilled(svc)
		}
		s.j.printf("KILL %s (pid %d, %d in the namespace)", dir, p.pid, p.nspid)
		if syscall.Kill(p.pid, syscall.SIGKILL) == nil {
			if log {
				s.tally.add("kill logger")
			} else {
				s.tally.add("kill service")
			}
		}
	}
}

// childOfVigil finds the process whose pid in the namespace is nspid, if it
// is a child of vigil (so never some other process that got the pid).
func (s *soak) childOfVigil(nspid int) (proc, bool) {
	for _, p := range s.ns.scan() {
		if p.nspid == nspid && p.ppid == s.ns.pid {
			return p, true
		}
	}
	return proc{}, false
}

// churn removes services from SVDIR and adds others, new ones or removed
// ones put back, keeping their number within a quarter of n.
func (s *soak) churn(r *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(500+r.IntN(2500)) * time.Millisecond):
		}
		present, _ := s.reg.counts()
		remove := r.IntN(2) == 0
		if present <= s.n-s.n/4 {
			remove = false
		} else if present >= s.n+s.n/4 {
			remove = true
		}
		if remove {
			if svc := s.reg.pick(r); svc != nil {
				if err := s.reg.remove(svc); err != nil {
					s.tally.note(err.Error())
				} else {
					s.tally.add("churn removed")
				}
			}
			continue
		}
		var back []*service
		s.reg.mu.Lock()
		for _, svc := range s.reg.svcs {
			if !svc.present {
				back = append(back, svc)
			}
		}
		s.reg.mu.Unlock()
		sort.Slice(back, func(i, j int) bool { return back[i].name < back[j].name })
		if len(back) > 0 && r.IntN(3) > 0 {
			if err := s.reg.putBack(back[r.IntN(len(back))]); err != nil {
				s.tally.note(err.Error())
			} else {
				s.tally.add("churn put back")
			}
			continue
		}
		if _, err := s.reg.add(r, r.IntN(2) == 0); err != nil {
			s.tally.note(err.Error())
		} else {
			s.tally.add("churn added new")
		}
	}
}

// sample is one measurement of vigil and its namespace.
type sample struct {
	at       time.Duration
	rssKB    int
	fds      int
	services int
	procs    int
	zombies  int
}

// sampler measures vigil every interval until stop.
func (s *soak) sampler(start time.Time, every time.Duration, stop <-chan struct{}, out *[]sample, mu *sync.Mutex) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.takeSample(start, out, mu)
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (s *soak) takeSample(start time.Time, out *[]sample, mu *sync.Mutex) {
	u, err := s.ns.usage()
	if err != nil {
		return
	}
	procs := s.ns.scan()
	zombies := 0
	for _, p := range procs {
		if p.state == 'Z' {
			zombies++
		}
	}
	present, _ := s.reg.counts()
	mu.Lock()
	*out = append(*out, sample{time.Since(start).Round(time.Second), u.rssKB, u.fds, present, len(procs), zombies})
	mu.Unlock()
}
