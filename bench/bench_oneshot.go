package main

// One-shot commands against their C peers and the floors, all interleaved
// in one loop so that load changes hit every command alike: /bin/true, the
// C and Go programs that exit at once, `vigil -V`, `sv status` of one
// service (vigil's and runit's), and `chpst -u nobody /bin/true`.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

func init() { register("oneshot", benchOneshot) }

func benchOneshot(e *Env) ([]Row, error) {
	fl := buildFloors(filepath.Join(e.Tmp, "floor"))
	bin, _, err := privateCopy(filepath.Join(e.Tmp, "priv"), os.Environ(), e.Vigil)
	if err != nil {
		return nil, err
	}
	vigil := filepath.Join(bin, filepath.Base(e.Vigil))
	// One service whose supervise/ the bench holds, as a live supervisor
	// would: the same for both clients.
	svdir := filepath.Join(e.Tmp, "sv")
	dir := filepath.Join(svdir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sd, err := supervise.Open(dir)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	if err := sd.Write(supervise.Status{Since: time.Now(), Pid: os.Getpid(), Want: supervise.WantUp, State: supervise.Run}, true); err != nil {
		return nil, err
	}
	type command struct {
		name string
		argv []string
	}
	cmds := []command{
		{"/bin/true", []string{"/bin/true"}},
		{"vigil -V", []string{vigil, "-V"}},
		{"vigil sv status", []string{vigil, "sv", "status", "web"}},
		{"vigil chpst", []string{vigil, "chpst", "-u", "nobody", "/bin/true"}},
	}
	if fl.CExit != "" {
		cmds = append(cmds, command{"C exit", []string{fl.CExit}})
	}
	if fl.GoExit != "" {
		cmds = append(cmds, command{"Go exit", []string{fl.GoExit}})
	}
	if fl.GoLink != "" {
		cmds = append(cmds, command{"Go exit, linked", []string{fl.GoLink}})
	}
	if p := e.Peer("sv"); p != "" {
		cmds = append(cmds, command{"runit sv status", []string{p, "status", "web"}})
	}
	if p := e.Peer("chpst"); p != "" {
		cmds = append(cmds, command{"runit chpst", []string{p, "-u", "nobody", "/bin/true"}})
	}
	env := append(os.Environ(), "SVDIR="+svdir)
	for _, c := range cmds {
		cmd := exec.Command(c.argv[0], c.argv[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil && c.name != "vigil -V" {
			return nil, fmt.Errorf("%q: %v: %s", c.argv, err, out)
		}
	}
	times := map[string][]float64{}
	for range *flagRuns {
		for _, c := range cmds {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Env = env
			start := time.Now()
			cmd.Run()
			times[c.name] = append(times[c.name], float64(time.Since(start).Microseconds())/1000)
		}
	}
	mn := func(name string) float64 { m, _ := minMed(times[name]); return m }
	md := func(name string) float64 { _, m := minMed(times[name]); return m }
	for _, c := range cmds {
		fmt.Fprintf(e.Log, "oneshot: %s: min %.3f ms, median %.3f ms\n", c.name, mn(c.name), md(c.name))
	}
	runs := fmt.Sprintf("median of %d interleaved (min %%.3g vs %%.3g ms)", *flagRuns)
	row := func(metric, v, p, peerName, goal string) Row {
		return Row{Metric: metric + ", " + fmt.Sprintf(runs, mn(v), mn(p)), Unit: "ms", Vigil: md(v), Peer: md(p), Name: peerName, Goal: goal}
	}
	var rows []Row
	if len(times["runit sv status"]) > 0 {
		rows = append(rows, row("sv status of one service", "vigil sv status", "runit sv status", "runit sv", "≤ 1.05× the Go floor"))
	}
	if len(times["Go exit"]) > 0 {
		rows = append(rows,
			row("sv status of one service", "vigil sv status", "Go exit", "Go floor (exits at once)", "≤ 1.05×"),
			row("vigil -V", "vigil -V", "Go exit", "Go floor (exits at once)", "≤ 1.05×"),
		)
	}
	if len(times["Go exit, linked"]) > 0 {
		// What the standard packages cost a Go start-up, and what
		// vigil adds to that.
		rows = append(rows,
			row("vigil -V", "vigil -V", "Go exit, linked", "Go floor linking vigil's standard packages", ""),
			row("sv status of one service", "vigil sv status", "Go exit, linked", "Go floor linking vigil's standard packages", ""),
		)
		if len(times["Go exit"]) > 0 {
			rows = append(rows, row("Go floor linking vigil's standard packages", "Go exit, linked", "Go exit", "Go floor (exits at once)", ""))
		}
	}
	rows = append(rows, row("vigil -V", "vigil -V", "/bin/true", "/bin/true", ""))
	if len(times["C exit"]) > 0 {
		rows = append(rows, row("vigil -V", "vigil -V", "C exit", "C floor (exits at once)", ""))
		if len(times["Go exit"]) > 0 {
			rows = append(rows, row("Go floor", "Go exit", "C exit", "C floor (exits at once)", ""))
		}
	}
	if len(times["runit chpst"]) > 0 {
		rows = append(rows, row("chpst -u nobody /bin/true", "vigil chpst", "runit chpst", "runit chpst", ""))
	}
	if len(times["Go exit"]) > 0 && len(times["C exit"]) > 0 {
		// The floor of a Go chpst: Go's own start-up plus the exec of
		// /bin/true (its time alone less a process's bare cost).
		floor := md("Go exit") + md("/bin/true") - md("C exit")
		rows = append(rows, Row{Metric: fmt.Sprintf("chpst -u nobody /bin/true, median of %d, against Go floor + /bin/true − C floor", *flagRuns),
			Unit: "ms", Vigil: md("vigil chpst"), Peer: floor, Name: "Go floor plus the exec", Goal: "≤ 1.05×"})
	}
	return rows, nil
}
