package runsvdir_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/svtest"
	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestRunsvdirCheck is runit's src/runsvdir.check: no directory is a
// usage error, exit 1. vigil, like runit, names itself by argv[0].
func TestRunsvdirCheck(t *testing.T) {
	for _, im := range svtest.Runsvdirs(t) {
		for _, args := range [][]string{nil, {"-P"}} {
			t.Run(im.Name+"/"+strings.Join(args, ""), func(t *testing.T) {
				want := "usage: runsvdir [-P] dir\n\n"
				if code, stderr := im.RunNamed("runsvdir", args...); code != 1 || stderr != want {
					t.Errorf("runsvdir %q: got %d %q; want 1 %q", args, code, stderr, want)
				}
			})
		}
	}
}

// TestEmptyDirectoryName: "" is a directory name like any other, one that
// does not exist: runsvdir waits for it, as runit's does, and says why.
func TestEmptyDirectoryName(t *testing.T) {
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			p := svtest.Start(t, t.TempDir(), append(im.Argv, ""), im.Env...)
			testenv.WaitFor(t, 5*time.Second, "a warning", func() bool { return strings.Contains(p.Stderr(), "warning:") })
			if p.Exited() {
				t.Errorf("runsvdir '' exited: %q; want it to wait", p.Stderr())
			}
		})
	}
}

// TestShortLog: a log argument under seven characters is refused with
// runit's two warnings, and runsvdir carries on.
func TestShortLog(t *testing.T) {
	got := map[string]string{}
	for _, im := range svtest.Runsvdirs(t) {
		root := t.TempDir()
		os.Mkdir(filepath.Join(root, "sv"), 0o755)
		p := svtest.Start(t, root, append(im.Argv, "sv", "log"), im.Env...)
		want := "runsvdir sv: warning: log must have at least seven characters.\nrunsvdir sv: warning: log service disabled.\n"
		testenv.WaitFor(t, 5*time.Second, im.Name+" warnings", func() bool { return p.Stderr() == want })
		if p.Exited() {
			t.Errorf("%s exited after the short log warning; want it to carry on", im.Name)
		}
		got[im.Name] = p.Stderr()
	}
	if r, ok := got["runit"]; ok && got["vigil"] != r {
		t.Errorf("stderr: vigil %q, runit %q", got["vigil"], got["runit"])
	}
}

// TestLogArgument: with a log argument, runsvdir's standard error, and so
// every service's, scrolls through that argument where ps shows it: the
// first five characters stay, the newest bytes come last. Both runsvdirs.
func TestLogArgument(t *testing.T) {
	log := "log: " + strings.Repeat(".", 200)
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			sv := filepath.Join(root, "sv")
			svtest.WriteFiles(t, sv, map[string]string{"a/run": "#!/bin/sh\necho from-a >&2\nexec sleep 100\n"})
			os.Symlink("nowhere", filepath.Join(sv, "dangling"))
			p := svtest.Start(t, root, append(im.Argv, "sv", log), im.Env...)
			var title string
			testenv.WaitFor(t, 10*time.Second, "the service's line and runsvdir's warning in the title", func() bool {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.Cmd.Process.Pid))
				args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
				title = args[len(args)-1]
				return strings.Contains(title, "from-a\n") && strings.Contains(title, "warning: unable to stat dangling")
			})
			if !strings.HasPrefix(title, "log: ") || len(title) != len(log) || !strings.HasSuffix(title, "\n") {
				t.Errorf("title %q; want %d characters, starting with \"log: \", the newest line last", title, len(log))
			}
			if got := p.Stderr(); got != "" {
				t.Errorf("stderr %q; want everything in the title", got)
			}
		})
	}
}

// TestSwitchedSymlink: the directory is a symlink switched to another
// target, as runsvchdir does: the services of the new target run, those of
// the old stop. Both runsvdirs; vigil sees it at once, runit at its next
// look, within five seconds.
func TestSwitchedSymlink(t *testing.T) {
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			run := "#!/bin/sh\nexec sleep 1000\n"
			svtest.WriteFiles(t, filepath.Join(root, "one"), map[string]string{"a/run": run})
			svtest.WriteFiles(t, filepath.Join(root, "two"), map[string]string{"b/run": run})
			if err := os.Symlink("one", filepath.Join(root, "sv")); err != nil {
				t.Fatal(err)
			}
			svtest.Start(t, root, append(im.Argv, "sv"), im.Env...)
			a := svtest.WaitRunning(t, filepath.Join(root, "one", "a"))
			if err := os.Symlink("two", filepath.Join(root, "new")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(root, "new"), filepath.Join(root, "sv")); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			svtest.WaitRunning(t, filepath.Join(root, "two", "b"))
			testenv.WaitFor(t, 10*time.Second, "a stopped", func() bool { return !svtest.Alive(a) })
			t.Logf("switched in %v", time.Since(t0))
		})
	}
}

