package sv

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// TestStatusLikeDebian: for every shape of status file, vigil's sv prints
// Debian's line, byte for byte (pids and seconds are the same here; the
// seconds are normalised only in case a second ticks between the runs).
func TestStatusLikeDebian(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	ago := time.Now().Add(-5 * time.Second)
	type logSetup int
	const (
		noLog logSetup = iota
		logFake
		logDirOnly // log/ without a supervisor
		logFile    // log is not a directory
	)
	for _, tc := range []struct {
		name     string
		st       supervise.Status
		down     bool
		log      logSetup
		logSt    supervise.Status
		want     string
		lsbRC    int
		sameDeb  bool
		sameDLSB bool
	}{
		{"run", supervise.Status{Since: ago, Pid: 1234, Want: supervise.WantUp, State: supervise.Run},
			false, noLog, supervise.Status{}, "run: web: (pid 1234) 5s\n", 0, true, true},
		{"run normally down", supervise.Status{Since: ago, Pid: 1234, Want: supervise.WantUp, State: supervise.Run},
			true, noLog, supervise.Status{}, "run: web: (pid 1234) 5s, normally down\n", 0, true, true},
		{"run paused want down got term", supervise.Status{Since: ago, Pid: 77, Paused: true, Want: supervise.WantDown, Term: true, State: supervise.Run},
			false, noLog, supervise.Status{}, "run: web: (pid 77) 5s, paused, want down, got TERM\n", 0, true, true},
		{"want exit", supervise.Status{Since: ago, Pid: 77, Want: supervise.WantExit, State: supervise.Run},
			false, noLog, supervise.Status{}, "run: web: (pid 77) 5s, want down\n", 0, true, true},
		{"down", supervise.Status{Since: ago, Want: supervise.WantDown},
			false, noLog, supervise.Status{}, "down: web: 5s, normally up\n", 3, true, true},
		{"down want up", supervise.Status{Since: ago, Want: supervise.WantUp},
			false, noLog, supervise.Status{}, "down: web: 5s, normally up, want up\n", 3, true, true},
		{"down normally down paused", supervise.Status{Since: ago, Want: supervise.WantDown, Paused: true},
			true, noLog, supervise.Status{}, "down: web: 5s\n", 3, true, true},
		{"finish", supervise.Status{Since: ago, Pid: 555, Want: supervise.WantDown, State: supervise.Finish},
			false, noLog, supervise.Status{}, "finish: web: (pid 555) 5s, want down\n", 0, true, true},
		{"future timestamp", supervise.Status{Since: time.Now().Add(time.Hour), Pid: 5, Want: supervise.WantUp, State: supervise.Run},
			false, noLog, supervise.Status{}, "run: web: (pid 5) 0s\n", 0, true, true},
		{"with log", supervise.Status{Since: ago, Pid: 10, Want: supervise.WantUp, State: supervise.Run},
			false, logFake, supervise.Status{Since: ago, Pid: 11, Want: supervise.WantUp, State: supervise.Run},
			"run: web: (pid 10) 5s; run: log: (pid 11) 5s\n", 0, true, true},
		// runit 2.1.2 takes the LSB status code from the log: 0 here.
		{"down with running log", supervise.Status{Since: ago, Want: supervise.WantDown},
			false, logFake, supervise.Status{Since: ago, Pid: 11, Want: supervise.WantUp, State: supervise.Run},
			"down: web: 5s, normally up; run: log: (pid 11) 5s\n", 3, true, false},
		{"up with down log", supervise.Status{Since: ago, Pid: 10, Want: supervise.WantUp, State: supervise.Run},
			false, logFake, supervise.Status{Since: ago, Want: supervise.WantUp},
			"run: web: (pid 10) 5s; down: log: 5s, normally up, want up\n", 0, true, false},
		// runit prints the main record again, labelled log, after this
		// warning; vigil ends the line with the warning.
		{"log without supervisor", supervise.Status{Since: ago, Pid: 10, Want: supervise.WantUp, State: supervise.Run},
			false, logDirOnly, supervise.Status{},
			"run: web: (pid 10) 5s; warning: web/log: unable to open supervise/ok: file does not exist\n", 0, false, false},
		{"log not a directory", supervise.Status{Since: ago, Pid: 10, Want: supervise.WantUp, State: supervise.Run},
			false, logFile, supervise.Status{},
			"run: web: (pid 10) 5s; warning: web/log: unable to change directory: not a directory\n", 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svdir := t.TempDir()
			dir := makeService(t, svdir, "web", "exec sleep 100")
			newFake(t, dir).set(t, tc.st)
			if tc.down {
				os.WriteFile(filepath.Join(dir, "down"), nil, 0o644)
			}
			switch tc.log {
			case logFake:
				ld := makeService(t, dir, "log", "exec cat")
				newFake(t, ld).set(t, tc.logSt)
			case logDirOnly:
				makeService(t, dir, "log", "exec cat")
			case logFile:
				os.WriteFile(filepath.Join(dir, "log"), nil, 0o644)
			}
			wantRC := 0
			if tc.log == logDirOnly || tc.log == logFile {
				wantRC = 1
			}
			got := vigil.run(t, svEnv(svdir), "status", "web")
			if normalise(got.stdout) != normalise(tc.want) || got.rc != wantRC {
				t.Errorf("got %s\nwant %q, rc %d", got, tc.want, wantRC)
			}
			if debian.present() {
				deb := debian.run(t, svEnv(svdir), "status", "web")
				if same := normalise(deb.stdout) == normalise(got.stdout) && deb.rc == got.rc; same != tc.sameDeb {
					t.Errorf("same as Debian: %v, want %v\ndebian: %s\nvigil:  %s", same, tc.sameDeb, deb, got)
				}
			}
			// LSB mode: /etc/init.d/web -> sv.
			inv := svEnv(svdir)
			inv.argv0 = "web"
			lsb := vigil.run(t, inv, "status")
			if normalise(lsb.stdout) != normalise(tc.want) || lsb.rc != tc.lsbRC {
				t.Errorf("LSB: got %s; want rc %d", lsb, tc.lsbRC)
			}
			if tc.log != logDirOnly && debian.present() {
				dl := debian.run(t, inv, "status")
				if same := normalise(dl.stdout) == normalise(lsb.stdout) && dl.rc == lsb.rc; same != tc.sameDLSB {
					t.Errorf("LSB same as Debian: %v, want %v\ndebian: %s\nvigil:  %s", same, tc.sameDLSB, dl, lsb)
				}
			}
		})
	}
}

