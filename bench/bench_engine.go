package main

// The supervision engine against Debian's runsvdir + runsv: memory of the
// supervision tree, start-up time, how fast a new service runs, and idle
// wake-ups.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() { register("engine", benchEngine) }

// engineSup is one supervision tree under test.
type engineSup struct {
	name string
	cmd  *exec.Cmd
	root string
}

func benchEngine(e *Env) ([]Row, error) {
	runsvdir := e.Peer("runsvdir")
	if runsvdir == "" {
		return nil, fmt.Errorf("Debian's runsvdir is not unpacked in %s", e.Peers)
	}
	// 10,000 services need 4 descriptors each in vigil (lock, control, ok
	// and the pidfd Go keeps for each child); raise the limit that vigil
	// inherits if we may (CAP_SYS_RESOURCE), else run as many as fit.
	big, why := 10000, ""
	lim := unix.Rlimit{Cur: 65536, Max: 65536}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
		if fit := (int(lim.Max) - 100) / 4 / 100 * 100; fit < big {
			big = fit
			why = fmt.Sprintf("; 10000 impossible here: 4 fds a service, RLIMIT_NOFILE hard %d, raising it: %v", lim.Max, err)
		}
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	var rows []Row
	type result struct {
		pss   float64 // MiB
		start time.Duration
		wake  float64
	}
	res := map[string]map[int]result{"vigil": {}, "runit": {}}
	for _, n := range []int{100, 1000} {
		for _, who := range []string{"vigil", "runit"} {
			root := filepath.Join(e.Tmp, fmt.Sprintf("%s-%d", who, n))
			sup, took, err := engineStartN(e, who, runsvdir, root, n)
			if err != nil {
				return rows, err
			}
			time.Sleep(time.Second) // let it settle
			r := result{start: took, pss: float64(sup.pss()) / 1024}
			if n == 100 {
				r.wake = float64(sup.ctxSwitches(10 * time.Second))
			}
			sup.stop()
			fmt.Fprintf(e.Log, "engine: %s %d services: up in %v, PSS %.2f MiB, %v switches/10s idle\n", who, n, took, r.pss, r.wake)
			res[who][n] = r
		}
	}
	v, p := res["vigil"], res["runit"]
	rows = append(rows,
		Row{Metric: "tree PSS, 100 services", Unit: "MiB", Vigil: v[100].pss, Peer: p[100].pss, Name: "runsvdir+runsv"},
		Row{Metric: "tree PSS, 1000 services", Unit: "MiB", Vigil: v[1000].pss, Peer: p[1000].pss, Name: "runsvdir+runsv", Goal: "≤ 1/10 of runit"},
		Row{Metric: "start to all running, 1000 services", Unit: "ms", Vigil: engineMS(v[1000].start), Peer: engineMS(p[1000].start), Name: "runsvdir+runsv"},
		Row{Metric: "idle wake-ups, 100 services, 10 s", Unit: "ctxsw", Vigil: v[100].wake, Peer: p[100].wake, Name: "runsvdir+runsv", Goal: "0"},
	)

	// 10,000 services (or as many as the descriptor limit allows), vigil only.
	root := filepath.Join(e.Tmp, fmt.Sprintf("vigil-%d", big))
	if sup, took, err := engineStartN(e, "vigil", runsvdir, root, big); err != nil {
		fmt.Fprintf(e.Log, "engine: %d services: %v\n", big, err)
	} else {
		time.Sleep(time.Second)
		pss := float64(sup.pss()) / 1024
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", sup.cmd.Process.Pid))
		sup.stop()
		fmt.Fprintf(e.Log, "engine: vigil %d services: up in %v, PSS %.2f MiB, %d fds%s\n", big, took, pss, len(fds), why)
		rows = append(rows,
			Row{Metric: fmt.Sprintf("tree PSS, %d services (vigil only%s)", big, why), Unit: "MiB", Vigil: pss, Name: "runit caps at 1000"},
			Row{Metric: fmt.Sprintf("start to all running, %d services (vigil only)", big), Unit: "ms", Vigil: engineMS(took), Name: "runit caps at 1000"},
		)
	}

	// A new service directory renamed into the watched one, to its run.
	vl, err := engineLatency(e, "vigil", runsvdir, filepath.Join(e.Tmp, "lat-vigil"), 21)
	if err != nil {
		return rows, err
	}
	rl, err := engineLatency(e, "runit", runsvdir, filepath.Join(e.Tmp, "lat-runit"), 3)
	if err != nil {
		return rows, err
	}
	rows = append(rows, Row{Metric: fmt.Sprintf("new service to run, median (vigil %d, runit %d samples)", len(vl), len(rl)),
		Unit: "ms", Vigil: engineMS(engineMedian(vl)), Peer: engineMS(engineMedian(rl)), Name: "runsvdir+runsv", Goal: "< 20 ms"})
	return rows, nil
}

func engineMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func engineMedian(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// engineStartN makes n services that each create a marker and sleep, starts
// the supervisor on them and waits until every marker exists.
func engineStartN(e *Env, who, runsvdir, root string, n int) (*engineSup, time.Duration, error) {
	sv, marks := filepath.Join(root, "sv"), filepath.Join(root, "marks")
	for _, d := range []string{sv, marks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, 0, err
		}
	}
	run := []byte("#!/bin/sh\n: >\"$MARKS/${PWD##*/}\"\nexec sleep 3600\n")
	for i := 0; i < n; i++ {
		d := filepath.Join(sv, fmt.Sprintf("s%05d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, 0, err
		}
		if err := os.WriteFile(filepath.Join(d, "run"), run, 0o755); err != nil {
			return nil, 0, err
		}
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, marks, unix.IN_CREATE); err != nil {
		return nil, 0, err
	}
	sup, err := engineStart(e, who, runsvdir, root, "MARKS="+marks)
	if err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	seen := 0
	deadline := t0.Add(2 * time.Minute)
	for seen < n {
		if time.Now().After(deadline) {
			sup.stop()
			return nil, 0, fmt.Errorf("%s: only %d of %d services running after 2 minutes", who, seen, n)
		}
		k, err := engineInotifyCount(in, time.Second)
		if err != nil {
			sup.stop()
			return nil, 0, err
		}
		seen += k
	}
	return sup, time.Since(t0), nil
}

// engineInotifyCount waits up to timeout for events and returns how many came.
func engineInotifyCount(fd int, timeout time.Duration) (int, error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, int(timeout/time.Millisecond))
	if err == unix.EINTR || n == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var buf [64 << 10]byte
	m, err := unix.Read(fd, buf[:])
	if err != nil {
		return 0, err
	}
	count := 0
	for off := 0; off+unix.SizeofInotifyEvent <= m; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			return 0, fmt.Errorf("inotify queue overflow")
		}
		count++
		off += unix.SizeofInotifyEvent + int(ev.Len)
	}
	return count, nil
}

func engineStart(e *Env, who, runsvdir, root string, env ...string) (*engineSup, error) {
	var cmd *exec.Cmd
	if who == "vigil" {
		cmd = exec.Command(e.Vigil, "runsvdir", "sv")
		env = append(env, "VIGIL_GRACE=3s")
	} else {
		cmd = exec.Command(runsvdir, "sv")
		env = append(env, "PATH="+filepath.Dir(runsvdir)+":"+os.Getenv("PATH"))
	}
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &engineSup{name: who, cmd: cmd, root: root}, nil
}

// tree is the supervisor's pids: vigil's one process, or runsvdir and
// every runsv it started. The services are not counted.
func (s *engineSup) tree() []int {
	pids := []int{s.cmd.Process.Pid}
	if s.name == "vigil" {
		return pids
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(s.cmd.Process.Pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pss is the tree's proportional set size in KiB.
func (s *engineSup) pss() int {
	total := 0
	for _, pid := range s.tree() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				k, _ := strconv.Atoi(f[1])
				total += k
			}
		}
	}
	return total
}

// ctxSwitches counts the context switches of every thread of the tree
// over d.
func (s *engineSup) ctxSwitches(d time.Duration) int {
	pids := s.tree()
	count := func() int {
		total := 0
		for _, pid := range pids {
			tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			for _, t := range tasks {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
				for _, line := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(line, "voluntary_ctxt_switches:") || strings.HasPrefix(line, "nonvoluntary_ctxt_switches:") {
						k, _ := strconv.Atoi(strings.TrimSpace(line[strings.IndexByte(line, ':')+1:]))
						total += k
					}
				}
			}
		}
		return total
	}
	before := count()
	time.Sleep(d)
	return count() - before
}

// stop ends the tree and everything under root: vigil by TERM (it stops its
// services), runit by HUP and then KILL for what runsv left.
func (s *engineSup) stop() {
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	sig := syscall.SIGTERM
	if s.name == "runit" {
		sig = syscall.SIGHUP
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	// Whatever is left working under root.
	for range 50 {
		left := 0
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd"); err == nil && strings.HasPrefix(cwd, s.root+"/") {
				syscall.Kill(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// engineLatency renames n new service directories, one at a time, into a
// watched directory and times each until its run has made its marker.
func engineLatency(e *Env, who, runsvdir, root string, n int) ([]time.Duration, error) {
	sv, marks, stage := filepath.Join(root, "sv"), filepath.Join(root, "marks"), filepath.Join(root, "stage")
	for _, d := range []string{sv, marks, stage} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, marks, unix.IN_CREATE); err != nil {
		return nil, err
	}
	sup, err := engineStart(e, who, runsvdir, root, "MARKS="+marks)
	if err != nil {
		return nil, err
	}
	defer sup.stop()
	time.Sleep(500 * time.Millisecond) // up and watching
	run := []byte("#!/bin/sh\n: >\"$MARKS/${PWD##*/}\"\nexec sleep 3600\n")
	var out []time.Duration
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("new%03d", i)
		d := filepath.Join(stage, name)
		os.Mkdir(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, "run"), run, 0o755); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := os.Rename(d, filepath.Join(sv, name)); err != nil {
			return nil, err
		}
		got := 0
		for got == 0 && time.Since(t0) < 30*time.Second {
			if got, err = engineInotifyCount(in, time.Second); err != nil {
				return nil, err
			}
		}
		if got == 0 {
			return nil, fmt.Errorf("%s: new service %s did not run within 30s", who, name)
		}
		out = append(out, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(e.Log, "engine: %s new service to run: %v\n", who, out)
	return out, nil
}
