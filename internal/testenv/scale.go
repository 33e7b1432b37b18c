package testenv

import (
	"os"
	"strconv"
	"sync"
	"time"
)

// ScaleEnv names the one knob for slow machines: every deadline a test
// waits against is multiplied by it (default 1). The race detector makes
// everything several times slower, so a -race build multiplies it by
// raceFactor on top.
const ScaleEnv = "VIGIL_TEST_SCALE"

const raceFactor = 3

var scale = sync.OnceValue(func() float64 {
	f := 1.0
	if v, err := strconv.ParseFloat(os.Getenv(ScaleEnv), 64); err == nil && v > 0 {
		f = v
	}
	if raceEnabled {
		f *= raceFactor
	}
	return f
})

// Scale stretches a deadline for this machine: d times $VIGIL_TEST_SCALE,
// times raceFactor under -race. Deadlines only bound how long a test
// waits for something that must happen; none is a claim about speed
// (speed is for make bench), so stretching one never hides a bug.
func Scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * scale())
}

// Factor is what Scale multiplies by, for tests that stretch something
// other than a Duration (a grace period given in seconds).
func Factor() float64 { return scale() }
