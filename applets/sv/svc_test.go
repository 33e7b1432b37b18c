package sv

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// TestSvc: flags are applied in BusyBox's order udopchaitkx whatever
// their order on the command line, to every service, without waiting;
// the first failing letter ends svc with 1.
func TestSvc(t *testing.T) {
	vigil := vigilSv(t)
	svdir := t.TempDir()
	a := newFake(t, makeService(t, svdir, "a", "exec sleep 100"))
	b := newFake(t, makeService(t, svdir, "b", "exec sleep 100"))
	makeService(t, svdir, "nosup", "exec sleep 100")
	up := supervise.Status{Since: time.Now(), Pid: 5, Want: supervise.WantUp, State: supervise.Run}
	for _, tc := range []struct {
		args   []string
		rc     int
		stdout string
		stderr string
		wantA  string
		wantB  string
	}{
		{[]string{"-x", "-k", "-t", "-i", "-a", "-h", "-c", "-p", "-o", "-d", "-u", "a"}, 0, "", "", "udopchaitkx", ""},
		{[]string{"-du", "a", "b"}, 0, "", "", "ud", "ud"},
		{[]string{"-h", "--", "b"}, 0, "", "", "", "h"},
		{[]string{"-t", "a", "nosup", "b"}, 1, "warning: nosup: unable to open supervise/ok: file does not exist\n", "", "t", "t"},
		{[]string{"-tk", "nosup", "a"}, 1, "warning: nosup: unable to open supervise/ok: file does not exist\n", "", "t", ""},
		{[]string{"-t", "missing"}, 1, "fail: missing: unable to change to service directory: file does not exist\n", "", "", ""},
		{[]string{"-q", "a"}, 100, "", "svc: illegal option -- q\nusage: svc -udopchaitkx service ...\n\n", "", ""},
		{[]string{"-u"}, 100, "", "usage: svc -udopchaitkx service ...\n\n", "", ""},
		{[]string{"a"}, 100, "", "usage: svc -udopchaitkx service ...\n\n", "", ""},
		{nil, 100, "", "usage: svc -udopchaitkx service ...\n\n", "", ""},
	} {
		a.set(t, up)
		b.set(t, up)
		got := vigil.run(t, invocation{applet: "svc", env: []string{"SVDIR=" + svdir}}, tc.args...)
		if got.rc != tc.rc || got.stdout != tc.stdout || got.stderr != tc.stderr {
			t.Errorf("svc %q: got %s\nwant rc %d, stdout %q, stderr %q", tc.args, got, tc.rc, tc.stdout, tc.stderr)
		}
		if ga, gb := a.drain(), b.drain(); ga != tc.wantA || gb != tc.wantB {
			t.Errorf("svc %q: a got %q, b got %q; want %q, %q", tc.args, ga, gb, tc.wantA, tc.wantB)
		}
	}
}

// TestSvok: 0 with a supervisor, 100 without (never hanging on a FIFO
// nobody reads, as BusyBox's svok does), 111 when it cannot tell.
func TestSvok(t *testing.T) {
	vigil := vigilSv(t)
	svdir := t.TempDir()
	newFake(t, makeService(t, svdir, "alive", "exec sleep 100"))
	dead := newFake(t, makeService(t, svdir, "dead", "exec sleep 100"))
	dead.d.Close()
	makeService(t, svdir, "nosup", "exec sleep 100")
	odd := makeService(t, svdir, "odd", "exec sleep 100")
	os.Mkdir(filepath.Join(odd, "supervise"), 0o700)
	os.Mkdir(filepath.Join(odd, "supervise", "ok"), 0o700) // open for writing: EISDIR
	for _, tc := range []struct {
		args   []string
		rc     int
		stdout string
		stderr string
	}{
		{[]string{"alive"}, 0, "", ""},
		{[]string{filepath.Join(svdir, "alive")}, 0, "", ""},
		{[]string{"dead"}, 100, "", ""},
		{[]string{"nosup"}, 100, "", ""},
		{[]string{"odd"}, 111, "warning: odd: unable to open supervise/ok: is a directory\n", ""},
		{[]string{"missing"}, 111, "fail: missing: unable to change to service directory: file does not exist\n", ""},
		{nil, 100, "", "usage: svok service\n\n"},
	} {
		got := vigil.run(t, invocation{applet: "svok", env: []string{"SVDIR=" + svdir}}, tc.args...)
		if got.rc != tc.rc || got.stdout != tc.stdout || got.stderr != tc.stderr {
			t.Errorf("svok %q: got %s\nwant rc %d, stdout %q, stderr %q", tc.args, got, tc.rc, tc.stdout, tc.stderr)
		}
		if got.took > 2*time.Second {
			t.Errorf("svok %q took %v", tc.args, got.took)
		}
	}
}