// TestForcedRescan: SIGALRM makes Debian's runsvdir rescan and write the
// time to DIR/.forced-rescan (a TAI64N label, no newline), which is itself
// not a service. Both runsvdirs.
func TestForcedRescan(t *testing.T) {
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			sv := filepath.Join(root, "sv")
			svtest.WriteFiles(t, sv, map[string]string{"a/run": "#!/bin/sh\nexec sleep 1000\n"})
			p := svtest.Start(t, root, append(im.Argv, "sv"), im.Env...)
			svtest.WaitRunning(t, filepath.Join(sv, "a"))
			p.Cmd.Process.Signal(syscall.SIGALRM)
			mark := filepath.Join(sv, ".forced-rescan")
			testenv.WaitFor(t, 10*time.Second, mark, func() bool { return len(svtest.ReadFile(mark)) == 25 })
			if got := svtest.ReadFile(mark); !regexp.MustCompile(`^@4000[0-9a-f]{20}$`).MatchString(got) {
				t.Errorf("%s = %q; want a TAI64N label", mark, got)
			}
			if p.Exited() {
				t.Errorf("runsvdir exited on SIGALRM: %q", p.Stderr())
			}
		})
	}
}

// TestMissingDirectory: both runsvdirs wait for a directory that does not
// exist yet and supervise it once it appears; vigil's says so once, not
// every second.
func TestMissingDirectory(t *testing.T) {
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			p := svtest.Start(t, root, append(im.Argv, "sv"), im.Env...)
			testenv.WaitFor(t, 5*time.Second, "a warning about the missing directory", func() bool { return p.Stderr() != "" })
			if p.Exited() {
				t.Fatalf("%s exited on a missing directory; want it to wait (stderr %q)", im.Name, p.Stderr())
			}
			svtest.WriteFiles(t, filepath.Join(root, "new"), map[string]string{"a/run": "#!/bin/sh\nexec sleep 100\n"})
			if err := os.Rename(filepath.Join(root, "new"), filepath.Join(root, "sv")); err != nil {
				t.Fatal(err)
			}
			svtest.WaitRunning(t, filepath.Join(root, "sv", "a"))
			if im.Name == "vigil" {
				if got, want := p.Stderr(), "runsvdir sv: warning: unable to read directory: file does not exist\n"; got != want {
					t.Errorf("stderr = %q; want %q, once", got, want)
				}
			}
		})
	}
}

// TestEntries: subdirectories and symlinks to directories are services;
// dot-names, files and dangling symlinks are not; two names for one
// directory (same device and inode) get one supervisor. Both runsvdirs.
func TestEntries(t *testing.T) {
	run := "#!/bin/sh\necho x >>starts\nexec sleep 100\n"
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			sv := filepath.Join(root, "sv")
			svtest.WriteFiles(t, sv, map[string]string{
				"a/run":       run,
				".hidden/run": run,
				"file":        "",
			})
			svtest.WriteFiles(t, filepath.Join(root, "elsewhere"), map[string]string{"b/run": run})
			os.Symlink("../elsewhere/b", filepath.Join(sv, "b"))
			os.Symlink("a", filepath.Join(sv, "a2"))
			os.Symlink("nowhere", filepath.Join(sv, "dangling"))
			p := svtest.Start(t, root, append(im.Argv, "sv"), im.Env...)
			svtest.WaitRunning(t, filepath.Join(sv, "a"))
			svtest.WaitRunning(t, filepath.Join(sv, "b"))
			testenv.WaitFor(t, 10*time.Second, "the dangling symlink's warning", func() bool {
				return strings.Contains(p.Stderr(), "runsvdir sv: warning: unable to stat dangling: file does not exist\n")
			})
			// Running is in the status before run has written its line.
			testenv.WaitFor(t, 10*time.Second, "a's start recorded", func() bool {
				return svtest.ReadFile(filepath.Join(sv, "a/starts")) != ""
			})
			if got := svtest.ReadFile(filepath.Join(sv, "a/starts")); got != "x\n" {
				t.Errorf("a (also linked as a2) started %q; want once", got)
			}
			if strings.Contains(p.Stderr(), "lock") {
				t.Errorf("a second supervisor tried a/: %q", p.Stderr())
			}
			for _, skip := range []string{".hidden", "file"} {
				if _, err := os.Stat(filepath.Join(sv, skip, "supervise")); err == nil {
					t.Errorf("%s was supervised; want it skipped", skip)
				}
			}
		})
	}
}

