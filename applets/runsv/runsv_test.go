package runsv_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/svtest"
	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestUsage: runsv with no directory, or two, prints runit's usage naming
// itself by argv[0], and exits 1.
func TestUsage(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		for _, args := range [][]string{nil, {"a", "b"}} {
			t.Run(im.Name+"/"+strconv.Itoa(len(args)), func(t *testing.T) {
				code, stderr := im.RunNamed("runsv", args...)
				if code != 1 || stderr != "usage: runsv dir\n\n" {
					t.Errorf("runsv %q: got %d %q; want 1 %q", args, code, stderr, "usage: runsv dir\n\n")
				}
			})
		}
	}
}

// TestProgname: called through a link, runsv's usage names the link, as
// runit's does; a missing directory is fatal with runit's words.
func TestProgname(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			link := filepath.Join(t.TempDir(), "runsv")
			if err := os.Symlink(im.Argv[0], link); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				args   []string
				code   int
				stderr string
			}{
				{nil, 1, "usage: " + link + " dir\n\n"},
				{[]string{"nonexistent"}, 111, "runsv nonexistent: fatal: unable to change to directory: file does not exist\n"},
				{[]string{""}, 111, "runsv : fatal: unable to change to directory: file does not exist\n"},
			} {
				cmd := exec.Command(link, c.args...)
				cmd.Dir = filepath.Dir(link)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				cmd.Run()
				if code := cmd.ProcessState.ExitCode(); code != c.code || stderr.String() != c.stderr {
					t.Errorf("%s %q: got %d %q; want %d %q", link, c.args, code, stderr.String(), c.code, c.stderr)
				}
			}
		})
	}
}

// TestRunsvCheck is runit 2.1.2's src/runsv.check in Go, run against
// vigil's runsv and Debian's, with polling where the script sleeps, and a run
// that sleeps longer than its 14 s, so that no restart on a slow machine
// adds a line.
func TestRunsvCheck(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "ctmp")
			svtest.WriteFiles(t, svc, map[string]string{"run": "#!/bin/sh\necho starting\nexec sleep 1000\n"})

			// Part 2: control/t exiting 1 prints and lets the TERM through.
			p := svtest.Start(t, root, append(im.Argv, "ctmp"))
			svtest.WaitRunning(t, svc)
			svtest.WaitFile(t, p.Out, "starting\n")
			if got := svtest.ReadFile(filepath.Join(svc, "supervise/stat")); got != "run\n" {
				t.Errorf("supervise/stat = %q; want %q", got, "run\n")
			}
			svtest.WriteFiles(t, svc, map[string]string{"control/t": "#!/bin/sh\necho term\nexit 1\n"})
			svtest.Send(t, svc, "t\n")
			svtest.WaitFile(t, p.Out, "starting\nterm\nstarting\n")
			svtest.WaitRunning(t, svc)
			svtest.Send(t, svc, "x\n")
			if code := p.Wait(t, 10*time.Second); code != 0 {
				t.Errorf("runsv after x: exit %d; want 0", code)
			}
			if got, want := p.Stdout(), "starting\nterm\nstarting\nterm\n"; got != want {
				t.Errorf("output = %q; want %q", got, want)
			}

			// Part 3: a logger; hook output goes into the log pipe.
			svtest.WriteFiles(t, svc, map[string]string{
				"log/run":   "#!/bin/sh\nexec cat >foo\n",
				"control/i": "#!/bin/sh\necho no interrupt\nexit 0\n",
			})
			p = svtest.Start(t, root, append(im.Argv, "ctmp"))
			svtest.WaitRunning(t, svc)
			svtest.WaitRunning(t, filepath.Join(svc, "log"))
			// runit's script sleeps a second here; wait for run's line.
			svtest.WaitFile(t, filepath.Join(svc, "log/foo"), "starting\n")
			svtest.Send(t, svc, "i\n")
			svtest.WaitFile(t, filepath.Join(svc, "log/foo"), "starting\nno interrupt\n")
			svtest.Send(t, svc, "x\n")
			if code := p.Wait(t, 10*time.Second); code != 0 {
				t.Errorf("runsv with log after x: exit %d; want 0", code)
			}
			if got, want := svtest.ReadFile(filepath.Join(svc, "log/foo")), "starting\nno interrupt\nterm\n"; got != want {
				t.Errorf("log/foo = %q; want %q", got, want)
			}
			if got := p.Stdout(); got != "" {
				t.Errorf("runsv's own stdout = %q; want nothing (it all goes to the log)", got)
			}

			// Part 4: supervise and log/supervise as dangling symlinks.
			for _, d := range []string{"supervise", "log/supervise"} {
				os.RemoveAll(filepath.Join(svc, d))
			}
			os.Symlink("foo", filepath.Join(svc, "supervise"))
			os.Symlink("bar", filepath.Join(svc, "log/supervise"))
			p = svtest.Start(t, root, append(im.Argv, "ctmp"))
			svtest.WaitRunning(t, svc)
			svtest.WaitRunning(t, filepath.Join(svc, "log"))
			for _, d := range []string{"foo", "log/bar"} {
				if st, err := os.Lstat(filepath.Join(svc, d)); err != nil || !st.IsDir() {
					t.Errorf("%s: got %v, %v; want a directory made through the dangling symlink", d, st, err)
				}
			}
			svtest.WaitFile(t, filepath.Join(svc, "log/foo"), "starting\n")
			if err := supervise.Send(filepath.Join(svc, "foo"), []byte("x\n")); err != nil {
				t.Fatal(err)
			}
			if code := p.Wait(t, 10*time.Second); code != 0 {
				t.Errorf("runsv on dangling symlinks after x: exit %d; want 0", code)
			}
			if got, want := svtest.ReadFile(filepath.Join(svc, "log/foo")), "starting\nterm\n"; got != want {
				t.Errorf("log/foo = %q; want %q", got, want)
			}
		})
	}
}

