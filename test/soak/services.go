package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-init/vigil/services/supervise"
)

// layout is where a soak keeps its files, all under one scratch directory.
type layout struct {
	svdir     string // SVDIR: what vigil supervises
	pool      string // service directories that SVDIR links to
	graveyard string // real service directories moved out of SVDIR
	staging   string // where a new real directory is made before it moves in
	logs      string // svlogd's directories, one per service
	seq       string // what each run wrote last, one directory per service
	bin       string // vigil's applets, as `vigil --install` makes them
}

func newLayout(top string) (layout, error) {
	l := layout{
		svdir:     filepath.Join(top, "service"),
		pool:      filepath.Join(top, "pool"),
		graveyard: filepath.Join(top, "graveyard"),
		staging:   filepath.Join(top, "staging"),
		logs:      filepath.Join(top, "log"),
		seq:       filepath.Join(top, "seq"),
		bin:       filepath.Join(top, "bin"),
	}
	for _, d := range []string{l.svdir, l.pool, l.graveyard, l.staging, l.logs, l.seq} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return l, fmt.Errorf("making %s: %w", d, err)
		}
	}
	return l, nil
}

// service is one service directory the soak made, present in SVDIR or not.
type service struct {
	name    string
	linked  bool // SVDIR holds a symlink to pool/name; else the directory itself
	hasLog  bool
	present bool
	profile profile
	// loggerKilled: its logger got a KILL at least once, so lines it had
	// read but not written may be gone; the lost-line check leaves it out.
	loggerKilled bool
	// logKillable: the soak may KILL its logger; the others get TERM at
	// most, so the lost-line check has services left to check.
	logKillable bool
	// epochs: runs that may have been the last of a log pipe: the last
	// before each time it was put back in SVDIR, and those around an
	// exit. A pipe's lines can never follow another pipe's.
	epochs []int
}

// dir is where the service directory is now.
func (s *service) dir(l layout) string {
	switch {
	case s.linked:
		return filepath.Join(l.pool, s.name)
	case s.present:
		return filepath.Join(l.svdir, s.name)
	}
	return filepath.Join(l.graveyard, s.name)
}

// registry is every service of the soak, shared by its goroutines.
type registry struct {
	j    *journal
	mu   sync.Mutex
	l    layout
	svcs map[string]*service
	next int // number for the next new service's name
}

// profile is how a run script behaves; it is drawn once per service.
type profile struct {
	burst      int    // lines per tick
	tick       string // sleep between ticks, seconds
	childEvery int    // a short-lived background child every so many ticks
	longChild  bool   // one background child that lives as long as the group
	life       int    // ticks before run exits by itself (0: never)
	trapKill0  bool   // trap 'kill 0' EXIT, the idiom that must stay inside the service
	finish     bool
}

func drawProfile(r *rand.Rand) profile {
	p := profile{
		burst:      1 + r.IntN(8),
		tick:       []string{"0.1", "0.2", "0.3", "0.5"}[r.IntN(4)],
		childEvery: 3 + r.IntN(20),
		longChild:  r.IntN(3) == 0,
		trapKill0:  r.IntN(4) == 0,
		finish:     r.IntN(3) == 0,
	}
	if r.IntN(4) == 0 {
		p.life = 20 + r.IntN(200)
	}
	return p
}

// runScript writes numbered lines, "soak NAME.RUN N", RUN counting the
// runs of the service and N the lines of this run from 1; after each line
// it records N in seq/NAME/RUN, so that the log check knows how far each
// run got. Only shell builtins run per line.
func runScript(l layout, name string, p profile) string {
	var b strings.Builder
	st := filepath.Join(l.seq, name)
	fmt.Fprintf(&b, "#!/bin/sh\n# soak service %s\nst=%s\n", name, st)
	b.WriteString("{ read id < $st/id; } 2>/dev/null || id=0\nid=$((id+1))\necho $id > $st/id\n")
	fmt.Fprintf(&b, "tag=%s.$id\n", name)
	if p.trapKill0 {
		b.WriteString("trap 'kill 0' EXIT\n")
	}
	if p.longChild {
		b.WriteString("sleep 3600 &\n")
	}
	b.WriteString("n=0 t=0\nwhile :; do\n\ti=0\n")
	fmt.Fprintf(&b, "\twhile [ $i -lt %d ]; do\n", p.burst)
	b.WriteString("\t\tn=$((n+1)) i=$((i+1))\n\t\techo \"soak $tag $n\"\n\t\techo $n > $st/$id\n\tdone\n")
	b.WriteString("\tt=$((t+1))\n")
	fmt.Fprintf(&b, "\tif [ $((t %% %d)) -eq 0 ]; then ( sleep 1; echo \"child of $tag\" ) & fi\n", p.childEvery)
	if p.life > 0 {
		fmt.Fprintf(&b, "\tif [ $t -ge %d ]; then exit 3; fi\n", p.life)
	}
	fmt.Fprintf(&b, "\tsleep %s\ndone\n", p.tick)
	return b.String()
}

