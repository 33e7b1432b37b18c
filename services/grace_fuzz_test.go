package services_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-init/vigil/services"
)

// FuzzParseGrace: a grace period that parses is never negative (a negative
// one makes a shutdown KILL everything at once), it survives being printed
// and read back, a number of seconds means that many seconds, and an error
// names what it could not read.
func FuzzParseGrace(f *testing.F) {
	// What users write for -g and VIGIL_GRACE (README, init's usage), and
	// what broke it: 1e10 and inf seconds overflowed to a negative grace.
	for _, s := range []string{
		"", "7", "7s", "2.5", "1500ms", "0", "0s", " 10 ", "1h30m", "10m",
		"-1", "-2s", "abc", "1e10", "inf", "+Inf", "9.3e9", "9223372036", "NaN",
		"0x1p4", "1_000", "2562047h47m16.854775807s", "2562047h47m16.854775808s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := services.ParseGrace(s)
		if err != nil {
			trimmed := strings.TrimSpace(s)
			if msg := err.Error(); !strings.Contains(msg, strconv.Quote(trimmed)) && !strings.Contains(msg, trimmed) {
				t.Errorf("ParseGrace(%q) error %q does not name the input", s, msg)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseGrace(%q) = %v, nil; want a grace >= 0 or an error", s, d)
		}
		if strings.TrimSpace(s) == "" && d != services.DefaultGrace {
			t.Errorf("ParseGrace(%q) = %v; want the default %v", s, d, services.DefaultGrace)
		}
		if back, err := services.ParseGrace(d.String()); err != nil || back != d {
			t.Errorf("ParseGrace(%q) = %v, but ParseGrace(%q) = %v, %v; want it back", s, d, d.String(), back, err)
		}
		// A number of seconds small enough to be a Duration is that many
		// seconds, to the precision of a float64.
		if secs, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && secs >= 0 && secs < 9e9 {
			want := secs * 1e9
			if diff := math.Abs(float64(d) - want); diff > 1+want*1e-15 {
				t.Errorf("ParseGrace(%q) = %v (%d ns); want %g ns", s, d, int64(d), want)
			}
		}
	})
}
