package sv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// TestStatusReadiness: with supervise/vigil beside status, sv status
// prints runit's line followed by vigil's annotations; Debian's sv,
// which knows nothing of the file, prints runit's line alone. LSB status
// codes stay runit's (0 running, 3 down), whatever the file says.
func TestStatusReadiness(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	base := time.Now().Unix() // the table's times are relative to it
	run12 := supervise.Status{Since: secondsAgo(30), Pid: 12, Want: supervise.WantUp, State: supervise.Run}
	downUp := supervise.Status{Since: secondsAgo(4), Want: supervise.WantUp}
	for _, tc := range []struct {
		name  string
		st    supervise.Status
		x     *supervise.Extended // nil: no supervise/vigil
		down  bool                // a down file
		want  string              // vigil's line
		runit string              // Debian's, and vigil's without the file
		lsbRC int
	}{
		{"no file", run12, nil, false,
			"run: db: (pid 12) 30s\n", "run: db: (pid 12) 30s\n", 0},
		{"ready", run12, &supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(29)}, false,
			"run: db: (pid 12) 30s, ready 29s\n", "run: db: (pid 12) 30s\n", 0},
		{"ready by socket, restarted before", run12, &supervise.Extended{Pid: 12, Notify: "socket", Ready: secondsAgo(1), Restarts: 3}, false,
			"run: db: (pid 12) 30s, ready 1s\n", "run: db: (pid 12) 30s\n", 0},
		{"not ready", run12, &supervise.Extended{Pid: 12, Notify: "check"}, false,
			"run: db: (pid 12) 30s, not ready\n", "run: db: (pid 12) 30s\n", 0},
		// The file still describes the process before: this one has not
		// said it is ready.
		{"ready line of an older process", run12, &supervise.Extended{Pid: 11, Notify: "fd", Ready: secondsAgo(40)}, false,
			"run: db: (pid 12) 30s, not ready\n", "run: db: (pid 12) 30s\n", 0},
		{"no readiness source", run12, &supervise.Extended{Pid: 12, Restarts: 2}, false,
			"run: db: (pid 12) 30s\n", "run: db: (pid 12) 30s\n", 0},
		{"ready and unhealthy", run12, &supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(29), Unhealthy: true}, false,
			"run: db: (pid 12) 30s, ready 29s, unhealthy\n", "run: db: (pid 12) 30s\n", 0},
		{"unhealthy without readiness source", run12, &supervise.Extended{Pid: 12, Unhealthy: true}, false,
			"run: db: (pid 12) 30s, unhealthy\n", "run: db: (pid 12) 30s\n", 0},
		{"unhealthy line of an older process", run12, &supervise.Extended{Pid: 11, Unhealthy: true}, false,
			"run: db: (pid 12) 30s\n", "run: db: (pid 12) 30s\n", 0},
		{"runit's annotations first", supervise.Status{Since: secondsAgo(30), Pid: 12, Paused: true, Want: supervise.WantDown, Term: true, State: supervise.Run},
			&supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(29)}, true,
			"run: db: (pid 12) 30s, normally down, paused, want down, got TERM, ready 29s\n",
			"run: db: (pid 12) 30s, normally down, paused, want down, got TERM\n", 0},
		{"failed", downUp, &supervise.Extended{Notify: "fd", Failed: true, Restarts: 6}, false,
			"down: db: 4s, normally up, want up, failed\n", "down: db: 4s, normally up, want up\n", 3},
		// failed describes the service: it holds while it is down,
		// whichever process the file last named.
		{"failed, last pid named", downUp, &supervise.Extended{Pid: 40, Failed: true}, false,
			"down: db: 4s, normally up, want up, failed\n", "down: db: 4s, normally up, want up\n", 3},
		{"failed line of before a restart", run12, &supervise.Extended{Pid: 0, Failed: true}, false,
			"run: db: (pid 12) 30s\n", "run: db: (pid 12) 30s\n", 0},
		{"waiting", downUp, &supervise.Extended{Waiting: []string{"db"}}, false,
			"down: db: 4s, normally up, want up, waiting for db\n", "down: db: 4s, normally up, want up\n", 3},
		{"waiting for two, with a readiness source", downUp, &supervise.Extended{Notify: "fd", Waiting: []string{"db", "cache"}}, false,
			"down: db: 4s, normally up, want up, waiting for db cache\n", "down: db: 4s, normally up, want up\n", 3},
		{"down: no readiness to speak of", downUp, &supervise.Extended{Notify: "fd"}, false,
			"down: db: 4s, normally up, want up\n", "down: db: 4s, normally up, want up\n", 3},
		{"finish: no readiness either", supervise.Status{Since: secondsAgo(30), Pid: 555, Want: supervise.WantUp, State: supervise.Finish},
			&supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(29)}, false,
			"finish: db: (pid 555) 30s\n", "finish: db: (pid 555) 30s\n", 0},
		{"ready in the future", run12, &supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(-100)}, false,
			"run: db: (pid 12) 30s, ready 0s\n", "run: db: (pid 12) 30s\n", 0},
		{"unknown keys ignored", run12, nil, false,
			"run: db: (pid 12) 30s, ready 29s\n", "run: db: (pid 12) 30s\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svdir := t.TempDir()
			dir := makeService(t, svdir, "db", "exec sleep 100")
			f := newFake(t, dir)
			// Move the table's times to now: a subtest may start
			// seconds after the table was made.
			shift := time.Duration(time.Now().Unix()-base) * time.Second
			st := tc.st
			st.Since = st.Since.Add(shift)
			f.set(t, st)
			switch {
			case tc.name == "unknown keys ignored":
				x := supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(29)}
				raw := append([]byte("health-port 8080\n"), x.Bytes()...)
				if err := os.WriteFile(vigilPath(dir), append(raw, "future thing\n"...), 0o644); err != nil {
					t.Fatal(err)
				}
			case tc.x != nil:
				x := *tc.x
				if !x.Ready.IsZero() {
					x.Ready = x.Ready.Add(shift)
				}
				f.setExtended(t, x)
			}
			if tc.down {
				os.WriteFile(filepath.Join(dir, "down"), nil, 0o644)
			}
			got := vigil.run(t, svEnv(svdir), "status", "db")
			if !sameLine(got.stdout, tc.want) || got.rc != 0 || got.stderr != "" {
				t.Errorf("got %s\nwant %q, rc 0", got, tc.want)
			}
			deb := debian.run(t, svEnv(svdir), "status", "db")
			if !sameLine(deb.stdout, tc.runit) || deb.rc != 0 {
				t.Errorf("Debian's sv: %s\nwant %q", deb, tc.runit)
			}
			inv := svEnv(svdir)
			inv.argv0 = "db"
			if lsb := vigil.run(t, inv, "status"); !sameLine(lsb.stdout, tc.want) || lsb.rc != tc.lsbRC {
				t.Errorf("LSB: got %s; want %q, rc %d", lsb, tc.want, tc.lsbRC)
			}
			// The status line printed after a wait is the same line.
			if tc.st.State == supervise.Run && !strings.Contains(tc.want, "not ready") && !strings.Contains(tc.want, "unhealthy") && tc.st.Want == supervise.WantUp {
				if ok := vigil.run(t, svEnv(svdir, "SVWAIT=5"), "check", "db"); !sameLine(ok.stdout, "ok: "+tc.want) || ok.rc != 0 {
					t.Errorf("check: got %s; want %q", ok, "ok: "+tc.want)
				}
			}
			// Without the file, the line is runit's again.
			os.Remove(vigilPath(dir))
			if plain := vigil.run(t, svEnv(svdir), "status", "db"); !sameLine(plain.stdout, tc.runit) {
				t.Errorf("without supervise/vigil: got %s; want %q", plain, tc.runit)
			}
		})
	}
}

