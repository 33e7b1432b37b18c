package main

// Init mode against tini and Debian's runsvdir, each as PID 1 of its own
// PID namespace (unshare --pid --fork --mount-proc; needs root).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// initBenchHelper, set in the environment, makes this program a main
// command inside a namespace instead of the bench.
const initBenchHelper = "VIGIL_BENCH_INIT_HELPER"

func init() {
	register("init", benchInit)
	if os.Getenv(initBenchHelper) == "orphans" {
		os.Exit(initOrphanBursts(os.Args[1:]))
	}
}

func benchInit(e *Env) ([]Row, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("init: needs root for PID namespaces")
	}
	// vigil picks init mode from the name it is called by.
	vigil := filepath.Join(e.Tmp, "vigil")
	if err := os.Symlink(e.Vigil, vigil); err != nil {
		return nil, err
	}
	var rows []Row
	var errs []error
	add := func(r []Row, err error) {
		rows = append(rows, r...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(initBenchShutdown(e, vigil))
	add(initBenchIdle(e, vigil))
	add(initBenchOrphans(e, vigil))
	add(initBenchExec(e, vigil))
	return rows, errors.Join(errs...)
}

// initNS starts argv as PID 1 of a new PID namespace.
func initNS(argv []string, env []string) (*exec.Cmd, error) {
	cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, cmd.Start()
}

// initChildren lists the children of pid (every thread's).
func initChildren(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// initPid waits for the init that unshare forked.
func initPid(unshare *exec.Cmd) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if kids := initChildren(unshare.Process.Pid); len(kids) > 0 {
			return kids[0], nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, errors.New("init did not start under unshare")
}

func initWaitFiles(dir, prefix string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		m, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
		if len(m) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d %s files after %v", len(m), n, prefix, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func initMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// initServiceDir makes n services. Each marks itself up, and on TERM
// records that it got it and exits at once.
func initServiceDir(dir, state string, n int) error {
	for i := range n {
		svc := filepath.Join(dir, fmt.Sprintf("s%03d", i))
		if err := os.MkdirAll(svc, 0o755); err != nil {
			return err
		}
		run := fmt.Sprintf(`#!/bin/sh
trap 'kill $! 2>/dev/null; echo s%03[1]d >> %[2]s/termed; exit 0' TERM
sleep 100000 &
touch %[2]s/up.s%03[1]d
wait
`, i, state)
		if err := os.WriteFile(filepath.Join(svc, "run"), []byte(run), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// initBenchShutdown: 50 services that exit promptly on TERM; the time from
// SIGTERM to the init's exit, and how many services got TERM (the rest
// were SIGKILLed by the kernel when their init exited).
func initBenchShutdown(e *Env, vigil string) ([]Row, error) {
	const n, reps = 50, 3
	runsvdir := e.Peer("runsvdir")
	type result struct{ ms, graceful, overhead []float64 }
	var v, d result
	run := func(argv []string, path string, res *result, rep int) error {
		base := filepath.Join(e.Tmp, fmt.Sprintf("shutdown-%s-%d", filepath.Base(argv[0]), rep))
		sv, state := filepath.Join(base, "sv"), filepath.Join(base, "state")
		if err := os.MkdirAll(state, 0o755); err != nil {
			return err
		}
		if err := initServiceDir(sv, state, n); err != nil {
			return err
		}
		cmd, err := initNS(append(argv, sv), []string{"PATH=" + path, "VIGIL_RUNDIR=" + filepath.Join(base, "run")})
		if err != nil {
			return err
		}
		defer cmd.Process.Kill()
		pid, err := initPid(cmd)
		if err != nil {
			return err
		}
		if err := initWaitFiles(state, "up.", n, 20*time.Second); err != nil {
			return fmt.Errorf("%s: %w", argv[0], err)
		}
		start := time.Now()
		syscall.Kill(pid, syscall.SIGTERM)
		cmd.Wait()
		end := time.Now()
		res.ms = append(res.ms, float64(end.Sub(start).Microseconds())/1000)
		b, _ := os.ReadFile(filepath.Join(state, "termed"))
		res.graceful = append(res.graceful, float64(bytes.Count(b, []byte("\n"))))
		// The overhead: from the last service's TERM handler (its
		// write to termed) to the init's exit.
		if st, err := os.Stat(filepath.Join(state, "termed")); err == nil {
			res.overhead = append(res.overhead, float64(end.Sub(st.ModTime()).Microseconds())/1000)
		}
		return nil
	}
	sysPath := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for rep := range reps {
		if err := run([]string{vigil, "-q", "-g", "7", "-s"}, sysPath, &v, rep); err != nil {
			return nil, err
		}
		if runsvdir != "" {
			// runsvdir execs runsv from PATH.
			if err := run([]string{runsvdir, "-P"}, filepath.Dir(runsvdir)+":"+sysPath, &d, rep); err != nil {
				return nil, err
			}
		}
	}
	fmt.Fprintf(e.Log, "init: shutdown of %d services: vigil %v ms (%v after the last TERM handler), %v graceful; runsvdir %v ms, %v graceful\n", n, v.ms, v.overhead, v.graceful, d.ms, d.graceful)
	return []Row{
		{Metric: "shutdown of 50 services: SIGTERM to exit", Unit: "ms", Vigil: initMedian(v.ms), Peer: initMedian(d.ms), Name: "runsvdir", Goal: "< 100 ms overhead"},
		{Metric: "shutdown of 50 services: last service's TERM handler to exit", Unit: "ms", Vigil: initMedian(v.overhead), Goal: "< 100 ms"},
		{Metric: "shutdown of 50 services: stopped by TERM", Unit: "of 50", Vigil: initMedian(v.graceful), Peer: initMedian(d.graceful), Name: "runsvdir", Higher: true, Goal: "all 50"},
	}, nil
}

// initProcStats sums VmRSS (kB), threads and context switches of pids.
func initProcStats(pids []int) (rssKB, threads, switches int64) {
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			x, _ := strconv.ParseInt(f[0], 10, 64)
			switch k {
			case "VmRSS":
				rssKB += x
			case "Threads":
				threads += x
			}
		}
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, line := range strings.Split(string(b), "\n") {
				k, v, _ := strings.Cut(line, ":")
				if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
					x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					switches += x
				}
			}
		}
	}
	return
}

// initSupervisors is init's pid and, for runsvdir, its runsv children:
// the supervision tree, not the services.
func initSupervisors(pid int) []int {
	pids := []int{pid}
	for _, k := range initChildren(pid) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", k)); strings.TrimSpace(string(comm)) == "runsv" {
			pids = append(pids, k)
		}
	}
	return pids
}