// TestNewAndRemovedEntries: inotify brings a service that is renamed into
// the directory up at once, long before the minute's scan would; a renamed
// entry keeps its supervisor; a removed one is stopped, at once too.
func TestNewAndRemovedEntries(t *testing.T) {
	im := svtest.Runsvdirs(t)[0]
	root := t.TempDir()
	sv := filepath.Join(root, "sv")
	os.Mkdir(sv, 0o755)
	p := svtest.Start(t, root, append(im.Argv, "sv"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("runsvdir's stderr:\n%s", p.Stderr())
		}
	})
	time.Sleep(50 * time.Millisecond) // let it start watching; the scan would find it anyway
	svtest.WriteFiles(t, filepath.Join(root, "new"), map[string]string{"run": "#!/bin/sh\necho $$ >started\nexec sleep 100\n"})
	t0 := time.Now()
	if err := os.Rename(filepath.Join(root, "new"), filepath.Join(sv, "web")); err != nil {
		t.Fatal(err)
	}
	svc := filepath.Join(sv, "web")
	// Within five seconds, where the scan is once a minute: inotify.
	testenv.WaitFor(t, 5*time.Second, "the new service started", func() bool { return svtest.ReadFile(filepath.Join(svc, "started")) != "" })
	t.Logf("a new service ran %v after it appeared", time.Since(t0))
	pid := svtest.WaitRunning(t, svc)

	// Renamed: the same supervisor and process, found at the new name.
	if err := os.Rename(svc, filepath.Join(sv, "web2")); err != nil {
		t.Fatal(err)
	}
	svc = filepath.Join(sv, "web2")
	svtest.Send(t, svc, "p")
	testenv.WaitFor(t, 5*time.Second, "p through the renamed service", func() bool {
		st := svtest.Status(t, svc)
		return st.Paused && st.Pid == pid
	})
	svtest.Send(t, svc, "c")
	testenv.WaitFor(t, 5*time.Second, "c through the renamed service", func() bool { return !svtest.Status(t, svc).Paused })

	// Removed: stopped within milliseconds.
	t0 = time.Now()
	if err := os.Rename(svc, filepath.Join(root, "gone")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "the removed service stopped", func() bool { return !svtest.Alive(pid) })
	t.Logf("a removed service stopped %v after it went", time.Since(t0))
	testenv.WaitFor(t, 5*time.Second, "its supervisor gone", func() bool { return !svtest.Supervised(filepath.Join(root, "gone")) })
	// Its last status went where the directory went, as runsv's does.
	if got := svtest.ReadFile(filepath.Join(root, "gone", "supervise", "stat")); got != "down\n" {
		t.Errorf("gone/supervise/stat = %q; want \"down\\n\"", got)
	}
	if strings.Contains(p.Stderr(), "unable") {
		t.Errorf("stderr %q; want no complaint", p.Stderr())
	}
}

// TestExitRestarted: a service told to exit while its entry is still
// there is supervised again a second later, as runsvdir restarts a runsv
// that exited.
func TestExitRestarted(t *testing.T) {
	for _, im := range svtest.Runsvdirs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			sv, _ := svtest.Supervise(t, im, "sv", map[string]string{"web/run": "#!/bin/sh\nexec sleep 100\n"})
			svc := filepath.Join(sv, "web")
			pid := svtest.WaitRunning(t, svc)
			svtest.Send(t, svc, "x")
			testenv.WaitFor(t, 5*time.Second, "the service gone", func() bool { return !svtest.Alive(pid) && !svtest.Supervised(svc) })
			t0 := time.Now()
			testenv.WaitFor(t, 10*time.Second, "the service back", func() bool {
				st, ok := svtest.StatusOK(svc)
				return ok && svtest.Supervised(svc) && st.Pid != 0 && st.Pid != pid
			})
			t.Logf("%s: back after %v", im.Name, time.Since(t0))
		})
	}
}

