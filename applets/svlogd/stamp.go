package svlogd

import (
	"time"

	"github.com/vigil-init/vigil/internal/tai64n"
)

// stamper gives every line its own timestamp, strictly increasing within
// a run: a line gets the time its bytes were read, or the last stamp plus
// one nanosecond when the clock has not moved since (lines read together)
// or has stepped back. runit takes gettimeofday per line, so two lines
// within a microsecond share a stamp, and a clock stepped back goes back
// in the log.
//
// -t prints the nanoseconds, so its stamps are strictly increasing as
// printed. -tt and -ttt print 10 µs, as runit does; lines closer than that
// share the printed stamp, in order.
type stamper struct {
	kind   int    // 1 -t, 2 -tt, 3 -ttt
	last   int64  // Unix nanoseconds of the last stamp
	sec    int64  // the second head was made for
	head   []byte // the stamp up to its sub-second digits
	primed bool
}

// next appends the stamp for a line read at t, and its space.
func (s *stamper) next(dst []byte, t time.Time) []byte {
	ns := t.UnixNano()
	if s.primed && ns <= s.last {
		ns = s.last + 1
	}
	s.last, s.primed = ns, true
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	if len(s.head) == 0 || sec != s.sec {
		s.sec = sec
		s.head = s.makeHead(s.head[:0], sec)
	}
	dst = append(dst, s.head...)
	if s.kind == 1 {
		dst = appendHex(dst, uint64(frac), 8)
	} else {
		dst = appendDigits(dst, int(frac/10000), 5)
	}
	return append(dst, ' ')
}

// makeHead formats what the stamps of one second share: '@' and the
// TAI64 label, or the date and time with the dot.
func (s *stamper) makeHead(dst []byte, sec int64) []byte {
	if s.kind == 1 {
		return appendHex(append(dst, '@'), tai64n.Offset+uint64(sec), 16)
	}
	t := time.Unix(sec, 0).UTC()
	y, mo, d := t.Date()
	h, mi, ss := t.Clock()
	sep := byte('_')
	if s.kind == 3 {
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
	dst = appendDigits(dst, ss, 2)
	return append(dst, '.')
}

// appendHex appends the low 4*width bits of v as lowercase hex digits.
func appendHex(dst []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, digits[v>>(4*uint(i))&0xf])
	}
	return dst
}

// clock reads the time once per read, where a wall-clock read can cost a
// microsecond (it does on some virtual machines; the monotonic clock stays
// cheap there): it reads the wall clock at most once a second and adds the
// monotonic time since. A step of the wall clock shows within a second.
type clock struct {
	base time.Time
}

func (c *clock) now() time.Time {
	if !c.base.IsZero() {
		if d := time.Since(c.base); d >= 0 && d < time.Second {
			return c.base.Add(d)
		}
	}
	c.base = time.Now()
	return c.base
}