// initBenchIdle: resident memory, threads and wake-ups over 10 s of an
// idle init with 0 and with 100 services; all four run at once.
func initBenchIdle(e *Env, vigil string) ([]Row, error) {
	const window = 10 * time.Second
	runsvdir := e.Peer("runsvdir")
	sysPath := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	type run struct {
		name     string
		services int
		cmd      *exec.Cmd
		pid      int
		state    string
		rss, thr int64
		sw0, sw1 int64
	}
	var runs []*run
	for _, services := range []int{0, 100} {
		for _, name := range []string{"vigil", "runsvdir"} {
			if name == "runsvdir" && runsvdir == "" {
				continue
			}
			base := filepath.Join(e.Tmp, fmt.Sprintf("idle-%s-%d", name, services))
			sv, state := filepath.Join(base, "sv"), filepath.Join(base, "state")
			os.MkdirAll(sv, 0o755)
			os.MkdirAll(state, 0o755)
			if err := initServiceDir(sv, state, services); err != nil {
				return nil, err
			}
			argv, path := []string{vigil, "-q", "-s", sv}, sysPath
			if name == "runsvdir" {
				argv, path = []string{runsvdir, "-P", sv}, filepath.Dir(runsvdir)+":"+sysPath
			}
			cmd, err := initNS(argv, []string{"PATH=" + path, "VIGIL_RUNDIR=" + filepath.Join(base, "run")})
			if err != nil {
				return nil, err
			}
			defer cmd.Process.Kill()
			pid, err := initPid(cmd)
			if err != nil {
				return nil, err
			}
			runs = append(runs, &run{name: name, services: services, cmd: cmd, pid: pid, state: state})
		}
	}
	for _, r := range runs {
		if err := initWaitFiles(r.state, "up.", r.services, 30*time.Second); err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
	}
	time.Sleep(time.Second) // let start-up settle
	for _, r := range runs {
		_, _, r.sw0 = initProcStats(initSupervisors(r.pid))
	}
	time.Sleep(window)
	for _, r := range runs {
		r.rss, r.thr, r.sw1 = initProcStats(initSupervisors(r.pid))
	}
	var rows []Row
	for _, services := range []int{0, 100} {
		var v, d *run
		for _, r := range runs {
			if r.services == services {
				if r.name == "vigil" {
					v = r
				} else {
					d = r
				}
			}
		}
		if d == nil {
			d = &run{}
		}
		goalRSS, goalWake := "", ""
		if services == 0 {
			goalRSS, goalWake = "< 3 MB", "0"
		}
		rows = append(rows,
			Row{Metric: fmt.Sprintf("idle, %d services: resident memory of the supervisors", services), Unit: "MB", Vigil: float64(v.rss) / 1024, Peer: float64(d.rss) / 1024, Name: "runsvdir+runsv", Goal: goalRSS},
			Row{Metric: fmt.Sprintf("idle, %d services: threads", services), Unit: "threads", Vigil: float64(v.thr), Peer: float64(d.thr), Name: "runsvdir+runsv"},
			Row{Metric: fmt.Sprintf("idle, %d services: wake-ups in %v", services, window), Unit: "switches", Vigil: float64(v.sw1 - v.sw0), Peer: float64(d.sw1 - d.sw0), Name: "runsvdir+runsv", Goal: goalWake},
		)
	}
	return rows, nil
}