// TestNoServiceCap: runsvdir stops at 1000 services; vigil does not.
func TestNoServiceCap(t *testing.T) {
	im := svtest.Runsvdirs(t)[0]
	root := t.TempDir()
	sv := filepath.Join(root, "sv")
	const n = 1001
	for i := 0; i < n; i++ {
		svtest.WriteFiles(t, filepath.Join(sv, fmt.Sprintf("s%04d", i)), map[string]string{
			"run":  "#!/bin/sh\nexec sleep 100\n",
			"down": "",
		})
	}
	p := svtest.Start(t, root, append(im.Argv, "sv"))
	for i := n - 1; i >= 0; i-- {
		svc := filepath.Join(sv, fmt.Sprintf("s%04d", i))
		testenv.WaitFor(t, 20*time.Second, svc+" supervised", func() bool { return svtest.Supervised(svc) })
	}
	if strings.Contains(p.Stderr(), "too many") {
		t.Errorf("stderr: %q", p.Stderr())
	}
	last := filepath.Join(sv, fmt.Sprintf("s%04d", n-1))
	svtest.Send(t, last, "u")
	svtest.WaitRunning(t, last)
}

// TestSignals: TERM, and INT, stop every service (TERM, CONT, KILL after
// VIGIL_GRACE for one that ignores TERM), let the logger drain, and exit
// 0; HUP does the same and exits 111. runit's runsvdir leaves its
// services running on TERM; vigil deliberately does not.
func TestSignals(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 0}, {syscall.SIGINT, 0}, {syscall.SIGHUP, 111}} {
		t.Run(c.sig.String(), func(t *testing.T) {
			t.Parallel()
			im := svtest.Runsvdirs(t)[0]
			sv, p := svtest.Supervise(t, im, "sv", map[string]string{
				"rec/run":        svtest.RecorderRun(t),
				"stubborn/run":   "#!/bin/sh\ntrap '' TERM\ntouch ignoring\nexec sleep 100\n",
				"logged/run":     "#!/bin/sh\necho hello\nexec sleep 100\n",
				"logged/log/run": "#!/bin/sh\nexec cat >out\n",
			}, "VIGIL_GRACE=500ms")
			var pids []int
			for _, s := range []string{"rec", "stubborn", "logged", "logged/log"} {
				pids = append(pids, svtest.WaitRunning(t, filepath.Join(sv, s)))
			}
			testenv.WaitFor(t, 5*time.Second, "the helper ready", func() bool { return svtest.ReadFile(filepath.Join(sv, "rec/ready")) != "" })
			// TERM must find the stubborn service already ignoring it.
			testenv.WaitFor(t, 5*time.Second, "the stubborn service ignoring TERM", func() bool {
				_, err := os.Stat(filepath.Join(sv, "stubborn/ignoring"))
				return err == nil
			})
			svtest.WaitFile(t, filepath.Join(sv, "logged/log/out"), "hello\n")
			// Fault signals sent with kill are dropped: no crash, no
			// stack dump, the exit code below is still the signal's.
			for _, sig := range []syscall.Signal{syscall.SIGABRT, syscall.SIGSEGV, syscall.SIGSYS} {
				p.Cmd.Process.Signal(sig)
			}
			t0 := time.Now()
			p.Cmd.Process.Signal(c.sig)
			if code := p.Wait(t, 10*time.Second); code != c.code {
				t.Errorf("exit %d; want %d; stderr %q", code, c.code, p.Stderr())
			}
			took := time.Since(t0)
			if took < 450*time.Millisecond || took > 5*time.Second {
				t.Errorf("took %v; want the 500ms grace for the stubborn service, then KILL", took)
			}
			for i, pid := range pids {
				if svtest.Alive(pid) {
					t.Errorf("process %d (%d) still alive after runsvdir exited", i, pid)
				}
			}
			if got := svtest.ReadFile(filepath.Join(sv, "rec/signals")); got != "TERM\nCONT\n" {
				t.Errorf("the service got %q; want TERM then CONT", got)
			}
		})
	}
}

