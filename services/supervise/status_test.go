package supervise

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Bytes Debian's runsv wrote (runit.md §1.2): running as pid 9358, and the
// same service after `sv down`.
const (
	runitRunning = "400000006b0827910784b49c8e240000" + "00750001"
	runitDown    = "400000006b0827910784b49c00000000" + "00640000"
)

func TestStatusBytesMatchRunit(t *testing.T) {
	since := time.Unix(0x6b082791-10, 0x0784b49c)
	for _, tc := range []struct {
		st   Status
		want string
	}{
		{Status{Since: since, Pid: 9358, Want: WantUp, State: Run}, runitRunning},
		{Status{Since: since, Want: WantDown, State: Down}, runitDown},
		// want exit is written as 'd', as runit does.
		{Status{Since: since, Want: WantExit, State: Down}, runitDown},
	} {
		b := tc.st.Bytes()
		if got := hex.EncodeToString(b[:]); got != tc.want {
			t.Errorf("%+v.Bytes() = %s; want %s", tc.st, got, tc.want)
		}
	}
	raw, _ := hex.DecodeString(runitRunning)
	got, err := Parse(raw)
	want := Status{Since: since, Pid: 9358, Want: WantUp, State: Run}
	if err != nil || !got.Since.Equal(want.Since) || got.Pid != want.Pid || got.Want != want.Want || got.State != want.State || got.Paused || got.Term {
		t.Errorf("Parse(%s) = %+v, %v; want %+v", runitRunning, got, err, want)
	}
}

func TestParseRejectsWhatNoSupervisorWrites(t *testing.T) {
	for _, n := range []int{0, 19, 21, 40} {
		if _, err := Parse(make([]byte, n)); !errors.Is(err, ErrBadFormat) {
			t.Errorf("Parse(%d bytes) error = %v; want ErrBadFormat", n, err)
		}
	}
	good, _ := hex.DecodeString(runitRunning)
	for _, tc := range []struct {
		name string
		at   int
		b    byte
	}{
		{"no TAI64 label", 0, 0x00},
		{"nanoseconds past a second", 8, 0xff},
		{"paused flag 2", 16, 2},
		{"want 'x'", 17, 'x'},
		{"term flag 7", 18, 7},
		{"state 3", 19, 3},
	} {
		b := append([]byte(nil), good...)
		b[tc.at] = tc.b
		if _, err := Parse(b); !errors.Is(err, ErrBadFormat) {
			t.Errorf("Parse(%s) error = %v; want ErrBadFormat", tc.name, err)
		}
	}
}

func TestStatText(t *testing.T) {
	for _, tc := range []struct {
		st   Status
		want string
	}{
		{Status{State: Run, Want: WantUp}, "run\n"},
		{Status{State: Run, Want: WantUp, Paused: true}, "run, paused\n"},
		{Status{State: Run, Want: WantDown, Term: true}, "run, got TERM, want down\n"},
		{Status{State: Finish, Want: WantDown}, "finish, want down\n"},
		{Status{State: Run, Want: WantExit}, "run, want exit\n"},
		{Status{State: Down, Want: WantDown}, "down\n"},
		{Status{State: Down, Want: WantUp, Paused: true}, "down, paused\n"},
	} {
		if got := tc.st.Stat(); got != tc.want {
			t.Errorf("%+v.Stat() = %q; want %q", tc.st, got, tc.want)
		}
	}
}

// TestOpenWriteAndClients runs the supervisor's and the client's side of
// the protocol against each other on real files.
func TestOpenWriteAndClients(t *testing.T) {
	svc := t.TempDir()
	d, err := Open(svc)
	if err != nil {
		t.Fatalf("Open(%s) = %v", svc, err)
	}
	sup := filepath.Join(svc, "supervise")
	if got := Locate(svc); got != sup {
		t.Errorf("Locate(%s) = %s; want %s", svc, got, sup)
	}
	if err := Alive(sup); err != nil {
		t.Errorf("Alive with a supervisor = %v; want nil", err)
	}
	if _, err := Open(svc); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open(%s) = %v; want ErrLocked", svc, err)
	}
	st := Status{Since: time.Unix(1700000000, 123456789), Pid: 42, Want: WantUp, State: Run}
	if err := d.Write(st, true); err != nil {
		t.Fatalf("Write = %v", err)
	}
	got, err := ReadStatus(sup)
	if err != nil || got.Pid != 42 || !got.Since.Equal(st.Since) {
		t.Errorf("ReadStatus = %+v, %v; want pid 42 since %v (nanoseconds kept)", got, err, st.Since)
	}
	for name, want := range map[string]string{"stat": "run\n", "pid": "42\n"} {
		if b, _ := os.ReadFile(filepath.Join(sup, name)); string(b) != want {
			t.Errorf("supervise/%s = %q; want %q", name, b, want)
		}
	}
	if err := Send(sup, []byte("tcu")); err != nil {
		t.Fatalf("Send = %v", err)
	}
	buf := make([]byte, 8)
	if n, _ := os.NewFile(uintptr(d.Control), "control").Read(buf); string(buf[:n]) != "tcu" {
		t.Errorf("control read %q; want %q", buf[:n], "tcu")
	}
	d.Close()
	if err := Alive(sup); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Alive after Close = %v; want ErrNotRunning", err)
	}
	if err := Send(sup, []byte("u")); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Send after Close = %v; want ErrNotRunning", err)
	}
}

func TestOpenBadSupervise(t *testing.T) {
	t.Run("regular file", func(t *testing.T) {
		svc := t.TempDir()
		os.WriteFile(filepath.Join(svc, "supervise"), nil, 0o644)
		if _, err := Open(svc); err == nil || err.Error() != "supervise exists but is not a directory" {
			t.Errorf("Open = %v; want %q", err, "supervise exists but is not a directory")
		}
	})
	t.Run("control not a fifo", func(t *testing.T) {
		svc := t.TempDir()
		os.Mkdir(filepath.Join(svc, "supervise"), 0o700)
		os.WriteFile(filepath.Join(svc, "supervise", "control"), nil, 0o600)
		if _, err := Open(svc); err == nil || err.Error() != "supervise/control exists but is not a fifo" {
			t.Errorf("Open = %v; want %q", err, "supervise/control exists but is not a fifo")
		}
	})
	t.Run("dangling symlink", func(t *testing.T) {
		svc := t.TempDir()
		os.Symlink("elsewhere", filepath.Join(svc, "supervise"))
		d, err := Open(svc)
		if err != nil {
			t.Fatalf("Open = %v; want the link's target made", err)
		}
		defer d.Close()
		if st, err := os.Stat(filepath.Join(svc, "elsewhere", "lock")); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("elsewhere/lock: %v, %v; want a 0600 file", st, err)
		}
	})
}