// TestLSBStatusCodes: 4 when the state cannot be known, 1 with a fail:
// line when no supervisor runs, as runit.
func TestLSBStatusCodes(t *testing.T) {
	svdir := t.TempDir()
	makeService(t, svdir, "nosup", "exec sleep 100")
	dead := makeService(t, svdir, "dead", "exec sleep 100")
	f := newFake(t, dead)
	f.set(t, supervise.Status{Since: time.Now(), Want: supervise.WantUp})
	f.d.Close()
	bad := makeService(t, svdir, "bad", "exec sleep 100")
	newFake(t, bad).setRaw(t, []byte("short"))
	for _, c := range clients(t) {
		for _, tc := range []struct {
			name, out string
			rc        int
		}{
			{"nosup", "warning: nosup: unable to open supervise/ok: file does not exist\n", 4},
			{"bad", "warning: bad: unable to read supervise/status: bad format\n", 4},
			{"dead", "fail: dead: runsv not running\n", 1},
		} {
			inv := svEnv(svdir)
			inv.argv0 = tc.name
			if got := c.run(t, inv, "status"); got.stdout != tc.out || got.rc != tc.rc {
				t.Errorf("%s: %s status: got %s; want %q rc %d", c.name, tc.name, got, tc.out, tc.rc)
			}
		}
	}
}