// TestSessions: -P puts each service in its own session; without it the
// services share runsvdir's.
func TestSessions(t *testing.T) {
	im := svtest.Runsvdirs(t)[0]
	for _, setsid := range []bool{false, true} {
		t.Run(fmt.Sprint("P=", setsid), func(t *testing.T) {
			root := t.TempDir()
			svc := filepath.Join(root, "sv", "web")
			svtest.WriteFiles(t, svc, map[string]string{"run": "#!/bin/sh\nexec sleep 100\n"})
			argv := append([]string{}, im.Argv...)
			if setsid {
				argv = append(argv, "-P")
			}
			p := svtest.Start(t, root, append(argv, "sv"))
			pid := svtest.WaitRunning(t, svc)
			got, mine := svtest.Sid(pid), svtest.Sid(p.Cmd.Process.Pid)
			if setsid && got != pid {
				t.Errorf("with -P the service's session is %d; want its own, %d", got, pid)
			}
			if !setsid && got != mine {
				t.Errorf("without -P the service's session is %d; want runsvdir's, %d", got, mine)
			}
		})
	}
}

// TestBadInput: each broken service gets a clear message naming it, and
// the rest keep running and keep answering.
func TestBadInput(t *testing.T) {
	im := svtest.Runsvdirs(t)[0]
	root := t.TempDir()
	sv := filepath.Join(root, "sv")
	run := "#!/bin/sh\nexec sleep 100\n"
	svtest.WriteFiles(t, sv, map[string]string{
		"good/run":                  run,
		"norun/finish":              "",
		"noexec/run":                run,
		"rundir/run/x":              "",
		"supfile/run":               run,
		"supfile/supervise":         "",
		"ctlfile/run":               run,
		"ctlfile/supervise/control": "",
		"okfile/run":                "#!/bin/sh\necho x >>started\nexec sleep 100\n",
		"okfile/supervise/ok":       "",
		"with space/run":            run,
		"garbage/run":               run,
		"hookhang/run":              run,
		"hookhang/control/t":        "#!/bin/sh\necho t >hooked\nexec sleep 100\n",
		"finishhang/run":            "#!/bin/sh\nexit 0\n",
		"finishhang/finish":         "#!/bin/sh\nexec sleep 100\n",
		"forkexit/run":              "#!/bin/sh\necho x >>starts\nsleep 100 </dev/null >/dev/null 2>&1 &\nexit 0\n",
		"deleteme/run":              run,
		"supdangling/run":           run,
	})
	os.Remove(filepath.Join(sv, "norun/finish"))
	os.Chmod(filepath.Join(sv, "noexec/run"), 0o644)
	os.Symlink("../../sup-target", filepath.Join(sv, "supdangling/supervise"))
	p := svtest.Start(t, root, append(im.Argv, "sv"), "VIGIL_GRACE=100ms")
	t0 := time.Now()

	good := filepath.Join(sv, "good")
	goodPid := svtest.WaitRunning(t, good)
	for _, name := range []string{"with space", "garbage", "hookhang", "deleteme", "supdangling"} {
		svtest.WaitRunning(t, filepath.Join(sv, name))
	}
	if st, err := os.Stat(filepath.Join(root, "sup-target/status")); err != nil || st.Size() != 20 {
		t.Errorf("supervise through a dangling symlink: %v %v; want sup-target/status made", st, err)
	}
	for _, want := range []string{
		"runsv norun: fatal: unable to start ./run: file does not exist\n",
		"runsv noexec: fatal: unable to start ./run: access denied\n",
		"runsv rundir: fatal: unable to start ./run: access denied\n",
		"runsv supfile: warning: unable to start: supervise exists but is not a directory\n",
		"runsv ctlfile: warning: unable to start: supervise/control exists but is not a fifo\n",
		"runsv okfile: warning: unable to start: supervise/ok exists but is not a fifo\n",
	} {
		testenv.WaitFor(t, 5*time.Second, "message "+want, func() bool { return strings.Contains(p.Stderr(), want) })
	}
	// Nothing runs for a service that could not be set up, however often
	// the scan retries it.
	defer func() {
		if _, err := os.Stat(filepath.Join(sv, "okfile/started")); err == nil {
			t.Errorf("okfile's run was started though its supervise/ok is no fifo")
		}
	}()

	// A megabyte of bytes that are no command, then a command.
	garbage := filepath.Join(sv, "garbage")
	gpid := svtest.Status(t, garbage).Pid
	junk := bytes.Repeat([]byte("\x00\n zZ?\xff-+e"), 1<<20/10)
	f, err := os.OpenFile(filepath.Join(garbage, "supervise/control"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(junk); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st := svtest.Status(t, garbage); st.Pid != gpid || st.State != supervise.Run {
		t.Errorf("after a megabyte of garbage: %+v; want pid %d still running", st, gpid)
	}
	svtest.Send(t, garbage, "d")
	testenv.WaitFor(t, 5*time.Second, "garbage down after d", func() bool { return svtest.Status(t, garbage).Pid == 0 })

	// A hook that hangs holds back its own service only.
	hookhang := filepath.Join(sv, "hookhang")
	svtest.Send(t, hookhang, "t")
	svtest.WaitFile(t, filepath.Join(hookhang, "hooked"), "t\n")
	// A finish that hangs: the service waits in finish, and still takes commands.
	finishhang := filepath.Join(sv, "finishhang")
	testenv.WaitFor(t, 5*time.Second, "finishhang in finish", func() bool {
		st, ok := svtest.StatusOK(finishhang)
		return ok && st.State == supervise.Finish && st.Pid != 0
	})
	svtest.Send(t, finishhang, "d")
	svtest.WaitFile(t, filepath.Join(finishhang, "supervise/stat"), "finish, want down\n")

	// Deleted while running: stopped, and nothing else is.
	deleteme := filepath.Join(sv, "deleteme")
	dpid := svtest.Status(t, deleteme).Pid
	if err := os.RemoveAll(deleteme); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "the deleted service stopped", func() bool { return !svtest.Alive(dpid) })

	// A name with a space is an ordinary service.
	space := filepath.Join(sv, "with space")
	svtest.Send(t, space, "d")
	testenv.WaitFor(t, 5*time.Second, "'with space' down", func() bool { return svtest.Status(t, space).Pid == 0 })

	// The good service never noticed, and still answers at once.
	if st := svtest.Status(t, good); st.Pid != goodPid {
		t.Errorf("good: %+v; want the same pid %d", st, goodPid)
	}
	svtest.Send(t, good, "h")
	svtest.Send(t, good, "d")
	testenv.WaitFor(t, 5*time.Second, "good down", func() bool { return !svtest.Alive(goodPid) })

	// The fork-and-exit service is paced: about one start a second.
	starts := strings.Count(svtest.ReadFile(filepath.Join(sv, "forkexit/starts")), "x")
	if max := int(time.Since(t0)/time.Second) + 2; starts < 1 || starts > max {
		t.Errorf("forkexit started %d times in %v; want at most %d", starts, time.Since(t0), max)
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if code := p.Wait(t, 10*time.Second); code != 0 {
		t.Errorf("runsvdir TERM with a hanging hook and finish: exit %d; want 0", code)
	}
}

// TestAsNobody: runsvdir supervises a directory owned by nobody, as nobody.
func TestAsNobody(t *testing.T) {
	const nobody = svtest.Nobody
	root, bin := svtest.NobodyRoot(t)
	sv := filepath.Join(root, "sv")
	svtest.WriteFiles(t, sv, map[string]string{"web/run": "#!/bin/sh\nid -u >uid\nexec sleep 100\n"})
	for _, p := range []string{sv, filepath.Join(sv, "web"), filepath.Join(sv, "web/run")} {
		os.Chown(p, nobody, nobody)
	}
	p := svtest.StartAs(t, &syscall.Credential{Uid: nobody, Gid: nobody}, root, []string{bin, "runsvdir", "sv"})
	svc := filepath.Join(sv, "web")
	pid := svtest.WaitRunning(t, svc)
	svtest.WaitFile(t, filepath.Join(svc, "uid"), "65534\n")
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			t.Errorf("runsvdir as nobody after TERM: %v; want exit 0; stderr %q", err, p.Stderr())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("runsvdir as nobody did not exit after TERM; stderr %q", p.Stderr())
	}
	if svtest.Alive(pid) {
		t.Errorf("service %d still alive", pid)
	}
}