// TestSecondSupervisorRefused: a second runsv of a directory that is
// supervised fails on the lock with runit's message and exit code, and the
// first one carries on.
func TestSecondSupervisorRefused(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			svc, _ := svtest.Supervise(t, im, "web", map[string]string{"run": "#!/bin/sh\nexec sleep 100\n"})
			pid := svtest.WaitRunning(t, svc)

			second := svtest.Start(t, filepath.Dir(svc), append(im.Argv, "web"))
			code := second.Wait(t, 5*time.Second)
			want := "runsv web: fatal: unable to lock supervise/lock: temporary failure\n"
			if code != 111 || second.Stderr() != want {
				t.Errorf("second runsv: got %d %q; want 111 %q", code, second.Stderr(), want)
			}
			if st := svtest.Status(t, svc); st.Pid != pid || st.State != supervise.Run {
				t.Errorf("first runsv after the refusal: status %+v; want pid %d running", st, pid)
			}
		})
	}
}

// TestSuperviseFiles: vigil creates the same files with the same types and
// modes as runit, for the service and its logger, the pid file holds the
// pid, and status, stat and pid are only ever replaced by a rename.
func TestSuperviseFiles(t *testing.T) {
	listings := map[string]string{}
	for _, im := range svtest.Runsvs(t) {
		svc, _ := svtest.Supervise(t, im, "web", map[string]string{
			"run":     "#!/bin/sh\nexec sleep 100\n",
			"log/run": "#!/bin/sh\nexec cat >/dev/null\n",
		})
		pid := svtest.WaitRunning(t, svc)
		svtest.WaitRunning(t, filepath.Join(svc, "log"))
		if got, want := svtest.ReadFile(filepath.Join(svc, "supervise/pid")), fmt.Sprintf("%d\n", pid); got != want {
			t.Errorf("%s: supervise/pid = %q; want %q", im.Name, got, want)
		}
		if got, want := svtest.ReadFile(filepath.Join(svc, "supervise/stat")), "run\n"; got != want {
			t.Errorf("%s: supervise/stat = %q; want %q", im.Name, got, want)
		}
		var lines []string
		for _, d := range []string{"supervise", "log/supervise"} {
			st, err := os.Stat(filepath.Join(svc, d))
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%s %v", d, st.Mode()))
			ents, _ := os.ReadDir(filepath.Join(svc, d))
			for _, e := range ents {
				info, _ := e.Info()
				size := ""
				if e.Name() == "status" {
					size = fmt.Sprint(" ", info.Size())
				}
				lines = append(lines, fmt.Sprintf("%s/%s %v%s", d, e.Name(), info.Mode(), size))
			}
		}
		listings[im.Name] = strings.Join(lines, "\n")

		// Every rewrite goes through NAME.new and a rename.
		in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(in)
		if _, err := unix.InotifyAddWatch(in, filepath.Join(svc, "supervise"), unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CREATE); err != nil {
			t.Fatal(err)
		}
		svtest.Send(t, svc, "pc")
		testenv.WaitFor(t, 5*time.Second, "pause and continue", func() bool {
			st := svtest.Status(t, svc)
			return !st.Paused && svtest.ReadFile(filepath.Join(svc, "supervise/stat")) == "run\n" && svtest.ProcState(pid) != "T"
		})
		svtest.Send(t, svc, "k")
		svtest.WaitFile(t, filepath.Join(svc, "supervise/pid"), "")
		events := readInotify(in)
		// status changes with every step; vigil writes stat and pid only
		// when their text changes, which "pc" and a quick restart may not
		// do. Whatever is written is written through a rename.
		if !slices.Contains(events, "MOVED_TO status") {
			t.Errorf("%s: no rename onto supervise/status; events %q", im.Name, events)
		}
		for _, name := range []string{"status", "stat", "pid"} {
			if slices.Contains(events, "MODIFY "+name) || slices.Contains(events, "CREATE "+name) {
				t.Errorf("%s: supervise/%s written in place; events %q", im.Name, name, events)
			}
		}
	}
	if r, ok := listings["runit"]; ok && listings["vigil"] != r {
		t.Errorf("supervise files differ:\nvigil:\n%s\nrunit:\n%s", listings["vigil"], listings["runit"])
	}
}

