package svlogd

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzInput: whatever bytes arrive on standard input, in whatever pieces,
// the log holds exactly those lines (the last one given its newline), each
// behind a stamp of its own when -t/-tt/-ttt asks for one; -t stamps are
// strictly increasing and the others never go back.
func FuzzInput(f *testing.F) {
	for _, seed := range []string{
		"one\ntwo\n", "no newline at the end", "\n\n\n", "x\x00y\tz\r\n",
		strings.Repeat("long ", 300) + "\nshort\n", "2026-01-01 web[42]: GET /healthz 200 0.4ms\n",
	} {
		f.Add([]byte(seed), uint16(7), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, piece uint16, kind uint8) {
		dir := t.TempDir()
		opt := options{linemax: 1000, buflen: 1024, stamp: int(kind % 4), dirs: []string{dir}}
		l := &logger{opt: opt, stderr: io.Discard, errFile: os.Stderr, stamper: stamper{kind: opt.stamp}}
		d := &logdir{name: dir, fddir: -1, fdcur: -1, fdlock: -1, outfd: -1, udpfd: -1, procCh: make(chan int, 1)}
		l.dirs = []*logdir{d}
		if !l.reopen() {
			t.Fatal("the log directory did not open")
		}
		// Pieces no larger than a read would be.
		size := int(piece)%int(opt.buflen) + 1
		for rest := data; len(rest) > 0; {
			n := min(size, len(rest), int(opt.buflen)-l.held())
			l.readAt = l.clock.now()
			l.feed(rest[:n])
			l.flush(d)
			rest = rest[n:]
		}
		l.finishLine()
		l.close(d)

		want := string(data)
		if len(want) > 0 && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		logged := allLogged(dir)
		if opt.stamp == 0 {
			if logged != want {
				t.Fatalf("logged %q; want %q", logged, want)
			}
			return
		}
		var lines, last strings.Builder
		for line := range strings.Lines(logged) {
			if len(line) < 26 || line[25] != ' ' {
				t.Fatalf("line %q has no stamp", line)
			}
			stamp := line[:25]
			if c := strings.Compare(stamp, last.String()); c < 0 || c == 0 && opt.stamp == 1 {
				t.Fatalf("stamp %s after %s", stamp, last.String())
			}
			last.Reset()
			last.WriteString(stamp)
			lines.WriteString(line[26:])
		}
		if got := lines.String(); !bytes.Equal([]byte(got), []byte(want)) {
			t.Fatalf("logged lines %q; want %q", got, want)
		}
	})
}
