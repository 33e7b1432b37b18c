package supervise

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse: whatever 20 bytes decode re-encode to the same 20 bytes (so
// vigil's sv reads and vigil's engine writes exactly runit's layout), the
// text files agree with the status, and anything else is ErrBadFormat.
func FuzzParse(f *testing.F) {
	// Status files Debian's runsv wrote (see status_test.go), with the
	// paused and term flags and the finish state set as runsv sets them.
	for _, h := range []string{
		runitRunning,
		runitDown,
		"400000006b0827910784b49c8e240000" + "01750001",        // run, paused
		"400000006b0827910784b49c8e240000" + "00640101",        // run, got TERM, want down
		"400000006b0827910784b49c8f240000" + "00640002",        // finish, want down
		"400000006b0827910784b49c00000000" + "0075",            // torn: 18 bytes
		"400000006b0827910784b49c00000000" + "00640000" + "00", // 21 bytes
	} {
		b, err := hex.DecodeString(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrBadFormat) {
				t.Errorf("Parse(%x) error = %v; want ErrBadFormat", b, err)
			}
			return
		}
		if len(b) != StatusLen {
			t.Fatalf("Parse accepted %d bytes (%x); want exactly %d", len(b), b, StatusLen)
		}
		if got := st.Bytes(); !bytes.Equal(got[:], b) {
			t.Fatalf("Parse(%x) = %+v, which encodes to %x; want the same bytes", b, st, got)
		}
		again, err := Parse(b)
		if err != nil || !reflect.DeepEqual(again, st) {
			t.Errorf("Parse(%x) twice: %+v then %+v, %v", b, st, again, err)
		}
		if st.Pid < 0 || st.Want == WantExit {
			t.Errorf("Parse(%x) = %+v: a pid below 0 or a want no status file holds", b, st)
		}
		stat := st.Stat()
		if !strings.HasPrefix(stat, st.State.String()) || !strings.HasSuffix(stat, "\n") || strings.Count(stat, "\n") != 1 {
			t.Errorf("%+v.Stat() = %q; want one line starting with %q", st, stat, st.State.String())
		}
		if got := strings.Contains(stat, ", paused"); got != st.Paused {
			t.Errorf("%+v.Stat() = %q; paused shown %v, want %v", st, stat, got, st.Paused)
		}
		want := ""
		if st.Pid != 0 {
			want = strconv.Itoa(st.Pid) + "\n"
		}
		if got := st.PidText(); got != want {
			t.Errorf("%+v.PidText() = %q; want %q", st, got, want)
		}
	})
}

// FuzzParseExtended: supervise/vigil is parsed back to what it says
// whatever it holds (parse, encode, parse is the identity), pids are never
// negative, and a rejected file is ErrBadExtended naming the bad line.
func FuzzParseExtended(f *testing.F) {
	f.Add([]byte("pid 1234\nnotify fd\nready 1733540000.123456789\nrestarts 3\n"))
	f.Add([]byte("pid 0\nfailed\nunhealthy\nwaiting db cache\n"))
	f.Add([]byte("pid 77\nnotify socket\nfuture-key whatever\n"))
	f.Add([]byte("pid 9\nnotify check\nready -1.000000001\n"))
	f.Add([]byte("pid -1\n"))
	f.Add([]byte("ready 1733540000.12\n"))
	f.Add([]byte("restarts 18446744073709551616\n"))
	f.Add(Extended{Pid: 5, Notify: "fd", Failed: true, Waiting: []string{"a", "b"}, Restarts: 1}.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ParseExtended(b)
		if err != nil {
			if !errors.Is(err, ErrBadExtended) {
				t.Errorf("ParseExtended(%q) error = %v; want ErrBadExtended", b, err)
			}
			line, named := strings.CutPrefix(err.Error(), ErrBadExtended.Error()+": ")
			if len(b) <= 64<<10 && (!named || !slices.Contains(strings.Split(string(b), "\n"), line)) {
				t.Errorf("ParseExtended(%q) error %q does not name a line of the file", b, err)
			}
			return
		}
		if x.Pid < 0 {
			t.Errorf("ParseExtended(%q).Pid = %d; want >= 0", b, x.Pid)
		}
		enc := x.Bytes()
		y, err := ParseExtended(enc)
		if err != nil {
			t.Fatalf("ParseExtended(%q) = %+v, whose Bytes %q do not parse: %v", b, x, enc, err)
		}
		if !sameExtended(x, y) {
			t.Errorf("ParseExtended(%q) = %+v; its Bytes %q parse to %+v", b, x, enc, y)
		}
		if again := y.Bytes(); !bytes.Equal(again, enc) {
			t.Errorf("Bytes of %+v: %q, then %q; want them stable", x, enc, again)
		}
	})
}

// sameExtended compares two Extended as the file can tell them apart: the
// same instant in any location, no waiting list and an empty one alike.
func sameExtended(a, b Extended) bool {
	return a.Pid == b.Pid && a.Notify == b.Notify && a.Ready.Equal(b.Ready) &&
		a.Failed == b.Failed && a.Unhealthy == b.Unhealthy && a.Restarts == b.Restarts &&
		strings.Join(a.Waiting, " ") == strings.Join(b.Waiting, " ") && len(a.Waiting) == len(b.Waiting)
}