func readInotify(fd int) []string {
	var out []string
	var buf [8192]byte
	for {
		n, err := unix.Read(fd, buf[:])
		if n <= 0 || err != nil {
			return out
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			kind := "OTHER"
			switch {
			case ev.Mask&unix.IN_MODIFY != 0:
				kind = "MODIFY"
			case ev.Mask&unix.IN_MOVED_TO != 0:
				kind = "MOVED_TO"
			case ev.Mask&unix.IN_CREATE != 0:
				kind = "CREATE"
			}
			out = append(out, kind+" "+name)
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// TestControlCharacters sends each control character to a service that
// records the signals it gets, on vigil's runsv and on runit's: the signal
// delivered, the status afterwards and whether the process survives.
func TestControlCharacters(t *testing.T) {
	type result struct {
		signals string
		stat    string
		want    supervise.Want
		sameP   bool // the same process still runs
		running bool // some process runs
	}
	cases := []struct {
		name string
		down bool   // start with a down file
		send string // control bytes
		want result
	}{
		{"h", false, "h", result{"HUP\n", "run\n", supervise.WantUp, true, true}},
		{"a", false, "a", result{"ALRM\n", "run\n", supervise.WantUp, true, true}},
		{"i", false, "i", result{"INT\n", "run\n", supervise.WantUp, true, true}},
		{"q", false, "q", result{"QUIT\n", "run\n", supervise.WantUp, true, true}},
		{"1", false, "1", result{"USR1\n", "run\n", supervise.WantUp, true, true}},
		{"2", false, "2", result{"USR2\n", "run\n", supervise.WantUp, true, true}},
		{"c", false, "c", result{"CONT\n", "run\n", supervise.WantUp, true, true}},
		{"garbage ignored", false, "\nzZ\x00\xffb?u", result{"", "run\n", supervise.WantUp, true, true}},
		// t with want up: TERM without CONT, and the service comes back.
		{"t", false, "t", result{"TERM\n", "run\n", supervise.WantUp, false, true}},
		// d: TERM then CONT, and it stays down.
		{"d", false, "d", result{"TERM\nCONT\n", "down\n", supervise.WantDown, false, false}},
		// A paused service still goes down: CONT follows TERM.
		{"pd", false, "pd", result{"TERM\nCONT\n", "down, paused\n", supervise.WantDown, false, false}},
		{"k", false, "k", result{"", "run\n", supervise.WantUp, false, true}},
		{"u", true, "u", result{"", "run\n", supervise.WantUp, false, true}},
		{"o", true, "o", result{"", "run, want down\n", supervise.WantDown, false, true}},
	}
	for _, im := range svtest.Runsvs(t) {
		for _, c := range cases {
			t.Run(im.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				files := map[string]string{"run": svtest.RecorderRun(t)}
				if c.down {
					files["down"] = ""
				}
				svc, _ := svtest.Supervise(t, im, "s", files)
				pid := 0
				if c.down {
					testenv.WaitFor(t, 5*time.Second, "status", func() bool { _, ok := svtest.StatusOK(svc); return ok })
				} else {
					pid = svtest.WaitRunning(t, svc)
					testenv.WaitFor(t, 5*time.Second, "the helper ready", func() bool { return svtest.ReadFile(filepath.Join(svc, "ready")) != "" })
				}
				svtest.Send(t, svc, c.send)
				var got result
				testenv.WaitFor(t, 5*time.Second, "the state after "+strconv.Quote(c.send), func() bool {
					st, ok := svtest.StatusOK(svc)
					got.signals = svtest.ReadFile(filepath.Join(svc, "signals"))
					got.stat = svtest.ReadFile(filepath.Join(svc, "supervise/stat"))
					got.want = st.Want
					got.sameP = pid != 0 && st.Pid == pid && svtest.ProcState(pid) != "Z"
					got.running = st.Pid != 0 && st.State == supervise.Run
					if got.running && c.want.running && !c.want.sameP {
						got.running = svtest.ReadFile(filepath.Join(svc, "ready")) != "" && st.Pid != pid
					}
					return ok && got == c.want
				})
			})
		}
	}
}

// TestPauseContinue: p stops the process (paused flag, stat "run, paused"),
// c resumes it; p sets the flag even when nothing runs.
func TestPauseContinue(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			svc, _ := svtest.Supervise(t, im, "s", map[string]string{"run": "#!/bin/sh\nexec sleep 100\n"})
			pid := svtest.WaitRunning(t, svc)
			svtest.Send(t, svc, "p")
			testenv.WaitFor(t, 5*time.Second, "paused", func() bool {
				return svtest.ProcState(pid) == "T" && svtest.Status(t, svc).Paused && svtest.ReadFile(filepath.Join(svc, "supervise/stat")) == "run, paused\n"
			})
			svtest.Send(t, svc, "c")
			testenv.WaitFor(t, 5*time.Second, "continued", func() bool {
				return svtest.ProcState(pid) == "S" && !svtest.Status(t, svc).Paused && svtest.ReadFile(filepath.Join(svc, "supervise/stat")) == "run\n"
			})
			svtest.Send(t, svc, "d")
			testenv.WaitFor(t, 5*time.Second, "down", func() bool { return svtest.Status(t, svc).Pid == 0 })
			svtest.Send(t, svc, "p")
			testenv.WaitFor(t, 5*time.Second, "paused while down", func() bool {
				return svtest.Status(t, svc).Paused && svtest.ReadFile(filepath.Join(svc, "supervise/stat")) == "down, paused\n"
			})
		})
	}
}

