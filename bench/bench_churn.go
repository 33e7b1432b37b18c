package main

// Retained memory: a tree of 200 services after a run of sv commands and
// of services added one by one, against the same 200 started at once on
// an idle tree. vigil's sv drives vigil, runit's sv drives runit.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

func init() { register("churn", benchChurn) }

func benchChurn(e *Env) ([]Row, error) {
	const total, rounds = 200, 3
	supRaiseFiles()
	fl := buildFloors(filepath.Join(e.Tmp, "floor"))
	type client struct{ name, sv string }
	var peers []client
	peers = append(peers, client{"vigil", e.Vigil})
	if p := e.Peer("sv"); p != "" && supCheck(e, "runit") == nil {
		peers = append(peers, client{"runit", p})
	}
	fresh, churned := map[string][]float64{}, map[string][]float64{}
	for rep := range *flagReps {
		for _, p := range peers {
			root := filepath.Join(e.Tmp, fmt.Sprintf("fresh-%s-%d", p.name, rep))
			s, _, err := supLaunch(e, p.name, fl.Pause, root, total)
			if err != nil {
				return nil, err
			}
			waitQuiet(s, 5*time.Second)
			fresh[p.name] = append(fresh[p.name], float64(pssKiB(s.tree()...)))
			s.stop()
			os.RemoveAll(root)

			root = filepath.Join(e.Tmp, fmt.Sprintf("churn-%s-%d", p.name, rep))
			k, err := churn(e, p.name, p.sv, fl.Pause, root, total, rounds)
			if err != nil {
				// The tree's memory all the same: what it holds is
				// the figure, whether or not every service came back.
				fmt.Fprintf(e.Log, "churn: %s: %v\n", p.name, err)
			}
			churned[p.name] = append(churned[p.name], float64(k))
			os.RemoveAll(root)
			fmt.Fprintf(e.Log, "churn: rep %d: %s: fresh %.0f KiB, after churn %d KiB\n", rep, p.name, fresh[p.name][rep], k)
		}
	}
	var rows []Row
	for _, p := range peers {
		fmin, fmed := minMed(fresh[p.name])
		cmin, cmed := minMed(churned[p.name])
		rows = append(rows, Row{Metric: fmt.Sprintf("%s tree PSS, %d services, after sv commands and new services, against fresh (min of %d; medians %.3g vs %.3g MiB)", p.name, total, *flagReps, cmed/1024, fmed/1024),
			Unit: "MiB", Vigil: cmin / 1024, Peer: fmin / 1024, Name: p.name + " fresh", Goal: goalIf(p.name == "vigil", "within 5%")})
	}
	if len(peers) > 1 {
		cv, _ := minMed(churned["vigil"])
		cr, _ := minMed(churned["runit"])
		rows = append(rows, Row{Metric: fmt.Sprintf("tree PSS, %d services, after sv commands and new services (min of %d)", total, *flagReps), Unit: "MiB", Vigil: cv / 1024, Peer: cr / 1024, Name: "runit"})
	}
	return rows, nil
}

// churn starts half the services, adds the other half one by one, sends
// every service down, up and term with the peer's own sv, asks their
// status, waits until all run again and returns the tree's PSS in KiB.
func churn(e *Env, name, sv, pause, root string, total, rounds int) (int, error) {
	s, _, err := supLaunch(e, name, pause, root, total/2)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	stage := filepath.Join(root, "stage")
	if err := supServices(stage, pause, total/2, total-total/2); err != nil {
		return 0, err
	}
	for i := total / 2; i < total; i++ {
		n := fmt.Sprintf("s%05d", i)
		if err := os.Rename(filepath.Join(stage, n), filepath.Join(s.svdir, n)); err != nil {
			return 0, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := churnAllRun(s.svdir, total, nil); err != nil {
		return 0, fmt.Errorf("%s: new services: %w", name, err)
	}
	argv := func(args ...string) *exec.Cmd {
		if name == "vigil" {
			return exec.Command(sv, append([]string{"sv"}, args...)...)
		}
		return exec.Command(sv, args...)
	}
	for range rounds {
		for i := range total {
			n := filepath.Join(s.svdir, fmt.Sprintf("s%05d", i))
			for _, cmd := range []string{"down", "up", "term", "status"} {
				c := argv(cmd, n)
				if out, err := c.CombinedOutput(); err != nil {
					return 0, fmt.Errorf("%s sv %s %s: %v: %s", name, cmd, n, err, out)
				}
			}
		}
	}
	// A last up for every service: runsv ignores commands for the second
	// it sleeps after a fast exit.
	for i := range total {
		argv("up", filepath.Join(s.svdir, fmt.Sprintf("s%05d", i))).Run()
	}
	err = churnAllRun(s.svdir, total, nil)
	waitQuiet(s, 5*time.Second)
	if err != nil {
		err = fmt.Errorf("%s: after the sv commands: %w", name, err)
	}
	return pssKiB(s.tree()...), err
}

// churnAllRun waits until every service under svdir is up and wanted up.
func churnAllRun(svdir string, total int, _ []int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		up, first := 0, ""
		for i := range total {
			st, err := supervise.ReadStatus(filepath.Join(svdir, fmt.Sprintf("s%05d", i), "supervise"))
			if err == nil && st.State == supervise.Run && st.Pid != 0 {
				up++
			} else if first == "" {
				first = fmt.Sprintf("; s%05d: %+v %v", i, st, err)
			}
		}
		if up == total {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d services running after 2 minutes%s", up, total, first)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
