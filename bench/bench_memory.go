package main

// Memory of every supervisor against the number of services, and the time
// from launch to all services running, against the floors: the smallest C
// and Go programs that sleep in epoll_wait, and a C loop that forks and
// execs the same services.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() { register("memory", benchMemory) }

func benchMemory(e *Env) ([]Row, error) {
	supRaiseFiles()
	fl := buildFloors(filepath.Join(e.Tmp, "floor"))
	names, why := supAvailable(e)
	var ns []int
	for _, s := range strings.Split(*flagServices, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			ns = append(ns, n)
		}
	}
	big := ns[len(ns)-1]
	pss := map[string]map[int][]float64{} // KiB
	launch := map[string][]float64{}      // ms, at the largest n
	floorPSS := map[string][]float64{}    // KiB
	for _, name := range names {
		pss[name] = map[int][]float64{}
	}
	run := 0
	for rep := range *flagReps {
		// The floors, in the same run.
		for _, f := range []struct{ name, path string }{{"C epoll_wait", fl.CIdle}, {"Go epoll_wait", fl.GoIdle}} {
			if f.path == "" {
				continue
			}
			k, err := floorIdlePSS(filepath.Join(e.Tmp, fmt.Sprintf("floor-%d", run)), f.path)
			run++
			if err != nil {
				return nil, err
			}
			floorPSS[f.name] = append(floorPSS[f.name], float64(k))
		}
		if fl.CSpawn != "" {
			// Bare, and holding the four descriptors a service that vigil
			// holds (lock, control, ok, pidfd), which every fork copies
			// and every exec closes.
			for _, f := range []struct {
				name string
				fds  int
			}{{"C fork+exec loop", 0}, {"C fork+exec loop, 4 fds a service", 4 * big}} {
				ms, err := floorSpawn(e, fl, filepath.Join(e.Tmp, fmt.Sprintf("spawn-%d-%d", rep, f.fds)), big, f.fds)
				if err != nil {
					return nil, err
				}
				launch[f.name] = append(launch[f.name], ms)
			}
		}
		for _, n := range ns {
			for _, name := range names {
				root := filepath.Join(e.Tmp, fmt.Sprintf("%s-%d-%d", name, n, rep))
				s, took, err := supLaunch(e, name, fl.Pause, root, n)
				if err != nil {
					return nil, err
				}
				waitQuiet(s, 5*time.Second)
				k := pssKiB(s.tree()...)
				s.stop()
				os.RemoveAll(root)
				pss[name][n] = append(pss[name][n], float64(k))
				if n == big {
					launch[name] = append(launch[name], float64(took.Microseconds())/1000)
				}
				fmt.Fprintf(e.Log, "memory: rep %d: %s, %d services: PSS %d KiB, all running after %v\n", rep, name, n, k, took)
			}
		}
	}

	var rows []Row
	add := func(r Row) { rows = append(rows, r) }
	med := func(xs []float64) float64 { _, m := minMed(xs); return m }
	mn := func(xs []float64) float64 { m, _ := minMed(xs); return m }
	mib := func(k float64) float64 { return k / 1024 }
	reps := fmt.Sprintf("min of %d", *flagReps)
	for _, n := range ns {
		for _, name := range names[1:] {
			add(Row{Metric: fmt.Sprintf("supervisor PSS, %s (%s; median %.3g vs %.3g MiB)", services(n), reps, mib(med(pss["vigil"][n])), mib(med(pss[name][n]))),
				Unit: "MiB", Vigil: mib(mn(pss["vigil"][n])), Peer: mib(mn(pss[name][n])), Name: name, Goal: goalIf(n == 1, "≤ 2.0 MiB")})
		}
	}
	for f, ks := range floorPSS {
		add(Row{Metric: fmt.Sprintf("supervisor PSS, 1 service, against the %s floor (%s)", f, reps), Unit: "MiB", Vigil: mib(mn(pss["vigil"][1])), Peer: mib(mn(ks)), Name: f + " floor"})
	}
	if len(ns) >= 2 {
		lo, hi := ns[len(ns)-2], big
		per := func(name string) float64 {
			return (mn(pss[name][hi]) - mn(pss[name][lo])) / float64(hi-lo)
		}
		for _, name := range names[1:] {
			add(Row{Metric: fmt.Sprintf("PSS per added service, %d → %d", lo, hi), Unit: "KiB", Vigil: per("vigil"), Peer: per(name), Name: name, Goal: "≤ 4 KiB"})
		}
	}
	ms := func(name string) (float64, float64) { return minMed(launch[name]) }
	vmin, vmed := ms("vigil")
	if c := launch["C fork+exec loop"]; len(c) > 0 {
		for _, f := range []string{"C fork+exec loop", "C fork+exec loop, 4 fds a service"} {
			cmin, cmed := ms(f)
			add(Row{Metric: fmt.Sprintf("launch → %d services running (%s; medians %.4g vs %.4g ms)", big, reps, vmed, cmed), Unit: "ms", Vigil: vmin, Peer: cmin, Name: f, Goal: goalIf(f == "C fork+exec loop", "≤ 2× the C floor")})
		}
	} else {
		fmt.Fprintf(e.Log, "memory: no C floor: %s\n", fl.WhyC)
	}
	for _, name := range names[1:] {
		pmin, pmed := ms(name)
		add(Row{Metric: fmt.Sprintf("launch → %d services running (%s; medians %.4g vs %.4g ms)", big, reps, vmed, pmed), Unit: "ms", Vigil: vmin, Peer: pmin, Name: name})
	}
	for name, w := range why {
		add(Row{Metric: "skipped: " + w, Name: name})
	}

	// Memory against n, log-log, every supervisor and the floors.
	var series []plotSeries
	for _, name := range names {
		s := plotSeries{Name: name}
		for _, n := range ns {
			s.X = append(s.X, float64(n))
			s.Y = append(s.Y, mib(mn(pss[name][n])))
		}
		series = append(series, s)
	}
	for _, f := range []string{"C epoll_wait", "Go epoll_wait"} {
		if ks := floorPSS[f]; len(ks) > 0 {
			series = append(series, plotSeries{Name: f + " floor", X: []float64{float64(ns[0]), float64(big)}, Y: []float64{mib(mn(ks)), mib(mn(ks))}, Dashed: true})
		}
	}
	if err := writePlot(filepath.Join(*flagPlots, "memory.svg"), plot{
		Title: "PSS of the supervision tree against services (min of " + strconv.Itoa(*flagReps) + ")", XLabel: "services", YLabel: "PSS, MiB", LogX: true, LogY: true, Series: series,
	}); err != nil {
		fmt.Fprintf(e.Log, "memory: plot: %v\n", err)
	}
	return rows, nil
}

