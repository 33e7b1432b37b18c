package svlogd

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// Config files as users write them: the example ledger's, runit's
// documentation's (man svlogd), and the tricky lines of TestParseConfig.
var configSeeds = []string{
	"s1000000\nn10\n",
	"s100000\nn5\nN2\nt86400\n!gzip\n",
	"-*\n+*: error: *\ne*\n",
	"-*\n+*warning*\nE*\ne*: fatal: *\n",
	"u10.0.0.1\npweb: \n",
	"U127.0.0.1:5514\n",
	"s2k\nt2m\ns3m\nt2h\n",
	"#s5\n\n\x00s6\n",
	"n7\nn",
	"U1.2.3\nu1.2.3.4:0\nu1.2.3.4:65536\n",
	"+a+b\n-+x*\n",
	"-*\n+*: warning: *\ne*error*\nE*debug*\n",
	"s99999999999999999999m\n",
	"!gzip\n!\npweb: \np\n",
	"",
}

// FuzzParseConfig: a config, whatever it holds, parses to settings that
// read back the same when written out as a config again; warnings are
// runit's two; and a line is selected by the dir and by stderr with one
// of the verdicts runit has.
func FuzzParseConfig(f *testing.F) {
	for _, c := range configSeeds {
		f.Add([]byte(c), []byte("2026-11-26 web: error: disk full"))
	}
	f.Add([]byte("+x*\n"), []byte(""))
	f.Fuzz(func(t *testing.T, text, line []byte) {
		warn := func(msg, arg string) {
			if msg != "unable to scan ip address" && msg != "unable to scan port number" {
				t.Errorf("config %q: warning %q (%q) is not one of runit's", text, msg, arg)
			}
		}
		c := parseConfig(text, warn)
		if again := parseConfig(text, warn); !reflect.DeepEqual(again, c) {
			t.Fatalf("config %q parsed twice: %+v, then %+v", text, c, again)
		}
		out := formatConfig(c)
		back := parseConfig(out, func(msg, arg string) {
			t.Errorf("config %q written as %q: warning %s: %q", text, out, msg, arg)
		})
		if !reflect.DeepEqual(back, c) {
			t.Errorf("config %q parses to %+v;\nwritten as %q it parses to %+v", text, c, out, back)
		}
		dir, errs := c.match(line, 'x')
		if (dir != '+' && dir != '-') || (errs != 'e' && errs != 'E') {
			t.Errorf("config %q, line %q: verdicts %q %q; want + or -, e or E", text, line, dir, errs)
		}
	})
}

// formatConfig writes c as a config file that says exactly c.
func formatConfig(c config) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "s%d\nn%d\nN%d\nt%d\n", c.sizemax, c.nmax, c.nmin, c.tmax)
	if c.processor != "" {
		fmt.Fprintf(&b, "!%s\n", c.processor)
	}
	if c.prefix != nil {
		fmt.Fprintf(&b, "p%s\n", c.prefix)
	}
	if c.udp != nil {
		op := 'u'
		if c.udponly {
			op = 'U'
		}
		a, port := c.udp.Addr, c.udp.Port
		if port == 0 {
			// Port 0 is refused; a port that wraps to 0 in 16 bits, as
			// runit's htons wraps it, is not.
			port = 1 << 16
		}
		fmt.Fprintf(&b, "%c%d.%d.%d.%d:%d\n", op, a[0], a[1], a[2], a[3], port)
	}
	for _, in := range c.inst {
		fmt.Fprintf(&b, "%c%s\n", in.op, in.pat)
	}
	return b.Bytes()
}

// FuzzPmatch holds runit's pattern matcher to what its manual promises
// for the patterns it fully defines, and checks that the byte runit reads
// past the line matters only to '+'.
func FuzzPmatch(f *testing.F) {
	for _, p := range []string{"+x*", "+x", "x*", "*", "a*", "*a", "", "a+b", "+b", "*: error: *", "web*", "*: *: pid *"} {
		for _, s := range []string{"info", "", "xx", "x", "ab", "abb", "axb", "xa", "web: error: disk full", "tcpsvd: info: pid 1977 from 10.4.1.14"} {
			f.Add([]byte(p), []byte(s), byte('i'))
		}
	}
	f.Fuzz(func(t *testing.T, p, s []byte, stale byte) {
		got := pmatch(p, s, stale)
		if !bytes.ContainsAny(p, "*+") {
			if want := bytes.Equal(p, s); got != want {
				t.Errorf("pmatch(%q, %q) = %v; a pattern without * or + matches only itself", p, s, got)
			}
			// A final '*' matches the rest of the line.
			star := append(bytes.Clone(p), '*')
			if got, want := pmatch(star, s, stale), bytes.HasPrefix(s, p); got != want {
				t.Errorf("pmatch(%q, %q) = %v; want %v (a prefix and *)", star, s, got, want)
			}
		}
		if !bytes.ContainsRune(p, '+') {
			if other := pmatch(p, s, stale+1); other != got {
				t.Errorf("pmatch(%q, %q) = %v with stale byte %q and %v with %q; without '+' it must not matter",
					p, s, got, stale, other, stale+1)
			}
		}
		if !pmatch([]byte("*"), s, stale) {
			t.Errorf("pmatch(\"*\", %q) = false; * matches every line", s)
		}
	})
}