// TestBytesWritten: each command writes runit's bytes to control, with
// runit's skip rules, except that 'u' is always sent (void-linux/runit
// #33). force-* time out here (SVWAIT=0) and then send 'k'.
func TestBytesWritten(t *testing.T) {
	old := time.Now().Add(-100 * time.Second)
	runUp := supervise.Status{Since: old, Pid: 4321, Want: supervise.WantUp, State: supervise.Run}
	runDown := supervise.Status{Since: old, Pid: 4321, Want: supervise.WantDown, State: supervise.Run}
	runDownTerm := supervise.Status{Since: old, Pid: 4321, Want: supervise.WantDown, Term: true, State: supervise.Run}
	for _, tc := range []struct {
		args        []string
		st          supervise.Status
		vigil, deb  string
		lsb         bool
		description string
	}{
		{[]string{"up"}, runUp, "u", "", false, "runit skips u when want is up"},
		{[]string{"up"}, runDown, "u", "u", false, ""},
		{[]string{"start"}, runUp, "u", "", false, ""},
		{[]string{"down"}, runUp, "d", "d", false, ""},
		{[]string{"down"}, runDown, "d", "d", false, "down after once"},
		{[]string{"down"}, runDownTerm, "", "", false, "TERM already sent"},
		{[]string{"stop"}, runDownTerm, "", "", false, ""},
		{[]string{"once"}, runUp, "o", "o", false, ""},
		{[]string{"pause"}, runUp, "p", "p", false, ""},
		{[]string{"cont"}, runUp, "c", "c", false, ""},
		{[]string{"hup"}, runUp, "h", "h", false, ""},
		{[]string{"alarm"}, runUp, "a", "a", false, ""},
		{[]string{"interrupt"}, runUp, "i", "i", false, ""},
		{[]string{"quit"}, runUp, "q", "q", false, ""},
		{[]string{"1"}, runUp, "1", "1", false, ""},
		{[]string{"2"}, runUp, "2", "2", false, ""},
		{[]string{"term"}, runUp, "t", "t", false, ""},
		{[]string{"kill"}, runUp, "k", "k", false, ""},
		{[]string{"exit"}, runUp, "x", "x", false, ""},
		{[]string{"reload"}, runUp, "h", "h", false, ""},
		{[]string{"restart"}, runUp, "tcu", "tcu", false, ""},
		{[]string{"shutdown"}, runUp, "x", "x", false, ""},
		{[]string{"try-restart"}, runUp, "tc", "tc", false, ""},
		{[]string{"check"}, runUp, "", "", false, ""},
		{[]string{"status"}, runUp, "", "", false, ""},
		{[]string{"force-stop"}, runUp, "dk", "dk", false, ""},
		{[]string{"force-reload"}, runUp, "tck", "tck", false, ""},
		{[]string{"force-restart"}, runUp, "tcuk", "tcuk", false, ""},
		{[]string{"force-shutdown"}, runUp, "xk", "xk", false, ""},
		{[]string{"X"}, runUp, "xk", "xk", false, ""},
		{[]string{"E"}, runUp, "xk", "xk", false, ""},
		{[]string{"D"}, runUp, "dk", "dk", false, ""},
		{[]string{"T"}, runUp, "tck", "tck", false, ""},
		{[]string{"-v", "term"}, runUp, "t", "t", false, ""},
		{[]string{"hup"}, runUp, "h", "h", true, "LSB"},
		{[]string{"restart"}, runUp, "tcu", "tcu", true, "LSB"},
	} {
		name := strings.Join(tc.args, " ") + " " + tc.description
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svdir := t.TempDir()
			dir := makeService(t, svdir, "web", "exec sleep 100")
			f := newFake(t, dir)
			for _, c := range clients(t) {
				f.set(t, tc.st)
				inv := svEnv(svdir, "SVWAIT=0")
				args := append(tc.args, "web")
				if tc.lsb {
					inv.argv0 = "web"
					args = tc.args
				}
				res := c.run(t, inv, args...)
				got := f.drain()
				want := tc.vigil
				if !c.vigil {
					want = tc.deb
				}
				if got != want {
					t.Errorf("%s sv wrote %q; want %q (%s)", c.name, got, want, res)
				}
			}
		})
	}
}

