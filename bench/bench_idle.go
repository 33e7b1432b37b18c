package main

// Idle wake-ups: every supervisor with 100 services, all at once, watched
// for -idle (3 minutes by default; a minute-long timer is missed by a
// shorter window). A wake-up is a context switch of any thread of the
// supervision tree (/proc/PID/task/*/status, voluntary and not), sampled
// every 10 s into a time series.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func init() { register("idle", benchIdle) }

func benchIdle(e *Env) ([]Row, error) {
	const services, step = 100, 10 * time.Second
	supRaiseFiles()
	fl := buildFloors(filepath.Join(e.Tmp, "floor"))
	names, why := supAvailable(e)
	var trees []*supTree
	defer func() {
		for _, s := range trees {
			s.stop()
		}
	}()
	for _, name := range names {
		s, took, err := supLaunch(e, name, fl.Pause, filepath.Join(e.Tmp, "idle-"+name), services)
		if err != nil {
			return nil, err
		}
		trees = append(trees, s)
		fmt.Fprintf(e.Log, "idle: %s: %d services running after %v\n", name, services, took)
	}
	// The floors beside them: the smallest C and Go programs that sleep in
	// epoll_wait, and the Go one with the collector off (GOGC=off: no
	// forced collection every two minutes).
	for _, f := range []struct{ name, path, env string }{
		{"C epoll_wait floor", fl.CIdle, ""}, {"Go epoll_wait floor", fl.GoIdle, ""}, {"Go floor, GOGC=off", fl.GoIdle, "GOGC=off"},
	} {
		if f.path == "" {
			continue
		}
		cmd := exec.Command(f.path)
		cmd.Env = append(os.Environ(), f.env)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		trees = append(trees, &supTree{name: f.name, cmd: cmd, root: filepath.Join(e.Tmp, "idle-floor")})
	}
	for _, s := range trees {
		waitQuiet(s, 10*time.Second)
	}
	window := *flagIdle
	samples := int(window / step)
	series := make([][]int64, len(trees))
	base := make([]int64, len(trees))
	for i, s := range trees {
		base[i] = switches(s.tree())
		series[i] = []int64{0}
	}
	t0 := time.Now()
	for k := 1; k <= samples; k++ {
		time.Sleep(time.Until(t0.Add(time.Duration(k) * step)))
		for i, s := range trees {
			series[i] = append(series[i], switches(s.tree())-base[i])
		}
	}
	var rows []Row
	perMin := map[string]float64{}
	minutes := map[string][]float64{}
	var plotted []plotSeries
	for i, s := range trees {
		ser := series[i]
		total := ser[len(ser)-1]
		perMin[s.name] = float64(total) / window.Minutes()
		per := int(time.Minute / step)
		for m := 0; (m+1)*per < len(ser); m++ {
			minutes[s.name] = append(minutes[s.name], float64(ser[(m+1)*per]-ser[m*per]))
		}
		fmt.Fprintf(e.Log, "idle: %s: wake-ups every %v: %v\n", s.name, step, ser)
		ps := plotSeries{Name: s.name}
		for k, v := range ser {
			ps.X = append(ps.X, (time.Duration(k) * step).Minutes())
			ps.Y = append(ps.Y, float64(v))
		}
		plotted = append(plotted, ps)
	}
	desc := fmt.Sprintf("idle wake-ups per minute, %d services, over %v", services, window)
	vmin, vmed := minMed(minutes["vigil"])
	for _, s := range trees[1:] {
		pmin, pmed := minMed(minutes[s.name])
		rows = append(rows, Row{Metric: fmt.Sprintf("%s (per whole minute: min %.4g/%.4g, median %.4g/%.4g)", desc, vmin, pmin, vmed, pmed),
			Unit: "/min", Vigil: perMin["vigil"], Peer: perMin[s.name], Name: s.name, Goal: "0"})
	}
	if len(trees) == 1 {
		rows = append(rows, Row{Metric: desc, Unit: "/min", Vigil: perMin["vigil"], Goal: "0"})
	}
	for name, w := range why {
		rows = append(rows, Row{Metric: "skipped: " + w, Name: name})
	}
	if err := writePlot(filepath.Join(*flagPlots, "idle.svg"), plot{
		Title:  "Idle supervisors, " + strconv.Itoa(services) + " services: wake-ups so far",
		XLabel: "minutes", YLabel: "context switches of the tree", Series: plotted,
	}); err != nil {
		fmt.Fprintf(e.Log, "idle: plot: %v\n", err)
	}
	return rows, nil
}