// TestFinishArguments: finish gets the exit code (or -1 if signalled) and
// the low byte of the wait status, as runit passes them.
func TestFinishArguments(t *testing.T) {
	cases := []struct {
		name, run string
		mode      os.FileMode
		send      string
		want      string
	}{
		{"exit 3", "#!/bin/sh\nexit 3\n", 0o755, "", "3 0\n"},
		{"term", "#!/bin/sh\nexec sleep 100\n", 0o755, "t", "-1 15\n"},
		{"kill", "#!/bin/sh\nexec sleep 100\n", 0o755, "k", "-1 9\n"},
		{"run not executable", "#!/bin/sh\nexit 0\n", 0o644, "", "111 0\n"},
	}
	for _, im := range svtest.Runsvs(t) {
		for _, c := range cases {
			t.Run(im.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				root := t.TempDir()
				svc := filepath.Join(root, "s")
				svtest.WriteFiles(t, svc, map[string]string{
					"run":    c.run,
					"finish": "#!/bin/sh\n[ -e args ] || echo \"$1 $2\" >args\n",
					"down":   "",
				})
				os.Chmod(filepath.Join(svc, "run"), c.mode)
				svtest.Start(t, root, append(im.Argv, "s"))
				testenv.WaitFor(t, 5*time.Second, "status", func() bool { _, ok := svtest.StatusOK(svc); return ok })
				svtest.Send(t, svc, "o")
				if c.send != "" {
					svtest.WaitRunning(t, svc)
					svtest.Send(t, svc, c.send)
				}
				svtest.WaitFile(t, filepath.Join(svc, "args"), c.want)
			})
		}
	}
}