// TestNeverEarly: runit's sv compares whole seconds, so against a status
// written in the current second, restart and once "succeed" before the
// supervisor has done anything. vigil's sv waits for a new process.
func TestNeverEarly(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	for _, tc := range []struct {
		name  string
		args  []string
		st    supervise.Status
		after func(c byte, st supervise.Status) (supervise.Status, bool) // the supervisor's answer
		want  string                                                     // vigil's line
		rc    int
	}{
		{"restart ignored", []string{"restart"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run}, nil,
			"timeout: run: web: (pid 4242) 0s\n", 1},
		{"restart done", []string{"restart"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				if c != 'u' {
					return st, false
				}
				// Same second, a few microseconds later, as runsv writes.
				st.Since = st.Since.Add(3 * time.Microsecond)
				st.Pid = 4243
				return st, true
			},
			"ok: run: web: (pid 4243) 0s\n", 0},
		{"restart same pid newer time", []string{"restart"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				st.Since = st.Since.Add(time.Nanosecond)
				return st, c == 'u'
			},
			"ok: run: web: (pid 4242) 0s\n", 0},
		{"restart term not cleared", []string{"restart"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				st.Term = true
				return st, c == 't'
			},
			"timeout: run: web: (pid 4242) 0s, got TERM\n", 1},
		{"once ignored", []string{"-w", "1", "once"},
			supervise.Status{Want: supervise.WantDown}, nil,
			"timeout: down: web: 0s, normally up\n", 1},
		{"once down without a run", []string{"-w", "1", "once"},
			supervise.Status{Want: supervise.WantUp},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				st.Want = supervise.WantDown
				return st, c == 'o'
			},
			"timeout: down: web: 0s, normally up\n", 1},
		{"once ran", []string{"-w", "1", "once"},
			supervise.Status{Want: supervise.WantDown},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				st.Pid, st.State = 99, supervise.Run
				return st, c == 'o'
			},
			"ok: run: web: (pid 99) 0s, want down\n", 0},
		{"up not yet read", []string{"-w", "1", "up"},
			supervise.Status{Pid: 4242, Want: supervise.WantDown, State: supervise.Run}, nil,
			"timeout: run: web: (pid 4242) 0s, want down\n", 1},
		{"down not yet done", []string{"-w", "1", "down"},
			supervise.Status{Want: supervise.WantUp},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				return st, false // read, but want stays up
			},
			"timeout: down: web: 0s, normally up, want up\n", 1},
		{"pause", []string{"-w", "1", "pause"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				st.Paused = true
				return st, c == 'p'
			},
			"ok: run: web: (pid 4242) 0s, paused\n", 0},
		// -w 0 still gets runit's one look, after its first 420 ms.
		{"down with -w 0", []string{"-w", "0", "down"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run},
			func(c byte, st supervise.Status) (supervise.Status, bool) {
				st.Pid, st.State, st.Want = 0, supervise.Down, supervise.WantDown
				return st, c == 'd'
			},
			"ok: down: web: 0s, normally up\n", 0},
		{"hup unread", []string{"-w", "1", "hup"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run}, nil,
			"timeout: run: web: (pid 4242) 0s\n", 1},
		{"hup read", []string{"reload"},
			supervise.Status{Pid: 4242, Want: supervise.WantUp, State: supervise.Run},
			func(c byte, st supervise.Status) (supervise.Status, bool) { return st, false },
			"ok: run: web: (pid 4242) 0s\n", 0},
		// runit 2.1.2 prints ok at once here; 2.3.0 and vigil wait for
		// the wanted state.
		{"check waits for want up", []string{"-w", "1", "check"},
			supervise.Status{Want: supervise.WantUp}, nil,
			"timeout: down: web: 0s, normally up, want up\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Each sv gets its own fake supervisor, so that one's late
			// bytes cannot move the other's status.
			play := func(c client) result {
				svdir := t.TempDir()
				dir := makeService(t, svdir, "web", "exec sleep 100")
				f := newFake(t, dir)
				var mu sync.Mutex
				cur := tc.st
				cur.Since = time.Now()
				f.set(t, cur)
				if tc.after != nil {
					f.serve(t, func(c byte) {
						mu.Lock()
						defer mu.Unlock()
						if st, ok := tc.after(c, cur); ok {
							cur = st
							f.set(t, st)
						}
					})
				}
				return c.run(t, svEnv(svdir, "SVWAIT=1"), append(tc.args, "web")...)
			}
			if debian.present() {
				t.Logf("Debian's sv: %s", play(debian))
			}
			// Only the answer is asserted, not how soon it came: an
			// "ok:" line with rc 0 was given before the deadline, and
			// the deadline is what -w 1 (SVWAIT=1) asks for. How fast
			// sv answers is measured by make bench.
			got := play(vigil)
			if normalise(got.stdout) != normalise(tc.want) || got.rc != tc.rc {
				t.Errorf("got %s\nwant %q, rc %d", got, tc.want, tc.rc)
			}
		})
	}
}