func services(n int) string {
	if n == 1 {
		return "1 service"
	}
	return fmt.Sprintf("%d services", n)
}

func goalIf(b bool, goal string) string {
	if b {
		return goal
	}
	return ""
}

// waitQuiet waits until the tree has made no context switch for a second
// (start-up done), or for at most d.
func waitQuiet(s *supTree, d time.Duration) {
	deadline := time.Now().Add(d)
	last := switches(s.tree())
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		now := switches(s.tree())
		if now == last {
			return
		}
		last = now
	}
}

// floorIdlePSS runs a private copy of an idle floor program and returns its
// PSS once it sleeps.
func floorIdlePSS(dir, prog string) (int, error) {
	bin, _, err := privateCopy(dir, os.Environ(), prog)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(filepath.Join(bin, filepath.Base(prog)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for procState(cmd.Process.Pid) != "S" || !inEpollWait(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not go to sleep", prog)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return pssKiB(cmd.Process.Pid), nil
}

// inEpollWait says whether any thread of pid sleeps in epoll_wait (the
// syscall number in /proc/PID/task/*/syscall: 232 epoll_wait, 281
// epoll_pwait, 441 epoll_pwait2 on amd64; elsewhere any sleep will do).
func inEpollWait(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			return true // not readable: do not wait for it
		}
		switch strings.Fields(string(b) + " x")[0] {
		case "232", "281", "441":
			return true
		}
	}
	return len(tasks) == 0
}

// floorSpawn times the C fork+exec loop from its start until n services'
// marks exist.
func floorSpawn(e *Env, fl *floors, root string, n, fds int) (float64, error) {
	svdir, marks := filepath.Join(root, "sv"), filepath.Join(root, "marks")
	os.MkdirAll(marks, 0o755)
	if err := supServices(svdir, fl.Pause, 0, n); err != nil {
		return 0, err
	}
	args := make([]string, n)
	for i := range n {
		args[i] = filepath.Join(svdir, fmt.Sprintf("s%05d", i))
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return 0, err
	}
	defer unix.Close(in)
	unix.InotifyAddWatch(in, marks, unix.IN_CREATE)
	cmd := exec.Command(fl.CSpawn, args...)
	cmd.Env = append(os.Environ(), "MARKS="+marks, fmt.Sprintf("SPAWN_FDS=%d", fds))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		sweep(root)
		os.RemoveAll(root)
	}()
	for seen := 0; seen < n; {
		if time.Since(t0) > time.Minute {
			return 0, fmt.Errorf("C spawn floor: %d of %d running after a minute", seen, n)
		}
		k, err := engineInotifyCount(in, time.Second)
		if err != nil {
			return 0, err
		}
		seen += k
	}
	return float64(time.Since(t0).Microseconds()) / 1000, nil
}
