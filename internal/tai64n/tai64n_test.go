package tai64n

import (
	"testing"
	"time"
)

func TestFormatAndParse(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), "@400000000000000a00000000"},
		// From runit.md: status bytes 40000000 6b082791 0784b49c.
		{time.Unix(0x6b082791-10, 0x0784b49c), "@400000006b0827910784b49c"},
	} {
		if got := Format(tc.t); got != tc.want {
			t.Errorf("Format(%v) = %q; want %q", tc.t, got, tc.want)
		}
		if got := string(Append(nil, tc.t)); got != tc.want {
			t.Errorf("Append(%v) = %q; want %q", tc.t, got, tc.want)
		}
		back, err := Parse(tc.want)
		if err != nil || !back.Equal(tc.t) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.want, back, err, tc.t)
		}
	}
	for _, bad := range []string{"", "@", "400000000000000a00000000x", "@zz0000000000000a00000000"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil error; want an error", bad)
		}
	}
}