// TestHooks: control/<c> scripts, their order and the meaning of their
// exit code, on both runsvs.
func TestHooks(t *testing.T) {
	hook := func(c string, code int) string {
		return fmt.Sprintf("#!/bin/sh\necho %s >>hooks\nexit %d\n", c, code)
	}
	cases := []struct {
		name    string
		hooks   map[string]string
		send    string
		hooks2  string // the hooks file afterwards
		signals string // the signals file afterwards
		term    bool   // the status's term flag afterwards
	}{
		// t exits 0: it handled the command, no TERM.
		{"t handled", map[string]string{"control/t": hook("t", 0)}, "th", "t\n", "HUP\n", false},
		// t exits 1: runsv sends TERM itself.
		{"t not handled", map[string]string{"control/t": hook("t", 1)}, "t", "t\n", "TERM\n", true},
		// d: control/t, then TERM and CONT, then control/d.
		{"d", map[string]string{"control/t": hook("t", 1), "control/d": hook("d", 0)}, "d", "t\nd\n", "TERM\nCONT\n", false},
		// h exits 0: no HUP; a exits 1: ALRM is sent.
		{"h handled", map[string]string{"control/h": hook("h", 0), "control/a": hook("a", 1)}, "ha", "h\na\n", "ALRM\n", false},
		// A hook without the owner's execute bit does not count.
		{"not executable", map[string]string{"control/h": hook("h", 0)}, "h", "", "HUP\n", false},
	}
	for _, im := range svtest.Runsvs(t) {
		for _, c := range cases {
			t.Run(im.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				root := t.TempDir()
				svc := filepath.Join(root, "s")
				files := map[string]string{"run": svtest.RecorderRun(t)}
				for k, v := range c.hooks {
					files[k] = v
				}
				svtest.WriteFiles(t, svc, files)
				if c.name == "not executable" {
					os.Chmod(filepath.Join(svc, "control/h"), 0o644)
				}
				svtest.Start(t, root, append(im.Argv, "s"))
				pid := svtest.WaitRunning(t, svc)
				testenv.WaitFor(t, 5*time.Second, "the helper ready", func() bool { return svtest.ReadFile(filepath.Join(svc, "ready")) != "" })
				svtest.Send(t, svc, c.send)
				testenv.WaitFor(t, 5*time.Second, "hooks and signals after "+c.send, func() bool {
					return svtest.ReadFile(filepath.Join(svc, "hooks")) == c.hooks2 && svtest.ReadFile(filepath.Join(svc, "signals")) == c.signals
				})
				if strings.Contains(c.signals, "TERM") {
					return // the process is on its way out; the flag clears when it goes
				}
				if st := svtest.Status(t, svc); st.Term != c.term || (c.term && st.Pid != pid) {
					t.Errorf("status after %q: %+v; want term %v", c.send, st, c.term)
				}
			})
		}
	}
}

// TestUpHook: control/u runs before every start of run, automatic
// restarts included; its exit code does not matter.
func TestUpHook(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			svc, _ := svtest.Supervise(t, im, "s", map[string]string{
				"run":       "#!/bin/sh\necho run >>hooks\nexec sleep 100\n",
				"control/u": "#!/bin/sh\necho u >>hooks\nexit 1\n",
			})
			svtest.WaitRunning(t, svc)
			svtest.WaitFile(t, filepath.Join(svc, "hooks"), "u\nrun\n")
			svtest.Send(t, svc, "k")
			svtest.WaitFile(t, filepath.Join(svc, "hooks"), "u\nrun\nu\nrun\n")
		})
	}
}