// initOrphanBursts is a main command: args[0] bursts of args[1] orphans,
// each burst forked by a shell that exits at once (so they are reparented
// to PID 1), all blocked on one pipe until every one is adopted, then
// released together. It prints the total time from each release to the
// moment no process but PID 1 and itself is left, in microseconds.
func initOrphanBursts(args []string) int {
	bursts, _ := strconv.Atoi(args[0])
	n, _ := strconv.Atoi(args[1])
	self := os.Getpid()
	count := func() (others, adopted int) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == 1 || pid == self {
				continue
			}
			others++
			b, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
			if i := bytes.LastIndexByte(b, ')'); i > 0 {
				if f := strings.Fields(string(b[i+1:])); len(f) > 1 && f[1] == "1" {
					adopted++
				}
			}
		}
		return
	}
	var total time.Duration
	for range bursts {
		r, w, err := os.Pipe()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		spawn := exec.Command("/bin/sh", "-c", `i=0; while [ $i -lt $1 ]; do (read x <&3) & i=$((i+1)); done`, "sh", strconv.Itoa(n))
		spawn.ExtraFiles = []*os.File{r}
		if err := spawn.Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		r.Close()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, adopted := count(); adopted >= n {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintln(os.Stderr, "orphans were not adopted by PID 1")
				return 2
			}
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		w.Close()
		for {
			if others, _ := count(); others == 0 {
				break
			}
			if time.Since(start) > 30*time.Second {
				fmt.Fprintln(os.Stderr, "orphans left unreaped")
				return 1
			}
		}
		total += time.Since(start)
	}
	fmt.Println(total.Microseconds())
	return 0
}

// initBenchOrphans: 10,000 orphans exiting in bursts of 1,000; the time
// until all are reaped, vigil against tini.
func initBenchOrphans(e *Env, vigil string) ([]Row, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tini := e.Peer("tini")
	measure := func(init ...string) (float64, error) {
		var out bytes.Buffer
		cmd := exec.Command("unshare", append(append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, init...), self, "10", "1000")...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", initBenchHelper + "=orphans", "SVDIR=/nonexistent", "VIGIL_RUNDIR=" + filepath.Join(e.Tmp, "orphans-run")}
		cmd.Stdout = &out
		cmd.Stderr = e.Log
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%s: %w", init[0], err)
		}
		us, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
		return us / 1000, err
	}
	v, err := measure(vigil, "-q", "--")
	if err != nil {
		return nil, err
	}
	var d float64
	if tini != "" {
		if d, err = measure(tini, "-s", "--"); err != nil {
			return nil, err
		}
	}
	return []Row{{Metric: "10,000 orphans in bursts of 1,000: time to reap all", Unit: "ms", Vigil: v, Peer: d, Name: "tini"}}, nil
}

// initBenchExec: `vigil -- /bin/true` against `tini -- /bin/true`, run
// alternately, as plain processes (vigil becomes a subreaper).
func initBenchExec(e *Env, vigil string) ([]Row, error) {
	const runs = 300
	tini := e.Peer("tini")
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SVDIR=/nonexistent", "VIGIL_RUNDIR=" + filepath.Join(e.Tmp, "exec-run")}
	one := func(argv ...string) (time.Duration, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		start := time.Now()
		err := cmd.Run()
		return time.Since(start), err
	}
	var v, d, bare []float64
	for range runs {
		t, err := one(vigil, "-q", "--", "/bin/true")
		if err != nil {
			return nil, fmt.Errorf("vigil -- /bin/true: %w", err)
		}
		v = append(v, float64(t.Microseconds())/1000)
		if tini != "" {
			t, err := one(tini, "-s", "--", "/bin/true")
			if err != nil {
				return nil, fmt.Errorf("tini -s -- /bin/true: %w", err)
			}
			d = append(d, float64(t.Microseconds())/1000)
		}
		t, err = one("/bin/true")
		if err != nil {
			return nil, err
		}
		bare = append(bare, float64(t.Microseconds())/1000)
	}
	b := initMedian(bare)
	fmt.Fprintf(e.Log, "init: exec medians: vigil %.3f ms, tini %.3f ms, /bin/true alone %.3f ms\n", initMedian(v), initMedian(d), b)
	return []Row{
		{Metric: "INIT -- /bin/true, median of 300", Unit: "ms", Vigil: initMedian(v), Peer: initMedian(d), Name: "tini"},
		{Metric: "INIT -- /bin/true minus /bin/true alone", Unit: "ms", Vigil: initMedian(v) - b, Peer: initMedian(d) - b, Name: "tini"},
	}, nil
}
