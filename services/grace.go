package services

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultGrace is how long a shutdown waits between TERM and KILL. It
// leaves three seconds of Docker's ten for finish scripts, loggers and the
// final KILL.
const DefaultGrace = 7 * time.Second

// ParseGrace reads a grace period (VIGIL_GRACE, init's -g): a Go duration
// ("7s", "1500ms") or a number of seconds ("7", "2.5"). Empty means
// DefaultGrace.
func ParseGrace(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultGrace, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		// float64(math.MaxInt64) rounds up to 2^63, so a product equal
		// to it already overflows: "inf" and "1e10" would wrap negative
		// and turn the grace period into an immediate KILL.
		if ns := f * float64(time.Second); ns < float64(math.MaxInt64) {
			return time.Duration(ns), nil
		}
		return 0, fmt.Errorf("too long: %q (at most %v)", s, time.Duration(math.MaxInt64).Truncate(time.Second))
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	return d, nil
}
