package svlogd

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzParseConfig: any config parses without a panic, and writing back
// what was understood (numbers, processor, prefix, patterns) and parsing
// that gives the same configuration.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		"", "s100\nn3\nN1\nt30\n", "s2k\nt2m\n", "s3m\nt2h\n", "!gzip\n!\npweb: \np\n",
		"u10.0.0.1\n", "U127.0.0.1:5514\n", "U1.2.3\n", "n7\nn", "#s5\n\n\x00s6\n",
		"-*\n+*: warning: *\ne*error*\nE*debug*\n", "s99999999999999999999m\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		c := parseConfig(text, func(string, string) {})
		var b bytes.Buffer
		fmt.Fprintf(&b, "s%d\nn%d\nN%d\nt%d\n", c.sizemax, c.nmax, c.nmin, c.tmax)
		if c.processor != "" {
			b.WriteString("!" + c.processor + "\n")
		}
		if len(c.prefix) > 0 {
			b.WriteString("p" + string(c.prefix) + "\n")
		}
		for _, in := range c.inst {
			b.WriteByte(in.op)
			b.Write(in.pat)
			b.WriteByte('\n')
		}
		again := parseConfig(b.Bytes(), func(string, string) {})
		if got, want := describe(again), describe(c); got != want {
			t.Errorf("config %q understood as %s; written back and parsed: %s", text, want, got)
		}
	})
}

func describe(c config) string {
	return fmt.Sprintf("s%d n%d N%d t%d !%q p%q %q plus=%v", c.sizemax, c.nmax, c.nmin, c.tmax, c.processor, c.prefix, c.inst, c.plus)
}

// FuzzPmatch: any pattern against any line is decided without a panic;
// "*" takes every line, a pattern without '*' and '+' takes only itself,
// and "literal*" takes exactly the lines that begin with literal.
func FuzzPmatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"x*", "xx"}, {"*", ""}, {"a+b", "abb"}, {"*: *: pid *", "tcpsvd: info: pid 1977 from 10.4.1.14"},
		{"+b", "b"}, {"", ""}, {"*a", "xa"}, {"a*", "axb"},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]), byte('i'))
	}
	f.Fuzz(func(t *testing.T, pat, line []byte, stale byte) {
		got := pmatch(pat, line, stale)
		if !pmatch([]byte("*"), line, stale) {
			t.Errorf("* did not match %q", line)
		}
		plain := bytes.IndexAny(pat, "*+\x00") < 0
		if plain && len(pat) == len(line) && got != bytes.Equal(pat, line) {
			t.Errorf("pattern %q against %q: %v", pat, line, got)
		}
		if plain {
			star := append(append([]byte{}, pat...), '*')
			if pmatch(star, line, stale) != bytes.HasPrefix(line, pat) {
				t.Errorf("pattern %q against %q: %v; want %v", star, line, !bytes.HasPrefix(line, pat), bytes.HasPrefix(line, pat))
			}
		}
	})
}
