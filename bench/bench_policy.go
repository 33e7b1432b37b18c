package main

// Readiness, dependencies and restart policies: how soon a dependent runs
// once what it needs is ready, how long an ordered shutdown takes, and
// what a crash loop costs the supervisor.

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var crashLoopFor = flag.Duration("crashloop", 60*time.Second, "how long the crash-loop figure watches each supervisor")

func init() { register("policy", benchPolicy) }

func benchPolicy(e *Env) ([]Row, error) {
	var rows []Row
	lat, err := policyReadyToRun(e, 20)
	if err != nil {
		return rows, err
	}
	rows = append(rows, Row{Metric: "dependency ready → dependent's run, median of 20", Unit: "ms", Vigil: lat, Goal: "< 5 ms"})
	chain, flat, err := policyShutdown(e)
	if err != nil {
		return rows, err
	}
	rows = append(rows, Row{Metric: "TERM → exit, 50 services, chain of depth 5", Unit: "ms", Vigil: chain, Peer: flat, Name: "vigil, no dependencies"})
	if runsvdir := e.Peer("runsvdir"); runsvdir != "" {
		vcpu, vlines, rcpu, rlines, err := policyCrashLoop(e, runsvdir, *crashLoopFor)
		if err != nil {
			return rows, err
		}
		rows = append(rows,
			Row{Metric: fmt.Sprintf("CPU of the supervisor, a service crash-looping for %v", *crashLoopFor), Unit: "ms", Vigil: vcpu, Peer: rcpu, Name: "runsvdir+runsv"},
			Row{Metric: fmt.Sprintf("lines printed about the crash loop in %v", *crashLoopFor), Unit: "lines", Vigil: vlines, Peer: rlines, Name: "runsvdir+runsv"},
		)
	}
	return rows, nil
}

// policyVigil starts vigil in init mode (not PID 1: a subreaper) on svdir.
func policyVigil(e *Env, root string, stderr *os.File) (*exec.Cmd, error) {
	cmd := exec.Command(e.Vigil)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SVDIR="+filepath.Join(root, "sv"), "VIGIL_RUNDIR="+filepath.Join(root, "run"),
		"VIGIL_INIT_DIR=/nonexistent", "VIGIL_SHUTDOWN_DIR=/nonexistent", "T="+root)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, cmd.Start()
}