// TestRestartPacing: a run that exits at once is started again once a
// second, on both runsvs.
func TestRestartPacing(t *testing.T) {
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			svc, _ := svtest.Supervise(t, im, "s", map[string]string{"run": "#!/bin/sh\ndate +%s%N >>starts\nexit 1\n"})
			var starts []string
			testenv.WaitFor(t, 10*time.Second, "three starts", func() bool {
				starts = strings.Fields(svtest.ReadFile(filepath.Join(svc, "starts")))
				return len(starts) >= 3
			})
			svtest.Send(t, svc, "d")
			for i := 1; i < 3; i++ {
				a, _ := strconv.ParseInt(starts[i-1], 10, 64)
				b, _ := strconv.ParseInt(starts[i], 10, 64)
				if gap := time.Duration(b - a); gap < 950*time.Millisecond || gap > 5*time.Second {
					t.Errorf("gap between start %d and %d: %v; want the one-second pace", i, i+1, gap)
				}
			}
		})
	}
}

// TestCommandsDuringPause is a deliberate improvement: runsv sleeps a
// whole second after a fast exit and reads no command meanwhile; vigil
// answers at once. The commands take effect while the pause lasts.
func TestCommandsDuringPause(t *testing.T) {
	vigil := svtest.Runsvs(t)[0]
	svc, _ := svtest.Supervise(t, vigil, "s", map[string]string{"run": "#!/bin/sh\necho x >>starts\nsleep 0.2\nexit 1\n"})
	// run lives a moment, so its start shows in the status before its
	// exit does: the exit is not mistaken for the status written before
	// run was started.
	testenv.WaitFor(t, 5*time.Second, "run running", func() bool {
		st, ok := svtest.StatusOK(svc)
		return ok && st.Pid != 0
	})
	var exitAt time.Time
	testenv.WaitFor(t, 5*time.Second, "the first exit", func() bool {
		st, ok := svtest.StatusOK(svc)
		exitAt = st.Since
		return ok && st.Pid == 0 && st.State == supervise.Down
	})
	svtest.Send(t, svc, "p")
	testenv.WaitFor(t, 5*time.Second, "the pause flag", func() bool { return svtest.Status(t, svc).Paused })
	svtest.Send(t, svc, "d")
	testenv.WaitFor(t, 5*time.Second, "want down", func() bool { return svtest.Status(t, svc).Want == supervise.WantDown })
	// Answered within the pause: runit's runsv would have started run
	// again, wanted up, before it read them.
	if got := svtest.ReadFile(filepath.Join(svc, "starts")); got != "x\n" {
		t.Errorf("starts when d was answered: %q; want one, d taking effect in the pause", got)
	}
	// 'o' during the pause still waits for the pace: one more start, no
	// sooner than a second after the exit, then none.
	svtest.Send(t, svc, "o")
	svtest.WaitFile(t, filepath.Join(svc, "starts"), "x\nx\n")
	var st supervise.Status
	testenv.WaitFor(t, 5*time.Second, "the second exit", func() bool {
		st = svtest.Status(t, svc)
		return st.Pid == 0 && st.State == supervise.Down && st.Since.After(exitAt)
	})
	if d := st.Since.Sub(exitAt); d < 950*time.Millisecond {
		t.Errorf("'o' during the pause started run %v after the exit; want the full second", d)
	}
}

