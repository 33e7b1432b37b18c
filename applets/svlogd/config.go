package svlogd

import (
	"bytes"
	"time"

	"github.com/vigil-init/vigil/internal/tai64n"
	"golang.org/x/sys/unix"
)

// config is what a log directory's config file says, with runit's
// defaults.
type config struct {
	sizemax   uint64 // s
	nmax      uint64 // n
	nmin      uint64 // N
	tmax      uint64 // t, in seconds
	processor string // !
	udp       *unix.SockaddrInet4
	udponly   bool // U
	prefix    []byte
	inst      []inst // + - e E, in order
	plus      bool   // a pattern uses '+'
}

// inst is one selection line: op is '+', '-', 'e' or 'E'.
type inst struct {
	op  byte
	pat []byte
}

func defaultConfig() config {
	return config{sizemax: 1000000, nmax: 10, nmin: 10}
}

// cstr cuts b at its first NUL, as runit's C strings end there.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// parseConfig reads config text the way runit's logdir_open does: each line
// by its first character; a last line of one character without a newline is
// ignored, as in runit's loop. warn receives runit's warnx texts.
func parseConfig(sa []byte, warn func(msg, arg string)) config {
	c := defaultConfig()
	for i := 0; i+1 < len(sa); i++ {
		n := bytes.IndexByte(sa[i:], '\n')
		if n < 0 {
			n = len(sa) - i
		}
		ln := sa[i : i+n]
		i += n
		if len(ln) == 0 {
			continue
		}
		rest := cstr(ln[1:])
		switch ln[0] {
		case '+', '-', 'e', 'E':
			c.inst = append(c.inst, inst{ln[0], bytes.Clone(rest)})
			c.plus = c.plus || bytes.IndexByte(rest, '+') >= 0
		case 's':
			v, k := scanUlong(rest)
			if k < len(rest) {
				switch rest[k] {
				case 'm':
					v *= 1024 * 1024
				case 'k':
					v *= 1024
				}
			}
			c.sizemax = v
		case 'n':
			c.nmax, _ = scanUlong(rest)
		case 'N':
			c.nmin, _ = scanUlong(rest)
		case 't':
			v, k := scanUlong(rest)
			if k < len(rest) {
				switch rest[k] {
				case 'h':
					v *= 3600
				case 'm':
					v *= 60
				}
			}
			c.tmax = v
		case '!':
			if len(rest) > 0 {
				c.processor = string(rest)
			}
		case 'u', 'U':
			addr, k := ip4Scan(rest)
			if k == 0 {
				warn("unable to scan ip address", string(rest))
				break
			}
			port := uint64(514)
			if k < len(rest) && rest[k] == ':' {
				port, _ = scanUlong(rest[k+1:])
				if port == 0 {
					warn("unable to scan port number", string(rest[k+1:]))
					break
				}
			}
			// runit sets "UDP only" before it knows the address is usable,
			// and then drops every line; vigil keeps writing the directory.
			if ln[0] == 'U' {
				c.udponly = true
			}
			c.udp = &unix.SockaddrInet4{Port: int(uint16(port)), Addr: addr}
		case 'p':
			if len(rest) > 0 {
				c.prefix = bytes.Clone(rest)
			}
		}
	}
	return c
}

// ip4Scan is libdjbdns's ip4_scan: four dotted decimals, each cut to a
// byte. It returns how many bytes it used, 0 when s is no address.
func ip4Scan(s []byte) ([4]byte, int) {
	var ip [4]byte
	n := 0
	for j := range 4 {
		if j > 0 {
			if n >= len(s) || s[n] != '.' {
				return ip, 0
			}
			n++
		}
		u, k := scanUlong(s[n:])
		if k == 0 {
			return ip, 0
		}
		ip[j] = byte(u)
		n += k
	}
	return ip, n
}

// pmatch is runit's pattern match: '*c' skips to the first c, a final '*'
// matches the rest, '+c' matches one or more c, anything else matches
// itself, and the whole of s must be used. runit's '+' compares c with the
// byte just past the line when the line is used up: a byte left in its
// line buffer by an earlier, longer line. stale is that byte, so that the
// same lines are selected.
func pmatch(p, s []byte, stale byte) bool {
	for {
		if len(p) == 0 {
			return len(s) == 0
		}
		c := p[0]
		p = p[1:]
		switch c {
		case '*':
			if len(p) == 0 {
				return true
			}
			c = p[0]
			for {
				if len(s) == 0 {
					return false
				}
				if s[0] == c {
					break
				}
				s = s[1:]
			}
		case '+':
			if len(p) > 0 {
				c = p[0]
				p = p[1:]
			} else {
				c = 0
			}
			if len(s) == 0 {
				return stale == c
			}
			if s[0] != c {
				return false
			}
			for len(s) > 0 && s[0] == c {
				s = s[1:]
			}
		default:
			if len(s) == 0 || s[0] != c {
				return false
			}
			s = s[1:]
		}
	}
}

// match returns the dir's ('+' or '-') and stderr's ('e' or 'E') verdicts
// for line: the last matching instruction wins.
func (c *config) match(line []byte, stale byte) (dir, errs byte) {
	dir, errs = '+', 'E'
	for _, in := range c.inst {
		switch in.op {
		case '+', '-':
			if pmatch(in.pat, line, stale) {
				dir = in.op
			}
		default:
			if pmatch(in.pat, line, stale) {
				errs = in.op
			}
		}
	}
	return dir, errs
}

// appendStamp appends svlogd's timestamp of kind (1 -t, 2 -tt, 3 -ttt) for
// t, and the space after it. Like runit it uses microseconds and sets the
// nanoseconds to usec*1000+500.
func appendStamp(dst []byte, kind int, t time.Time) []byte {
	t = t.UTC()
	nano := t.Nanosecond()/1000*1000 + 500
	if kind == 1 {
		dst = tai64n.Append(dst, time.Unix(t.Unix(), int64(nano)))
		return append(dst, ' ')
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	sep := byte('_')
	if kind == 3 {
		sep = 'T'
	}
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, sep)
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, nano/10000, 5)
	return append(dst, ' ')
}

func appendDigits(dst []byte, v, width int) []byte {
	var b [8]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}

// fileName returns runit's name for a rotated file: '@', the TAI64N label
// of t (usec*1000+500 nanoseconds) and ".s", ".u" or ".t".
func fileName(t time.Time, suffix byte) string {
	b := appendStamp(make([]byte, 0, 28), 1, t)
	b[25] = '.'
	return string(append(b, suffix))
}
