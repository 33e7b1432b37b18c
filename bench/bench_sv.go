package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

func init() { register("sv", benchSv) }

// benchSv compares vigil's sv with Debian's, both driving the same
// supervisors (Debian's runsv, so that only the clients differ):
//
//   - sv restart: wall time until sv returns with a new process running
//     (a runit sv that returns before that, as it can, is charged until
//     the new process does run);
//   - sv status on 100 services: one invocation, mostly process start.
func benchSv(e *Env) ([]Row, error) {
	debSv, runsv := e.Peer("sv"), e.Peer("runsv")
	if debSv == "" || runsv == "" {
		return nil, errors.New("Debian's sv and runsv are not unpacked; run scripts/peers.sh")
	}
	vigil := func(args ...string) *exec.Cmd { return exec.Command(e.Vigil, append([]string{"sv"}, args...)...) }
	debian := func(args ...string) *exec.Cmd { return exec.Command(debSv, args...) }

	restartV, restartD, early, err := benchRestart(e, runsv, vigil, debian)
	if err != nil {
		return nil, err
	}
	statusV, statusD, err := benchStatus(e, vigil, debian)
	if err != nil {
		return nil, err
	}
	rows := []Row{
		{Metric: "sv restart until the new process runs (median, Debian's runsv)", Unit: "ms",
			Vigil: restartV, Peer: restartD, Name: "runit sv", Goal: "≥ 20×"},
		{Metric: "sv status, 100 services, one call (median)", Unit: "ms",
			Vigil: statusV, Peer: statusD, Name: "runit sv", Goal: "≥ 0.5× (within 2×)"},
	}
	fmt.Fprintf(e.Log, "bench sv: runit's sv returned before the restart had happened %d times\n", early)
	return rows, nil
}

func benchRestart(e *Env, runsv string, vigil, debian func(...string) *exec.Cmd) (v, d float64, early int, err error) {
	const services, rounds = 4, 8
	svdir := filepath.Join(e.Tmp, "restart")
	var sups []*exec.Cmd
	defer func() {
		for _, c := range sups {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	}()
	for i := range services {
		dir := filepath.Join(svdir, fmt.Sprintf("s%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
			return 0, 0, 0, err
		}
		c := exec.Command(runsv, dir)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			return 0, 0, 0, err
		}
		sups = append(sups, c)
	}
	// runsv sleeps a second after an exit when the process ran for less
	// than a second: restart each service only after it has run longer.
	ready := func(dir string) (supervise.Status, error) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			st, err := supervise.ReadStatus(filepath.Join(dir, "supervise"))
			if err == nil && st.State == supervise.Run && st.Pid != 0 && time.Since(st.Since) > 1100*time.Millisecond {
				return st, nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return supervise.Status{}, fmt.Errorf("%s did not come up", dir)
	}
	var tv, td []float64
	n := 0
	for range rounds {
		for _, client := range []func(...string) *exec.Cmd{vigil, debian} {
			name := fmt.Sprintf("s%d", n%services)
			n++
			dir := filepath.Join(svdir, name)
			pre, err := ready(dir)
			if err != nil {
				return 0, 0, 0, err
			}
			cmd := client("restart", name)
			cmd.Env = append(os.Environ(), "SVDIR="+svdir)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				return 0, 0, 0, fmt.Errorf("sv restart: %v: %s", err, out)
			}
			st, _ := supervise.ReadStatus(filepath.Join(dir, "supervise"))
			if st.Pid == pre.Pid || st.State != supervise.Run {
				early++
				deadline := time.Now().Add(10 * time.Second)
				for st.Pid == pre.Pid || st.State != supervise.Run {
					if time.Now().After(deadline) {
						return 0, 0, 0, fmt.Errorf("%s did not restart", name)
					}
					time.Sleep(time.Millisecond)
					st, _ = supervise.ReadStatus(filepath.Join(dir, "supervise"))
				}
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			if n%2 == 1 {
				tv = append(tv, ms)
			} else {
				td = append(td, ms)
			}
		}
	}
	return median(tv), median(td), early, nil
}

func benchStatus(e *Env, vigil, debian func(...string) *exec.Cmd) (v, d float64, err error) {
	const services, rounds = 100, 40
	svdir := filepath.Join(e.Tmp, "status")
	names := make([]string, services)
	for i := range services {
		names[i] = fmt.Sprintf("s%d", i)
		dir := filepath.Join(svdir, names[i])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, 0, err
		}
		// The bench holds each supervise/ itself: a supervisor that only
		// has to be alive, and the same one for both clients.
		sd, err := supervise.Open(dir)
		if err != nil {
			return 0, 0, err
		}
		defer sd.Close()
		st := supervise.Status{Since: time.Now(), Pid: 1000 + i, Want: supervise.WantUp, State: supervise.Run}
		if err := sd.Write(st, true); err != nil {
			return 0, 0, err
		}
	}
	var tv, td []float64
	for range rounds {
		for i, client := range []func(...string) *exec.Cmd{vigil, debian} {
			cmd := client(append([]string{"status"}, names...)...)
			cmd.Env = append(os.Environ(), "SVDIR="+svdir)
			start := time.Now()
			out, err := cmd.Output()
			if err != nil {
				return 0, 0, fmt.Errorf("sv status: %v: %s", err, out)
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			if i == 0 {
				tv = append(tv, ms)
			} else {
				td = append(td, ms)
			}
		}
	}
	return median(tv), median(td), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
