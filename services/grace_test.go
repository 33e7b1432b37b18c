package services

import (
	"strings"
	"testing"
	"time"
)

func TestParseGrace(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string // a part of the error; "" for none
	}{
		{"", DefaultGrace, ""},
		{"7", 7 * time.Second, ""},
		{" 2.5 ", 2500 * time.Millisecond, ""},
		{"0", 0, ""},
		{"1500ms", 1500 * time.Millisecond, ""},
		{"9e9", 9e9 * time.Second, ""},
		{"2562047h", 2562047 * time.Hour, ""},
		// Each of these overflowed to a negative grace: KILL at once.
		{"1e10", 0, `too long: "1e10"`},
		{"9.3e9", 0, "too long"},
		{"inf", 0, "too long"},
		{"+Inf", 0, "too long"},
		{"1e300", 0, "too long"},
		{"3000000h", 0, "not a duration"},
		{"nan", 0, "not a duration"},
		{"-1", 0, "not a duration"},
		{"-1s", 0, "not a duration"},
		{"soon", 0, `not a duration: "soon"`},
	} {
		got, err := ParseGrace(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseGrace(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseGrace(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		}
	}
}
