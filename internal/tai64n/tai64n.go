// Package tai64n converts between time.Time and the TAI64N labels that
// daemontools and runit write: 8 bytes of seconds (2^62 + 10 + unix seconds,
// big-endian) and 4 bytes of nanoseconds (big-endian). Leap seconds are not
// modelled; the offset is always 10, as in runit.
package tai64n

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// Offset is the TAI64 label of the Unix epoch.
const Offset = uint64(1)<<62 + 10

// Len is the size of a packed TAI64N label.
const Len = 12

// Pack writes t as a TAI64N label into b, which must hold Len bytes.
func Pack(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b[0:8], Offset+uint64(t.Unix()))
	binary.BigEndian.PutUint32(b[8:12], uint32(t.Nanosecond()))
}

// Unpack reads a TAI64N label from the first Len bytes of b.
func Unpack(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b[0:8]) - Offset)
	nsec := int64(binary.BigEndian.Uint32(b[8:12]))
	return time.Unix(sec, nsec)
}

// Format returns t as svlogd and runsvdir print it: '@' and 24 lowercase
// hex digits.
func Format(t time.Time) string {
	var raw [Len]byte
	Pack(raw[:], t)
	buf := make([]byte, 1+2*Len)
	buf[0] = '@'
	hex.Encode(buf[1:], raw[:])
	return string(buf)
}

// Append appends the Format form of t to dst without allocating.
func Append(dst []byte, t time.Time) []byte {
	var raw [Len]byte
	Pack(raw[:], t)
	dst = append(dst, '@')
	return hex.AppendEncode(dst, raw[:])
}

// Parse reads the Format form ("@" + 24 hex digits).
func Parse(s string) (time.Time, error) {
	if len(s) != 1+2*Len || s[0] != '@' {
		return time.Time{}, errors.New("tai64n: not a TAI64N label: " + s)
	}
	var raw [Len]byte
	if _, err := hex.Decode(raw[:], []byte(s[1:])); err != nil {
		return time.Time{}, errors.New("tai64n: not a TAI64N label: " + s)
	}
	return Unpack(raw[:]), nil
}
