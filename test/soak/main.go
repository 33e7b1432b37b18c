// Command soak runs vigil as PID 1 of a fresh PID namespace, supervising
// services that write numbered lines (some through svlogd), and for a
// while sends them random sv commands from concurrent clients (vigil's sv
// and Debian's), KILLs services and loggers from outside, and adds and
// removes service directories. At the end it asks every service for a
// last state and checks what must hold whatever happened before: no
// zombie, no orphan, every service and logger in the state asked for, no
// log line lost where only TERM reached the logger, vigil's memory and
// descriptors flat. It prints a summary and exits 1 naming each invariant
// that failed.
//
//	go run ./test/soak -vigil bin/vigil -peers .cache/peers -time 10m
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	vigil    string
	peers    string
	duration time.Duration
	services int
	clients  int
	seed     uint64
	dir      string
	keep     bool
	summary  string
}

func main() {
	var o options
	flag.StringVar(&o.vigil, "vigil", "bin/vigil", "the static vigil binary (make build)")
	flag.StringVar(&o.peers, "peers", ".cache/peers", "Debian's packages unpacked by scripts/peers.sh; Debian's sv is usr/bin/sv there")
	flag.DurationVar(&o.duration, "time", 10*time.Minute, "how long the random phase lasts")
	flag.IntVar(&o.services, "services", 20, "services to keep about (a quarter more or fewer while directories come and go)")
	flag.IntVar(&o.clients, "clients", 4, "concurrent sv clients")
	flag.Uint64Var(&o.seed, "seed", 0, "random seed (0: from the clock); printed in the summary")
	flag.StringVar(&o.dir, "dir", "", "scratch directory (default: a new one in $TMPDIR, removed after a pass)")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory after a pass")
	flag.StringVar(&o.summary, "summary", "", "also write the summary to this file")
	flag.Parse()
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	os.Exit(run(o, os.Stdout, os.Stderr))
}

