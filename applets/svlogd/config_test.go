package svlogd

import (
	"fmt"
	"testing"
)

// TestParseConfig checks the numbers and suffixes runit accepts.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"", "s1000000 n10 N10 t0 ! p udp<nil> only=false"},
		{"s100\nn3\nN1\nt30\n", "s100 n3 N1 t30 ! p udp<nil> only=false"},
		{"s2k\nt2m\n", "s2048 n10 N10 t120 ! p udp<nil> only=false"},
		{"s3m\nt2h\n", "s3145728 n10 N10 t7200 ! p udp<nil> only=false"},
		{"s\nsx\n", "s0 n10 N10 t0 ! p udp<nil> only=false"},
		{"s12x\nn5junk\n", "s12 n5 N10 t0 ! p udp<nil> only=false"},
		{"!gzip\n!\npweb: \np\n", "s1000000 n10 N10 t0 !gzip pweb:  udp<nil> only=false"},
		{"u10.0.0.1\n", "s1000000 n10 N10 t0 ! p udp10.0.0.1:514 only=false"},
		{"U127.0.0.1:5514\n", "s1000000 n10 N10 t0 ! p udp127.0.0.1:5514 only=true"},
		{"U1.2.3\n", "s1000000 n10 N10 t0 ! p udp<nil> only=false"},
		{"n7\nn", "s1000000 n7 N10 t0 ! p udp<nil> only=false"}, // a last one-byte line is ignored, as in runit
		{"#s5\n\n\x00s6\n", "s1000000 n10 N10 t0 ! p udp<nil> only=false"},
	}
	for _, tt := range tests {
		c := parseConfig([]byte(tt.text), func(string, string) {})
		udp := "<nil>"
		if c.udp != nil {
			udp = fmt.Sprintf("%d.%d.%d.%d:%d", c.udp.Addr[0], c.udp.Addr[1], c.udp.Addr[2], c.udp.Addr[3], c.udp.Port)
		}
		got := fmt.Sprintf("s%d n%d N%d t%d !%s p%s udp%s only=%v", c.sizemax, c.nmax, c.nmin, c.tmax, c.processor, c.prefix, udp, c.udponly)
		if got != tt.want {
			t.Errorf("config %q: got %q; want %q", tt.text, got, tt.want)
		}
	}
}

// TestPmatch holds what Debian's svlogd selected with "-PATTERN" on the
// lines info, "", xx, x, ab, abb, b, bb, axb, xa (observed).
func TestPmatch(t *testing.T) {
	lines := []string{"info", "", "xx", "x", "ab", "abb", "b", "bb", "axb", "xa"}
	tests := []struct{ pat, matched string }{
		{"+x*", "xx x xa"},
		{"+x", "xx x"},
		{"x*", "xx x xa"},
		{"*", "info  xx x ab abb b bb axb xa"},
		{"a*", "ab abb axb"},
		{"*a", "xa"},
		{"", ""},
		{"a+b", "ab abb"},
		{"+b", "b bb"},
	}
	for _, tt := range tests {
		var got []string
		for _, l := range lines {
			if pmatch([]byte(tt.pat), []byte(l), 'i') {
				got = append(got, l)
			}
		}
		if s := fmt.Sprint(got); s != "["+tt.matched+"]" {
			t.Errorf("pattern %q matched %s; want [%s]", tt.pat, s, tt.matched)
		}
	}
}
