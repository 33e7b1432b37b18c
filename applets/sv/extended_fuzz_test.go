package sv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// FuzzStatusExtended: whatever supervise/vigil holds beside a valid
// status, sv status prints one line that is runit's line followed by
// vigil's annotations, exits 0, and at most warns once on stderr; the
// wait check decides without panicking.
func FuzzStatusExtended(f *testing.F) {
	svdir := f.TempDir()
	dir := makeService(f, svdir, "web", "exec sleep 100")
	fk := newFake(f, dir)
	statuses := []supervise.Status{
		{Since: secondsAgo(30), Pid: 12, Want: supervise.WantUp, State: supervise.Run},
		{Since: secondsAgo(4), Want: supervise.WantUp},
		{Since: secondsAgo(4), Want: supervise.WantDown},
		{Since: secondsAgo(30), Pid: 555, Want: supervise.WantUp, State: supervise.Finish},
		{Since: secondsAgo(30), Pid: 12, Paused: true, Want: supervise.WantDown, Term: true, State: supervise.Run},
	}
	ready := secondsAgo(29)
	for i, x := range []supervise.Extended{
		{},
		{Pid: 12, Notify: "fd"},
		{Pid: 12, Notify: "socket", Ready: ready, Restarts: 3},
		{Pid: 12, Notify: "check", Ready: ready, Unhealthy: true},
		{Pid: 11, Notify: "fd", Ready: ready},
		{Notify: "fd", Failed: true, Restarts: 7},
		{Pid: 40, Failed: true},
		{Waiting: []string{"db", "cache"}},
		{Pid: 12, Unhealthy: true, Waiting: []string{"db"}},
	} {
		f.Add(uint8(i), x.Bytes())
	}
	for _, raw := range []string{
		"", "\n", "pid\n", "pid 12", "pid 12\nready 1.000000000", "pid 12\nnotify fd\nready -5.000000000\n",
		"pid 99999999999999999999\n", "pid 12\nwaiting\n", "pid 12\nwaiting , ; \x00\n", "pid 12\r\nnotify fd\r\n",
		"ready 9223372036854775807.999999999\nnotify fd\npid 12\n", "\xff\xfe\x00garbage",
	} {
		f.Add(uint8(0), []byte(raw))
	}
	f.Fuzz(func(t *testing.T, which uint8, content []byte) {
		st := statuses[int(which)%len(statuses)]
		fk.set(t, st)
		path := vigilPath(dir)
		os.Remove(path)
		runit, _, rc := statusOnce(svdir)
		if rc != 0 || strings.Count(runit, "\n") != 1 {
			t.Fatalf("without supervise/vigil: %q, rc %d", runit, rc)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		got, stderr, rc := statusOnce(svdir)
		if rc != 0 {
			t.Errorf("rc %d; want 0 (stdout %q)", rc, got)
		}
		if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
			t.Fatalf("not one line: %q", got)
		}
		prefix := strings.TrimSuffix(runit, "\n")
		if !sameLine(got[:min(len(prefix), len(got))], prefix) {
			t.Fatalf("got %q; want runit's line %q first", got, runit)
		}
		if rest := got[len(prefix) : len(got)-1]; rest != "" && !strings.HasPrefix(rest, ", ") {
			t.Errorf("annotations %q do not start with \", \"", rest)
		}
		if stderr != "" && stderr != "warning: web: unable to read supervise/vigil: bad format\n" {
			t.Errorf("stderr %q", stderr)
		}
		// The wait path reads the file the same way.
		var out, errb bytes.Buffer
		r := newRun([]string{"sv"}, nil, &out, &errb)
		r.svdir = svdir
		s := &service{name: "web", dir: filepath.Join(svdir, "web")}
		switch r.check(s, "C", time.Now()) {
		case 0:
			if out.Len() != 0 {
				t.Errorf("check pending, yet printed %q", out.String())
			}
		default:
			if o := out.String(); strings.Count(o, "\n") != 1 || !(strings.HasPrefix(o, "ok: ") || strings.HasPrefix(o, "fail: ")) {
				t.Errorf("check printed %q", o)
			}
		}
	})
}

// statusOnce runs "sv status web" in this process.
func statusOnce(svdir string) (stdout, stderr string, rc int) {
	var out, errb bytes.Buffer
	r := newRun([]string{"sv"}, nil, &out, &errb)
	r.svdir = svdir
	rc = r.main([]string{"sv", "status", "web"})
	return out.String(), errb.String(), rc
}