// TestMultiByteWrite: the bytes of one write to control are carried out
// one after the other, each before the next is read, as runsv does: "ud"
// on a down service starts run and stops it; nothing follows the "x" of
// "xu"; "dudu" ends with run started again. Both runsvs.
func TestMultiByteWrite(t *testing.T) {
	// Run may be stopped before it could record anything; finish, which
	// runs after every run, says how many ran.
	run := "#!/bin/sh\nexec sleep 1000\n"
	finish := "#!/bin/sh\necho finish >>rec\n"
	cases := []struct {
		send    string
		rec     string // one line for each finish
		exited  bool   // runsv exits
		running bool
	}{
		{"ud", "finish\n", false, false},
		{"xu", "", true, false},
		{"dudu", "finish\n", false, true},
	}
	for _, im := range svtest.Runsvs(t) {
		for _, c := range cases {
			t.Run(im.Name+"/"+c.send, func(t *testing.T) {
				t.Parallel()
				svc, p := svtest.Supervise(t, im, "s", map[string]string{"run": run, "finish": finish, "down": ""})
				testenv.WaitFor(t, 10*time.Second, "supervised", func() bool {
					_, ok := svtest.StatusOK(svc)
					return ok && svtest.Supervised(svc)
				})
				svtest.Send(t, svc, c.send)
				if c.exited {
					if code := p.Wait(t, 10*time.Second); code != 0 {
						t.Errorf("runsv after %q: exit %d; want 0", c.send, code)
					}
				} else {
					testenv.WaitFor(t, 10*time.Second, "the state after "+c.send, func() bool {
						st, ok := svtest.StatusOK(svc)
						return ok && st.State != supervise.Finish && svtest.Running(st) == c.running &&
							strings.Contains(svtest.ReadFile(filepath.Join(svc, "rec")), c.rec)
					})
				}
				if got := svtest.ReadFile(filepath.Join(svc, "rec")); got != c.rec {
					t.Errorf("after %q: finish ran %q; want %q", c.send, got, c.rec)
				}
			})
		}
	}
}

// TestLogPipe: lines a service writes while its logger is down wait in
// the pipe the supervisor holds, and reach the logger when it starts.
// Both runsvs. (Restarting the logger while lines flow is the subject of
// test/integration's TestLoggerRestartsLoseNothing, with svlogd: a logger
// killed by a signal loses what its last read took from the pipe and it
// had not yet written, which no supervisor can give back. `cat` is such a
// logger; svlogd finishes its line on TERM.)
func TestLogPipe(t *testing.T) {
	run := `#!/bin/sh
i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo $i; done
touch written1
exec sleep 100
`
	var want strings.Builder
	for i := 1; i <= 2000; i++ {
		fmt.Fprintln(&want, i)
	}
	for _, im := range svtest.Runsvs(t) {
		t.Run(im.Name, func(t *testing.T) {
			t.Parallel()
			svc, _ := svtest.Supervise(t, im, "s", map[string]string{
				"run":      run,
				"log/run":  "#!/bin/sh\nexec cat >>out\n",
				"log/down": "",
			})
			testenv.WaitFor(t, 5*time.Second, "2000 lines written with no logger", func() bool {
				_, err := os.Stat(filepath.Join(svc, "written1"))
				return err == nil
			})
			svtest.Send(t, filepath.Join(svc, "log"), "u")
			svtest.WaitFile(t, filepath.Join(svc, "log/out"), want.String())
		})
	}
}

// TestAsNobody: runsv supervises a directory owned by nobody, as nobody.
func TestAsNobody(t *testing.T) {
	const nobody = svtest.Nobody
	root, bin := svtest.NobodyRoot(t)
	svc := filepath.Join(root, "s")
	svtest.WriteFiles(t, svc, map[string]string{"run": "#!/bin/sh\nid -u >uid\nexec sleep 100\n"})
	os.Chown(svc, nobody, nobody)
	os.Chown(filepath.Join(svc, "run"), nobody, nobody)
	p := svtest.StartAs(t, &syscall.Credential{Uid: nobody, Gid: nobody}, root, []string{bin, "runsv", "s"})
	svtest.WaitRunning(t, svc)
	svtest.WaitFile(t, filepath.Join(svc, "uid"), "65534\n")
	if st, err := os.Stat(filepath.Join(svc, "supervise/status")); err != nil || st.Sys().(*syscall.Stat_t).Uid != nobody {
		t.Errorf("supervise/status: %v %v; want owned by nobody", st, err)
	}
	svtest.Send(t, svc, "x")
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			t.Errorf("runsv as nobody after x: %v; want exit 0; stderr %q", err, p.Stderr())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("runsv as nobody did not exit after x; stderr %q", p.Stderr())
	}
}
