package main

import (
	"fmt"
	"os/exec"
	"slices"
	"time"
)

// chpst is on the path of every service start (`exec chpst -u app ...`),
// and vigil's pays Go's start-up: measure whole-process time.
func init() { register("chpst", benchChpst) }

func benchChpst(e *Env) ([]Row, error) {
	peer := e.Peer("chpst")
	if peer == "" {
		return nil, fmt.Errorf("Debian's chpst is not unpacked in %s", e.Peers)
	}
	args := []string{"-u", "nobody", "-o", "1024", "/bin/true"}
	cmds := []struct {
		name string
		argv []string
	}{
		{"vigil", append([]string{e.Vigil, "chpst"}, args...)},
		{"runit", append([]string{peer}, args...)},
		{"true", []string{"/bin/true"}},
	}
	for _, c := range cmds {
		if out, err := exec.Command(c.argv[0], c.argv[1:]...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%q: %v: %s", c.argv, err, out)
		}
	}
	const runs = 400
	times := make([][]float64, len(cmds))
	for i := 0; i < runs; i++ {
		for j, c := range cmds { // interleaved, so load changes hit all alike
			start := time.Now()
			if err := exec.Command(c.argv[0], c.argv[1:]...).Run(); err != nil {
				return nil, fmt.Errorf("%q: %v", c.argv, err)
			}
			times[j] = append(times[j], float64(time.Since(start).Microseconds())/1000)
		}
	}
	med := make([]float64, len(cmds))
	mean := make([]float64, len(cmds))
	for j := range cmds {
		slices.Sort(times[j])
		med[j] = times[j][runs/2]
		for _, v := range times[j] {
			mean[j] += v
		}
		mean[j] /= runs
	}
	w := fmt.Sprintf("chpst -u nobody -o 1024 /bin/true, %d runs", runs)
	return []Row{
		{Metric: w + ", median wall time", Unit: "ms", Vigil: med[0], Peer: med[1], Name: "runit chpst"},
		{Metric: w + ", mean wall time", Unit: "ms", Vigil: mean[0], Peer: mean[1], Name: "runit chpst"},
		{Metric: w + ", median time added to /bin/true alone", Unit: "ms", Vigil: med[0] - med[2], Peer: med[1] - med[2], Name: "runit chpst"},
	}, nil
}
