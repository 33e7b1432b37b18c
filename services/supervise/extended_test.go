package supervise

import (
	"reflect"
	"testing"
	"time"
)

func TestExtendedRoundTrip(t *testing.T) {
	ready := time.Unix(1733540000, 123456789)
	for _, x := range []Extended{
		{},
		{Pid: 12, Notify: "fd"},
		{Pid: 12, Notify: "socket", Ready: ready, Restarts: 3},
		{Failed: true, Restarts: 7},
		{Pid: 9, Unhealthy: true, Waiting: []string{"db", "cache"}},
	} {
		got, err := ParseExtended(x.Bytes())
		if err != nil {
			t.Fatalf("ParseExtended(%q): %v", x.Bytes(), err)
		}
		if !got.Ready.Equal(x.Ready) {
			t.Errorf("ready of %q: got %v; want %v", x.Bytes(), got.Ready, x.Ready)
		}
		got.Ready, x.Ready = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, x) {
			t.Errorf("ParseExtended(%q) = %+v; want %+v", x.Bytes(), got, x)
		}
	}
}

func TestExtendedBytes(t *testing.T) {
	x := Extended{Pid: 5, Notify: "fd", Ready: time.Unix(10, 5), Waiting: []string{"a"}, Restarts: 2}
	got, want := string(x.Bytes()), "pid 5\nnotify fd\nready 10.000000005\nwaiting a\nrestarts 2\n"
	if got != want {
		t.Errorf("Bytes() = %q; want %q", got, want)
	}
}

func TestExtendedRejects(t *testing.T) {
	for _, in := range []string{"pid x\n", "pid -1\n", "ready 10\n", "ready 10.5\n", "restarts -2\n"} {
		if _, err := ParseExtended([]byte(in)); err == nil {
			t.Errorf("ParseExtended(%q): no error", in)
		}
	}
	if _, err := ParseExtended([]byte("pid 1\nfuture thing\n")); err != nil {
		t.Errorf("unknown key: %v", err)
	}
}
