package main

import (
	"flag"
	"slices"
)

// The repetitions and windows of the side-by-side suites.
var (
	flagReps     = flag.Int("reps", 3, "repetitions of each interleaved memory and launch measurement")
	flagIdle     = flag.Duration("idle", 3*60e9, "how long the idle supervisors are watched for wake-ups (at least 3m for the table)")
	flagRuns     = flag.Int("runs", 300, "interleaved runs of each one-shot command")
	flagPlots    = flag.String("plots", "bench/plots", "where the SVG plots are written")
	flagServices = flag.String("n", "1,10,100,1000", "service counts of the memory suite")
)

// minMed is the minimum and the median of xs.
func minMed(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[0], s[len(s)/2]
}