// TestStatusReadinessLog: the log service's line gets its own file's
// annotations, the service's line its own.
func TestStatusReadinessLog(t *testing.T) {
	svdir := t.TempDir()
	dir := makeService(t, svdir, "db", "exec sleep 100")
	f := newFake(t, dir)
	f.set(t, supervise.Status{Since: secondsAgo(30), Pid: 12, Want: supervise.WantUp, State: supervise.Run})
	f.setExtended(t, supervise.Extended{Pid: 12, Notify: "fd", Ready: secondsAgo(29)})
	ld := makeService(t, dir, "log", "exec cat")
	lf := newFake(t, ld)
	lf.set(t, supervise.Status{Since: secondsAgo(31), Pid: 13, Want: supervise.WantUp, State: supervise.Run})
	want := "run: db: (pid 12) 30s, ready 29s; run: log: (pid 13) 31s\n"
	if got := vigilSv(t).run(t, svEnv(svdir), "status", "db"); !sameLine(got.stdout, want) || got.rc != 0 {
		t.Errorf("got %s; want %q", got, want)
	}
	lf.setExtended(t, supervise.Extended{Pid: 13, Notify: "fd"})
	want = "run: db: (pid 12) 30s, ready 29s; run: log: (pid 13) 31s, not ready\n"
	if got := vigilSv(t).run(t, svEnv(svdir), "status", "db"); !sameLine(got.stdout, want) || got.rc != 0 {
		t.Errorf("got %s; want %q", got, want)
	}
}

// TestStatusBadExtended: a supervise/vigil sv cannot read leaves runit's
// line, with one warning on stderr that does not count as a failure.
func TestStatusBadExtended(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content []byte
		mode    os.FileMode
		warning string
	}{
		{"bad pid", []byte("pid twelve\nnotify fd\n"), 0o644, "warning: db: unable to read supervise/vigil: bad format\n"},
		{"bad ready", []byte("pid 12\nnotify fd\nready 5\n"), 0o644, "warning: db: unable to read supervise/vigil: bad format\n"},
		{"too long", []byte(strings.Repeat("x", 70<<10)), 0o644, "warning: db: unable to read supervise/vigil: bad format\n"},
		{"a directory", nil, os.ModeDir | 0o755, "warning: db: unable to read supervise/vigil: is a directory\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svdir := t.TempDir()
			dir := makeService(t, svdir, "db", "exec sleep 100")
			f := newFake(t, dir)
			f.set(t, supervise.Status{Since: secondsAgo(30), Pid: 12, Want: supervise.WantUp, State: supervise.Run})
			if tc.mode.IsDir() {
				os.Mkdir(vigilPath(dir), 0o755)
			} else if err := os.WriteFile(vigilPath(dir), tc.content, tc.mode); err != nil {
				t.Fatal(err)
			}
			want := "run: db: (pid 12) 30s\n"
			got := vigilSv(t).run(t, svEnv(svdir), "status", "db")
			if !sameLine(got.stdout, want) || got.rc != 0 || got.stderr != tc.warning {
				t.Errorf("got %s\nwant stdout %q, stderr %q, rc 0", got, want, tc.warning)
			}
			// Once per service, however often a wait looks: nobody
			// serves the 'd', so sv looks until its deadline.
			got = vigilSv(t).run(t, svEnv(svdir), "-w", "1", "down", "db")
			if want := "timeout: " + want; !sameLine(got.stdout, want) || got.stderr != tc.warning || got.rc != 1 {
				t.Errorf("down: got %s\nwant stdout %q, stderr %q once, rc 1", got, want, tc.warning)
			}
		})
	}
}