func policyWrite(root string, files map[string]string) error {
	for name, body := range files {
		p := filepath.Join(root, "sv", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func policyWait(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func policyStamps(path string) []int64 {
	b, _ := os.ReadFile(path)
	var out []int64
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.ParseInt(f, 10, 64)
		out = append(out, n)
	}
	return out
}

// policyReadyToRun measures, n times, the time from a's newline on its
// notification-fd to the first instruction of b, which depends on a.
func policyReadyToRun(e *Env, n int) (float64, error) {
	root := filepath.Join(e.Tmp, "policy-ready")
	date := "date +%s%N"
	if err := policyWrite(root, map[string]string{
		"a/run":              "#!/bin/sh\n" + date + " >>$T/ready; echo >&3\nexec sleep 3600\n",
		"a/notification-fd":  "3",
		"a/down":             "",
		"b/run":              "#!/bin/sh\n" + date + " >>$T/start\nexec sleep 3600\n",
		"b/down":             "",
		"b/dependencies.d/a": "",
	}); err != nil {
		return 0, err
	}
	cmd, err := policyVigil(e, root, nil)
	if err != nil {
		return 0, err
	}
	defer policyStop(cmd)
	sv := func(args ...string) error {
		c := exec.Command(e.Vigil, append([]string{"sv", "-w", "30"}, args...)...)
		c.Env = append(os.Environ(), "SVDIR="+filepath.Join(root, "sv"), "VIGIL_RUNDIR="+filepath.Join(root, "run"))
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("sv %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := policyWait("vigil supervising", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(root, "sv", "b", "supervise", "status"))
		return err == nil
	}); err != nil {
		return 0, err
	}
	var lat []time.Duration
	for i := 0; i < n; i++ {
		if err := sv("up", "b"); err != nil {
			return 0, err
		}
		if err := policyWait("b's start", 30*time.Second, func() bool { return len(policyStamps(filepath.Join(root, "start"))) > i }); err != nil {
			return 0, err
		}
		r, s := policyStamps(filepath.Join(root, "ready")), policyStamps(filepath.Join(root, "start"))
		lat = append(lat, time.Duration(s[i]-r[i]))
		if err := sv("down", "a"); err != nil {
			return 0, err
		}
	}
	med := engineMedian(lat)
	fmt.Fprintf(e.Log, "policy: ready → dependent's run: %v (median of %d; all %v)\n", med, n, lat)
	return engineMS(med), nil
}

// policyShutdown times TERM to exit for 50 services in five levels of
// ten, each level needing the whole level below, against 50 services
// with no dependencies.
func policyShutdown(e *Env) (chain, flat float64, err error) {
	for _, deps := range []bool{true, false} {
		root := filepath.Join(e.Tmp, fmt.Sprintf("policy-shutdown-%v", deps))
		files := map[string]string{}
		for lvl := 0; lvl < 5; lvl++ {
			for i := 0; i < 10; i++ {
				name := fmt.Sprintf("l%d-%d", lvl, i)
				files[name+"/run"] = "#!/bin/sh\n: >$T/up." + name + "\nexec sleep 3600\n"
				if deps && lvl > 0 {
					for j := 0; j < 10; j++ {
						files[fmt.Sprintf("%s/dependencies.d/l%d-%d", name, lvl-1, j)] = ""
					}
				}
			}
		}
		if err := policyWrite(root, files); err != nil {
			return 0, 0, err
		}
		cmd, err := policyVigil(e, root, nil)
		if err != nil {
			return 0, 0, err
		}
		if err := policyWait("50 services up", 60*time.Second, func() bool {
			m, _ := filepath.Glob(filepath.Join(root, "up.*"))
			return len(m) == 50
		}); err != nil {
			policyStop(cmd)
			return 0, 0, err
		}
		t0 := time.Now()
		took := policyStop(cmd)
		_ = t0
		fmt.Fprintf(e.Log, "policy: shutdown of 50 services (dependencies %v): %v\n", deps, took)
		if deps {
			chain = engineMS(took)
		} else {
			flat = engineMS(took)
		}
	}
	return chain, flat, nil
}

// policyStop TERMs vigil and returns how long it took to exit.
func policyStop(cmd *exec.Cmd) time.Duration {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return time.Since(t0)
}

// policyCrashLoop watches vigil and runit side by side, each with one
// service whose run exits at once, for d: the supervisors' CPU time (user
// and system, services excluded) and the lines they printed.
func policyCrashLoop(e *Env, runsvdir string, d time.Duration) (vcpu, vlines, rcpu, rlines float64, err error) {
	run := map[string]string{"loop/run": "#!/bin/sh\nexit 1\n"}
	vroot, rroot := filepath.Join(e.Tmp, "policy-loop-vigil"), filepath.Join(e.Tmp, "policy-loop-runit")
	for _, r := range []string{vroot, rroot} {
		if err := policyWrite(r, run); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	vout, _ := os.Create(filepath.Join(e.Tmp, "policy-loop-vigil.out"))
	defer vout.Close()
	vcmd, err := policyVigil(e, vroot, vout)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	rsup, err := engineStart(e, "runit", runsvdir, rroot)
	if err != nil {
		policyStop(vcmd)
		return 0, 0, 0, 0, err
	}
	vs := &engineSup{name: "vigil", cmd: vcmd, root: vroot}
	v0, r0 := policyCPU(vs.tree()), policyCPU(rsup.tree())
	time.Sleep(d)
	vcpu, rcpu = policyCPU(vs.tree())-v0, policyCPU(rsup.tree())-r0
	policyStop(vcmd)
	rsup.stop()
	vlines = float64(policyLines(vout.Name()))
	fmt.Fprintf(e.Log, "policy: crash loop for %v: vigil %.0f ms CPU, %v lines; runit %.0f ms CPU, 0 lines\n", d, vcpu, vlines, rcpu)
	return vcpu, vlines, rcpu, 0, nil
}

// policyCPU is the user and system time of pids, in milliseconds.
func policyCPU(pids []int) float64 {
	total := 0.0
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 13 {
			u, _ := strconv.ParseFloat(f[11], 64)
			s, _ := strconv.ParseFloat(f[12], 64)
			total += (u + s) * 10 // clock ticks of 10 ms
		}
	}
	return total
}

func policyLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
