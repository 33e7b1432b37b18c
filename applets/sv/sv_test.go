package sv

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

func TestParseAction(t *testing.T) {
	for _, tc := range []struct {
		action string
		lsb    bool
		want   command
		ok     bool
	}{
		{"status", false, command{act: actStatus, acts: "s"}, true},
		{"sxyz", false, command{act: actStatus, acts: "s"}, true},
		{"sxyz", true, command{}, false},
		{"status", true, command{act: actStatus, acts: "s"}, true},
		{"up", false, command{acts: "u"}, true},
		{"unicorn", false, command{acts: "u"}, true},
		{"down", false, command{acts: "d"}, true},
		{"once", false, command{acts: "o"}, true},
		{"pause", false, command{acts: "p"}, true},
		{"cont", false, command{acts: "c"}, true},
		{"hup", false, command{acts: "h"}, true},
		{"alarm", false, command{acts: "a"}, true},
		{"interrupt", false, command{acts: "i"}, true},
		{"quit", false, command{acts: "q"}, true},
		{"1", false, command{acts: "1"}, true},
		{"2", false, command{acts: "2"}, true},
		{"term", false, command{acts: "t"}, true},
		{"kill", false, command{acts: "k"}, true},
		{"exit", false, command{acts: "x"}, true},
		{"e", false, command{acts: "x"}, true},
		{"start", false, command{acts: "u", wait: true}, true},
		{"stop", false, command{acts: "d", wait: true}, true},
		{"reload", false, command{acts: "h", wait: true}, true},
		{"restart", false, command{acts: "tcu", wait: true}, true},
		{"shutdown", false, command{acts: "x", wait: true}, true},
		{"force-stop", false, command{acts: "d", wait: true, kill: true}, true},
		{"force-reload", false, command{acts: "tc", wait: true, kill: true}, true},
		{"force-restart", false, command{acts: "tcu", wait: true, kill: true}, true},
		{"force-shutdown", false, command{acts: "x", wait: true, kill: true}, true},
		{"try-restart", false, command{acts: "tc", wait: true}, true},
		{"check", false, command{act: actNone, acts: "C", wait: true}, true},
		{"X", false, command{acts: "x", wait: true, kill: true}, true},
		{"E", false, command{acts: "x", wait: true, kill: true}, true},
		{"D", false, command{acts: "d", wait: true, kill: true}, true},
		{"T", false, command{acts: "tc", wait: true, kill: true}, true},
		{"reboot", false, command{}, false},
		{"force", false, command{}, false},
		{"bogus", false, command{}, false},
		{"", false, command{}, false},
		{"up", true, command{acts: "u"}, true},
	} {
		got, ok := parseAction(tc.action, tc.lsb)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseAction(%q, lsb %v) = %+v, %v; want %+v, %v", tc.action, tc.lsb, got, ok, tc.want, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	r := &run{svdir: "/etc/service/"}
	for _, tc := range []struct{ name, want string }{
		{"web", "/etc/service/web"},
		{"web/log", "/etc/service/web/log"},
		{"./web", "./web"},
		{".web", ".web"},
		{"/srv/web", "/srv/web"},
		{"web/", "web/"},
		{"", ""},
	} {
		if got := r.resolve(tc.name); got != tc.want {
			t.Errorf("resolve(%q) = %q; want %q", tc.name, got, tc.want)
		}
	}
}

func TestScanUlong(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"7", 7 * time.Second}, {"", 0}, {"x", 0}, {"12abc", 12 * time.Second}, {"-3", 0}} {
		if got := scanUlong(tc.in); got != tc.want {
			t.Errorf("scanUlong(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

// TestUsageLikeDebian runs bad command lines through both svs: same
// stdout, stderr and exit code (the version string aside). Unknown
// commands, which vigil names, are in TestUnknownCommand.
func TestUsageLikeDebian(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	svdir := t.TempDir()
	for _, tc := range []struct {
		name   string
		argv0  string
		args   []string
		wantRC int
	}{
		{"no args", "", nil, 100},
		{"no service", "", []string{"status"}, 100},
		{"illegal option", "", []string{"-z", "status", "web"}, 100},
		{"-w without argument", "", []string{"-w"}, 100},
		{"empty command", "", []string{"", "web"}, 100},
		{"lsb no command", "web", nil, 2},
		{"lsb illegal option", "web", []string{"-z", "status"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := svEnv(svdir)
			inv.argv0 = tc.argv0
			got := vigil.run(t, inv, tc.args...)
			if debian.present() {
				want := debian.run(t, inv, tc.args...)
				if got.stdout != want.stdout || got.stderr != want.stderr || got.rc != want.rc {
					t.Errorf("vigil: %s\ndebian: %s", got, want)
				}
			}
			if got.rc != tc.wantRC {
				t.Errorf("rc %d; want %d", got.rc, tc.wantRC)
			}
		})
	}
	t.Run("version", func(t *testing.T) {
		got := vigil.run(t, svEnv(svdir), "-V")
		want := "$Id: vigil sv $\nusage: sv [-v] [-w sec] command service ...\n\n"
		if got.stderr != want || got.rc != 100 {
			t.Errorf("got %s; want stderr %q, rc 100", got, want)
		}
	})
}

// TestBadInput: each broken setup gives one line in runit's format, the
// right exit code, and no hang.
func TestBadInput(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	svdir := t.TempDir()
	makeService(t, svdir, "nosup", "exec sleep 100")
	empty := makeService(t, svdir, "empty", "exec sleep 100")
	os.Mkdir(filepath.Join(empty, "supervise"), 0o700)
	dead := makeService(t, svdir, "dead", "exec sleep 100")
	f := newFake(t, dead)
	f.set(t, supervise.Status{Since: time.Now(), Want: supervise.WantUp})
	f.d.Close() // the FIFOs stay, nobody reads them: a supervisor that died
	short := makeService(t, svdir, "short", "exec sleep 100")
	newFake(t, short).setRaw(t, []byte("0123456789"))
	long := makeService(t, svdir, "long", "exec sleep 100")
	good := supervise.Status{Since: time.Now(), Pid: 99, Want: supervise.WantUp, State: supervise.Run}
	gb := good.Bytes()
	newFake(t, long).setRaw(t, append(gb[:], 0))
	junk := makeService(t, svdir, "junk", "exec sleep 100")
	newFake(t, junk).setRaw(t, []byte("\xff\xfejunk junk junk junk"))
	nostatus := makeService(t, svdir, "nostatus", "exec sleep 100")
	ns := newFake(t, nostatus)
	os.Remove(filepath.Join(ns.d.Path, "status"))
	os.WriteFile(filepath.Join(svdir, "file"), nil, 0o644)

	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		rc      int
		sameDeb bool // Debian's sv prints the same
	}{
		{"missing service", []string{"status", "nope"}, "fail: nope: unable to change to service directory: file does not exist\n", 1, true},
		{"not a directory", []string{"up", "file"}, "fail: file: unable to change to service directory: not a directory\n", 1, true},
		{"missing supervise", []string{"status", "nosup"}, "warning: nosup: unable to open supervise/ok: file does not exist\n", 1, true},
		{"missing supervise, up", []string{"up", "nosup"}, "warning: nosup: unable to open supervise/ok: file does not exist\n", 1, true},
		{"empty supervise", []string{"down", "empty"}, "warning: empty: unable to open supervise/ok: file does not exist\n", 1, true},
		{"supervisor died", []string{"status", "dead"}, "fail: dead: runsv not running\n", 1, true},
		{"supervisor died, restart", []string{"restart", "dead"}, "fail: dead: runsv not running\n", 1, true},
		{"supervisor died, exit", []string{"exit", "dead"}, "ok: dead: runsv not running\n", 0, true},
		{"supervisor died, shutdown", []string{"shutdown", "dead"}, "ok: dead: runsv not running\n", 0, true},
		{"no status file", []string{"status", "nostatus"}, "warning: nostatus: unable to open supervise/status: file does not exist\n", 1, true},
		{"short status", []string{"status", "short"}, "warning: short: unable to read supervise/status: bad format\n", 1, true},
		{"long status", []string{"status", "long"}, "warning: long: unable to read supervise/status: bad format\n", 1, false},
		{"junk status", []string{"status", "junk"}, "warning: junk: unable to read supervise/status: bad format\n", 1, false},
		{"junk status, up", []string{"-w", "1", "up", "junk"}, "warning: junk: unable to read supervise/status: bad format\n", 1, false},
		{"several", []string{"status", "nope", "dead", "nosup"}, "fail: nope: unable to change to service directory: file does not exist\nfail: dead: runsv not running\nwarning: nosup: unable to open supervise/ok: file does not exist\n", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := vigil.run(t, svEnv(svdir), tc.args...)
			if got.stdout != tc.want || got.rc != tc.rc || got.stderr != "" {
				t.Errorf("got %s\nwant stdout %q, rc %d", got, tc.want, tc.rc)
			}
			// None of these waits: an answer after sv's default 7 s
			// would be a wait, not a slow machine.
			if got.took >= 7*time.Second {
				t.Errorf("took %v: sv waited out its timeout", got.took)
			}
			if tc.sameDeb && debian.present() {
				if deb := debian.run(t, svEnv(svdir), tc.args...); deb.stdout != got.stdout || deb.rc != got.rc {
					t.Errorf("debian: %s\nvigil: %s", deb, got)
				}
			}
		})
	}
	t.Run("failure count capped at 99", func(t *testing.T) {
		args := []string{"status"}
		for i := 0; i < 120; i++ {
			args = append(args, "nope")
		}
		if got := vigil.run(t, svEnv(svdir), args...); got.rc != 99 || len(lines(got.stdout)) != 120 {
			t.Errorf("rc %d, %d lines; want 99, 120", got.rc, len(lines(got.stdout)))
		}
	})
}

// TestNotRoot: a user who may not open control or ok gets runit's
// warning, not a hang or a crash.
func TestNotRoot(t *testing.T) {
	testenv.RequireRoot(t, "switching to user nobody")
	// A copy of the test binary that user nobody may run.
	bin, err := os.MkdirTemp("", "sv-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	os.Chmod(bin, 0o755)
	exe, _ := os.Executable()
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(bin, "sv.test")
	if err := os.WriteFile(copyPath, data, 0o755); err != nil {
		t.Fatal(err)
	}
	svdir := filepath.Join(bin, "service")
	os.Mkdir(svdir, 0o755)
	dir := makeService(t, svdir, "web", "exec sleep 100")
	f := newFake(t, dir)
	f.set(t, supervise.Status{Since: time.Now(), Pid: 7, Want: supervise.WantUp, State: supervise.Run})
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}

	inv := svEnv(svdir)
	inv.cred, inv.path = nobody, copyPath
	got := vigilSv(t).run(t, inv, "restart", "web")
	want := "warning: web: unable to open supervise/ok: access denied\n"
	if got.stdout != want || got.rc != 1 {
		t.Errorf("supervise/ 0700: got %s; want %q, rc 1", got, want)
	}
	if debian := debianSv(t); debian.present() {
		deb := debian.run(t, invocation{env: inv.env, cred: nobody}, "restart", "web")
		if deb.stdout != got.stdout || deb.rc != got.rc {
			t.Errorf("debian: %s", deb)
		}
	}

	// ok and status readable, control not: the send fails.
	os.Chmod(f.d.Path, 0o755)
	os.Chmod(filepath.Join(f.d.Path, "ok"), 0o622)
	got = vigilSv(t).run(t, inv, "down", "web")
	want = "warning: web: unable to open supervise/control: access denied\n"
	if got.stdout != want || got.rc != 1 {
		t.Errorf("control 0600: got %s; want %q, rc 1", got, want)
	}
	if st := vigilSv(t).run(t, inv, "status", "web"); !strings.HasPrefix(st.stdout, "run: web: (pid 7) ") || st.rc != 0 {
		t.Errorf("status as nobody: %s", st)
	}
	if b := f.drain(); b != "" {
		t.Errorf("control got %q", b)
	}
}