// create makes a new service directory at dir for name.
func (g *registry) create(dir, name string, p profile, withLog bool) error {
	files := map[string]string{"run": runScript(g.l, name, p)}
	if p.finish {
		files["finish"] = "#!/bin/sh\necho \"finish " + name + " $1 $2\"\n"
	}
	if withLog {
		logdir := filepath.Join(g.l.logs, name)
		if err := os.MkdirAll(logdir, 0o755); err != nil {
			return err
		}
		// n0: svlogd keeps every old file, so a line missing is lost,
		// not rotated away; s: rotations happen within a minute.
		if err := os.WriteFile(filepath.Join(logdir, "config"), []byte("s200000\nn0\n"), 0o644); err != nil {
			return err
		}
		files["log/run"] = "#!/bin/sh\nexec svlogd -tt " + logdir + "\n"
	}
	if err := os.MkdirAll(filepath.Join(g.l.seq, name), 0o755); err != nil {
		return err
	}
	sub := dir
	if withLog {
		sub = filepath.Join(dir, "log")
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return err
	}
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, f), err)
		}
	}
	return nil
}

// add makes a new service and puts it in SVDIR: a directory moved in
// whole, or a symlink to one in the pool.
func (g *registry) add(r *rand.Rand, withLog bool) (*service, error) {
	g.mu.Lock()
	name := fmt.Sprintf("s%02d", g.next)
	g.next++
	g.mu.Unlock()
	s := &service{name: name, linked: r.IntN(2) == 0, hasLog: withLog, logKillable: r.IntN(2) == 0, profile: drawProfile(r)}
	dir := filepath.Join(g.l.staging, name)
	if s.linked {
		dir = filepath.Join(g.l.pool, name)
	}
	if err := g.create(dir, name, s.profile, withLog); err != nil {
		return nil, err
	}
	if err := g.putBack(s); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.svcs[name] = s
	g.mu.Unlock()
	return s, nil
}

// putBack puts s in SVDIR (again).
func (g *registry) putBack(s *service) error {
	in := filepath.Join(g.l.svdir, s.name)
	// The service is stopped, so its last run number is final.
	if last := g.lastRun(s.name); last > 0 {
		g.j.printf("putting back %s after run %d", s.name, last)
		g.addPipeEnd(s, last)
	}
	var err error
	if s.linked {
		err = os.Symlink(filepath.Join(g.l.pool, s.name), in)
	} else {
		from := filepath.Join(g.l.graveyard, s.name)
		if _, e := os.Stat(from); e != nil {
			from = filepath.Join(g.l.staging, s.name)
		}
		err = os.Rename(from, in)
	}
	if err != nil {
		return fmt.Errorf("adding %s: %w", in, err)
	}
	g.j.printf("added %s (symlink %v, log/ %v)", s.name, s.linked, s.hasLog)
	g.mu.Lock()
	s.present = true
	g.mu.Unlock()
	return nil
}

// remove takes s out of SVDIR: the symlink goes, or the directory moves to
// the graveyard, supervise/ and all.
func (g *registry) remove(s *service) error {
	in := filepath.Join(g.l.svdir, s.name)
	var err error
	if s.linked {
		err = os.Remove(in)
	} else {
		err = os.Rename(in, filepath.Join(g.l.graveyard, s.name))
	}
	if err != nil {
		return fmt.Errorf("removing %s: %w", in, err)
	}
	logState := "no log/"
	if s.hasLog {
		logState = "logger " + statusText(filepath.Join(s.dir(g.l), "log", "supervise"))
	}
	g.j.printf("removed %s; service %s, %s", s.name, statusText(filepath.Join(s.dir(g.l), "supervise")), logState)
	g.mu.Lock()
	s.present = false
	g.mu.Unlock()
	return nil
}

// list is a sorted copy of the services, present or not.
func (g *registry) list() []service {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]service, 0, len(g.svcs))
	for _, s := range g.svcs {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pick is a random service that is present (nil when none is).
func (g *registry) pick(r *rand.Rand) *service {
	g.mu.Lock()
	defer g.mu.Unlock()
	var in []*service
	for _, s := range g.svcs {
		if s.present {
			in = append(in, s)
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].name < in[j].name })
	if len(in) == 0 {
		return nil
	}
	return in[r.IntN(len(in))]
}

// lastRun is the number of the service's latest run (0: none yet).
func (g *registry) lastRun(name string) int {
	b, err := os.ReadFile(filepath.Join(g.l.seq, name, "id"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// addPipeEnd notes runs that may have been the last of a log pipe.
func (g *registry) addPipeEnd(s *service, runs ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range runs {
		if !slices.Contains(s.epochs, r) {
			s.epochs = append(s.epochs, r)
		}
	}
	slices.Sort(s.epochs)
}

func (g *registry) markLoggerKilled(s *service) {
	g.mu.Lock()
	s.loggerKilled = true
	g.mu.Unlock()
}

func (g *registry) counts() (present, absent int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.svcs {
		if s.present {
			present++
		} else {
			absent++
		}
	}
	return
}

// statusText is a status for the journal.
func statusText(superviseDir string) string {
	st, err := supervise.ReadStatus(superviseDir)
	if err != nil {
		return err.Error()
	}
	return describe(st)
}
