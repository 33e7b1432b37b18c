package svlogd

import (
	"testing"
	"time"
)

// TestStampsStrictlyIncreasing: lines read at the same instant, and lines
// read after the clock stepped back, get stamps one nanosecond apart; a
// clock that moves on is followed again.
func TestStampsStrictlyIncreasing(t *testing.T) {
	base := time.Date(2026, 12, 7, 1, 2, 3, 999_999_998, time.UTC)
	reads := []time.Time{
		base, base, base, // one read, three lines
		base.Add(-time.Hour),  // the clock stepped back
		base.Add(time.Second), // and moved on
	}
	cases := []struct {
		kind int
		want []string
	}{
		{1, []string{
			"@400000006b1605953b9ac9fe ", "@400000006b1605953b9ac9ff ", "@400000006b16059600000000 ",
			"@400000006b16059600000001 ", "@400000006b1605963b9ac9fe ",
		}},
		{2, []string{
			"2026-12-07_01:02:03.99999 ", "2026-12-07_01:02:03.99999 ", "2026-12-07_01:02:04.00000 ",
			"2026-12-07_01:02:04.00000 ", "2026-12-07_01:02:04.99999 ",
		}},
		{3, []string{
			"2026-12-07T01:02:03.99999 ", "2026-12-07T01:02:03.99999 ", "2026-12-07T01:02:04.00000 ",
			"2026-12-07T01:02:04.00000 ", "2026-12-07T01:02:04.99999 ",
		}},
	}
	for _, tc := range cases {
		s := stamper{kind: tc.kind}
		for i, at := range reads {
			if got := string(s.next(nil, at)); got != tc.want[i] {
				t.Errorf("kind %d, line %d: got %q; want %q", tc.kind, i, got, tc.want[i])
			}
		}
	}
}