func run(o options, stdout, stderr io.Writer) int {
	vigil, err := filepath.Abs(o.vigil)
	if err == nil {
		_, err = os.Stat(vigil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "soak: %s: %v (make build makes it)\n", o.vigil, err)
		return 2
	}
	if why := nsRefused(); why != "" {
		fmt.Fprintf(stdout, "soak: skipped: PID namespaces are refused here: %s\n", why)
		return 0
	}
	top := o.dir
	if top == "" {
		if top, err = os.MkdirTemp("", "vigil-soak-"); err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 2
		}
	}
	l, err := newLayout(top)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	if out, err := exec.Command(vigil, "--install", l.bin).CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "soak: %s --install %s: %v: %s\n", vigil, l.bin, err, out)
		return 2
	}
	r := rand.New(rand.NewPCG(o.seed, 14))
	tools := []svTool{{"vigil", filepath.Join(l.bin, "sv")}}
	debianSv := filepath.Join(o.peers, "usr", "bin", "sv")
	toolNote := "vigil's and Debian's (" + debianSv + ")"
	if _, err := os.Stat(debianSv); err == nil {
		abs, _ := filepath.Abs(debianSv)
		tools = append(tools, svTool{"debian", abs})
	} else {
		toolNote = "vigil's only: Debian's is not at " + debianSv + " (sh scripts/peers.sh unpacks it)"
	}
	jf, err := os.Create(filepath.Join(top, "journal"))
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	defer jf.Close()
	j := &journal{w: jf, start: time.Now()}
	reg := &registry{j: j, l: l, svcs: make(map[string]*service)}
	initial := make(map[string]bool)
	for i := range o.services {
		s, err := reg.add(r, i%5 < 3)
		if err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 2
		}
		initial[s.name] = true
	}
	path := l.bin + ":/usr/local/bin:/usr/bin:/bin"
	env := []string{
		"PATH=" + path,
		"SVDIR=" + l.svdir,
		"VIGIL_RUNDIR=" + filepath.Join(top, "run"),
		"VIGIL_INIT_DIR=" + filepath.Join(top, "no-init.d"),
		"VIGIL_SHUTDOWN_DIR=" + filepath.Join(top, "no-shutdown.d"),
	}
	vout, err1 := os.Create(filepath.Join(top, "vigil.stdout"))
	verr, err2 := os.Create(filepath.Join(top, "vigil.stderr"))
	if err1 != nil || err2 != nil {
		fmt.Fprintf(stderr, "soak: %v %v\n", err1, err2)
		return 2
	}
	const grace = 30 * time.Second
	ns, err := startInit(vigil, []string{"-g", "30"}, env, vout, verr)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	s := &soak{j: j, l: l, reg: reg, ns: ns, tools: tools, n: o.services, tally: newTally(), hangFor: 60 * time.Second,
		env: []string{"PATH=" + path, "SVDIR=" + l.svdir}}
	defer func() {
		select {
		case <-ns.done:
		default:
			ns.kill()
		}
	}()
	vigilSv := tools[0]

	fmt.Fprintf(stderr, "soak: vigil is pid %d, scratch %s, seed %d; waiting for %d services to run\n", ns.pid, top, o.seed, o.services)
	if problems := s.allUp(vigilSv); len(problems) > 0 {
		fmt.Fprintf(stderr, "soak: the services did not start: %s\n", strings.Join(problems, "; "))
		return 2
	}
	baseline := s.quietUsage(3*time.Second, 0)

	var samples []sample
	var sampleMu sync.Mutex
	start := time.Now()
	every := min(max(o.duration/20, 2*time.Second), 30*time.Second)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	goes := func(f func(*rand.Rand, <-chan struct{})) {
		seed := r.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(rand.New(rand.NewPCG(seed, 1)), stop)
		}()
	}
	for range o.clients {
		goes(s.client)
	}
	goes(s.killer)
	goes(s.churn)
	samplerDone := make(chan struct{})
	go func() {
		s.sampler(start, every, stop, &samples, &sampleMu)
		close(samplerDone)
	}()
	fmt.Fprintf(stderr, "soak: random phase for %v\n", o.duration)
	select {
	case <-time.After(o.duration):
	case <-ns.done:
	}
	close(stop)
	wg.Wait()
	<-samplerDone
	elapsed := time.Since(start)

	var verdicts []verdict
	fail := func(name string, ok bool, detail string) {
		verdicts = append(verdicts, verdict{name, ok, detail})
	}
	select {
	case <-ns.done:
		fail("vigil ran through the soak", false, fmt.Sprintf("vigil exited during the random phase: %v", ns.state))
		return report(o, stdout, s, toolNote, elapsed, samples, verdicts)
	default:
	}

	fmt.Fprintf(stderr, "soak: asking every service for its last state\n")
	j.printf("random phase over; last states follow")
	if missing := s.waitSupervised(time.Now().Add(60 * time.Second)); len(missing) > 0 {
		fail("every service in SVDIR supervised", false, fmt.Sprintf("%d not within 60s%s", len(missing), bullet(missing)))
	}
	want := s.settle(r, vigilSv)
	stateFails, checked := s.stateFailures(want, time.Now().Add(60*time.Second))
	present, absent := reg.counts()
	fail("every service and logger in the state last asked for", len(stateFails) == 0,
		fmt.Sprintf("%d checked (%d services present, %d removed)%s", checked, present, absent, bullet(stateFails)))
	zombies, orphans := s.waitStrays(time.Now().Add(60 * time.Second))
	fail("0 zombies in the namespace", len(zombies) == 0, fmt.Sprintf("%d left%s", len(zombies), bullet(procLines(zombies))))
	fail("0 orphans (processes outside the session of a running service or logger)", len(orphans) == 0,
		fmt.Sprintf("%d left%s", len(orphans), bullet(procLines(orphans))))

	fmt.Fprintf(stderr, "soak: restoring the first %d services, all up, to compare descriptors\n", o.services)
	restoreProblems := s.restore(initial, vigilSv)
	end := s.quietUsage(30*time.Second, baseline.fds)
	s.takeSample(start, &samples, &sampleMu)
	fdDetail := fmt.Sprintf("%d before the random phase, %d after it, the same %d services up", baseline.fds, end.fds, o.services)
	if end.fds != baseline.fds {
		fdDetail += ": " + fdDiff(end.links, baseline.links)
	}
	fail(fmt.Sprintf("the first %d services back in SVDIR and up", o.services), len(restoreProblems) == 0,
		fmt.Sprintf("%d problems%s", len(restoreProblems), bullet(restoreProblems)))
	fail("vigil's descriptors flat", end.fds == baseline.fds, fdDetail)
	// The Go heap grows for about two minutes under this load before it
	// levels off (at about 9 MiB for 20 services); a shorter run is not
	// judged, rather than judged on its growth.
	rssOK, rssDetail := rssFlat(samples, 2*time.Minute)
	fail("vigil's RSS flat after warm-up", rssOK, rssDetail)

	fmt.Fprintf(stderr, "soak: TERM to vigil\n")
	tStop := time.Now()
	syscall.Kill(ns.pid, syscall.SIGTERM)
	select {
	case <-ns.done:
		code := ns.state.ExitCode()
		fail("vigil exits 0 on TERM within its grace", code == 0, fmt.Sprintf("exit %d after %v (grace %v)", code, time.Since(tStop).Round(time.Millisecond), grace))
	case <-time.After(grace + 30*time.Second):
		fail("vigil exits 0 on TERM within its grace", false, fmt.Sprintf("still running %v after TERM", grace+30*time.Second))
		ns.kill()
	}

	lines, runs, lossyLost, lossySvcs, checkedSvcs := 0, 0, 0, 0, 0
	var logFails []string
	for _, svc := range reg.list() {
		if !svc.hasLog {
			continue
		}
		recs, err := readLogDir(filepath.Join(l.logs, svc.name), svc.name)
		if err != nil {
			logFails = append(logFails, err.Error())
			continue
		}
		v := checkLog(recs, readRecorded(filepath.Join(l.seq, svc.name)), svc.epochs, svc.present)
		lines += v.lines
		runs += v.runs
		if svc.loggerKilled {
			lossySvcs++
			lossyLost += v.lost
			continue
		}
		checkedSvcs++
		for _, p := range v.problems {
			logFails = append(logFails, svc.name+": "+p)
		}
	}
	fail("no log line lost from services whose logger was only TERMed", len(logFails) == 0,
		fmt.Sprintf("%d services checked, %d runs, %d lines in all; %d services left out (logger KILLed), missing %d lines%s",
			checkedSvcs, runs, lines, lossySvcs, lossyLost, bullet(logFails)))

	hung, panics := 0, 0
	for _, k := range s.tally.keys("sv ") {
		if strings.HasSuffix(k, " hung") {
			hung += s.tally.get(k)
		}
		if strings.HasSuffix(k, " panic") {
			panics += s.tally.get(k)
		}
	}
	fail("every sv ended within its -w (plus a minute) and none panicked", hung+panics == 0,
		fmt.Sprintf("%d hung, %d panicked%s", hung, panics, bullet(s.tally.notes)))
	b, _ := os.ReadFile(filepath.Join(top, "vigil.stderr"))
	fail("vigil's stderr holds no panic", !strings.Contains(string(b), "panic:"), fmt.Sprintf("%d bytes in %s", len(b), filepath.Join(top, "vigil.stderr")))

	code := report(o, stdout, s, toolNote, elapsed, samples, verdicts)
	if code == 0 && o.dir == "" && !o.keep {
		os.RemoveAll(top)
	} else {
		fmt.Fprintf(stderr, "soak: files kept in %s\n", top)
	}
	return code
}
