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

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestUsage: runsv with no directory, or two, prints runit's usage naming
// itself by argv[0], and exits 1.
func TestUsage(t *testing.T) {
	for _, im := range impls(t) {
		for _, args := range [][]string{nil, {"a", "b"}} {
			t.Run(im.name+"/"+strconv.Itoa(len(args)), func(t *testing.T) {
				cmd := exec.Command(im.argv[0])
				cmd.Args = append(append([]string{"runsv"}, im.argv[1:]...), args...)
				if im.name == "vigil" {
					cmd.Args[0] = "vigil"
				}
				var stderr strings.Builder
				cmd.Stderr = &stderr
				err := cmd.Run()
				code := cmd.ProcessState.ExitCode()
				if code != 1 || stderr.String() != "usage: runsv dir\n\n" {
					t.Errorf("runsv %q: got %d %q (%v); want 1 %q", args, code, stderr.String(), err, "usage: runsv dir\n\n")
				}
			})
		}
	}
}

// TestProgname: called through a link, runsv's usage names the link, as
// runit's does; a missing directory is fatal with runit's words.
func TestProgname(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			link := filepath.Join(t.TempDir(), "runsv")
			if err := os.Symlink(im.argv[0], link); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				args   []string
				code   int
				stderr string
			}{
				{nil, 1, "usage: " + link + " dir\n\n"},
				{[]string{"nonexistent"}, 111, "runsv nonexistent: fatal: unable to change to directory: file does not exist\n"},
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
// vigil's runsv and Debian's, with polling where the script sleeps.
func TestRunsvCheck(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "ctmp")
			writeFiles(t, svc, map[string]string{"run": "#!/bin/sh\necho starting\nexec sleep 14\n"})

			// Part 2: control/t exiting 1 prints and lets the TERM through.
			p := start(t, root, append(im.argv, "ctmp"))
			waitRunning(t, svc)
			waitFile(t, p.out, "starting\n")
			if got := readFile(filepath.Join(svc, "supervise/stat")); got != "run\n" {
				t.Errorf("supervise/stat = %q; want %q", got, "run\n")
			}
			writeFiles(t, svc, map[string]string{"control/t": "#!/bin/sh\necho term\nexit 1\n"})
			send(t, svc, "t\n")
			waitFile(t, p.out, "starting\nterm\nstarting\n")
			waitRunning(t, svc)
			send(t, svc, "x\n")
			if code := p.wait(t, 10*time.Second); code != 0 {
				t.Errorf("runsv after x: exit %d; want 0", code)
			}
			if got, want := p.stdout(), "starting\nterm\nstarting\nterm\n"; got != want {
				t.Errorf("output = %q; want %q", got, want)
			}

			// Part 3: a logger; hook output goes into the log pipe.
			writeFiles(t, svc, map[string]string{
				"log/run":   "#!/bin/sh\nexec cat >foo\n",
				"control/i": "#!/bin/sh\necho no interrupt\nexit 0\n",
			})
			p = start(t, root, append(im.argv, "ctmp"))
			waitRunning(t, svc)
			waitRunning(t, filepath.Join(svc, "log"))
			send(t, svc, "i\n")
			waitFile(t, filepath.Join(svc, "log/foo"), "starting\nno interrupt\n")
			send(t, svc, "x\n")
			if code := p.wait(t, 10*time.Second); code != 0 {
				t.Errorf("runsv with log after x: exit %d; want 0", code)
			}
			if got, want := readFile(filepath.Join(svc, "log/foo")), "starting\nno interrupt\nterm\n"; got != want {
				t.Errorf("log/foo = %q; want %q", got, want)
			}
			if got := p.stdout(); got != "" {
				t.Errorf("runsv's own stdout = %q; want nothing (it all goes to the log)", got)
			}

			// Part 4: supervise and log/supervise as dangling symlinks.
			for _, d := range []string{"supervise", "log/supervise"} {
				os.RemoveAll(filepath.Join(svc, d))
			}
			os.Symlink("foo", filepath.Join(svc, "supervise"))
			os.Symlink("bar", filepath.Join(svc, "log/supervise"))
			p = start(t, root, append(im.argv, "ctmp"))
			waitRunning(t, svc)
			waitRunning(t, filepath.Join(svc, "log"))
			for _, d := range []string{"foo", "log/bar"} {
				if st, err := os.Lstat(filepath.Join(svc, d)); err != nil || !st.IsDir() {
					t.Errorf("%s: got %v, %v; want a directory made through the dangling symlink", d, st, err)
				}
			}
			waitFile(t, filepath.Join(svc, "log/foo"), "starting\n")
			if err := supervise.Send(filepath.Join(svc, "foo"), []byte("x\n")); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t, 10*time.Second); code != 0 {
				t.Errorf("runsv on dangling symlinks after x: exit %d; want 0", code)
			}
			if got, want := readFile(filepath.Join(svc, "log/foo")), "starting\nterm\n"; got != want {
				t.Errorf("log/foo = %q; want %q", got, want)
			}
		})
	}
}

// TestSecondSupervisorRefused: a second runsv of a directory that is
// supervised fails on the lock with runit's message and exit code, and the
// first one carries on.
func TestSecondSupervisorRefused(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "web")
			writeFiles(t, svc, map[string]string{"run": "#!/bin/sh\nexec sleep 100\n"})
			start(t, root, append(im.argv, "web"))
			pid := waitRunning(t, svc)

			second := start(t, root, append(im.argv, "web"))
			code := second.wait(t, 5*time.Second)
			want := "runsv web: fatal: unable to lock supervise/lock: temporary failure\n"
			if code != 111 || second.stderr() != want {
				t.Errorf("second runsv: got %d %q; want 111 %q", code, second.stderr(), want)
			}
			if st := status(t, svc); st.Pid != pid || st.State != supervise.Run {
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
	for _, im := range impls(t) {
		root := t.TempDir()
		svc := filepath.Join(root, "web")
		writeFiles(t, svc, map[string]string{
			"run":     "#!/bin/sh\nexec sleep 100\n",
			"log/run": "#!/bin/sh\nexec cat >/dev/null\n",
		})
		start(t, root, append(im.argv, "web"))
		pid := waitRunning(t, svc)
		waitRunning(t, filepath.Join(svc, "log"))
		if got, want := readFile(filepath.Join(svc, "supervise/pid")), fmt.Sprintf("%d\n", pid); got != want {
			t.Errorf("%s: supervise/pid = %q; want %q", im.name, got, want)
		}
		if got, want := readFile(filepath.Join(svc, "supervise/stat")), "run\n"; got != want {
			t.Errorf("%s: supervise/stat = %q; want %q", im.name, got, want)
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
		listings[im.name] = strings.Join(lines, "\n")

		// Every rewrite goes through NAME.new and a rename.
		in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(in)
		if _, err := unix.InotifyAddWatch(in, filepath.Join(svc, "supervise"), unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CREATE); err != nil {
			t.Fatal(err)
		}
		send(t, svc, "pc")
		testenv.WaitFor(t, 5*time.Second, "pause and continue", func() bool {
			st := status(t, svc)
			return !st.Paused && readFile(filepath.Join(svc, "supervise/stat")) == "run\n" && procState(pid) != "T"
		})
		send(t, svc, "k")
		waitFile(t, filepath.Join(svc, "supervise/pid"), "")
		events := readInotify(in)
		for _, name := range []string{"status", "stat", "pid"} {
			if !slices.Contains(events, "MOVED_TO "+name) {
				t.Errorf("%s: no rename onto supervise/%s; events %q", im.name, name, events)
			}
			if slices.Contains(events, "MODIFY "+name) || slices.Contains(events, "CREATE "+name) {
				t.Errorf("%s: supervise/%s written in place; events %q", im.name, name, events)
			}
		}
	}
	if listings["vigil"] != listings["runit"] {
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
	for _, im := range impls(t) {
		for _, c := range cases {
			t.Run(im.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				root := t.TempDir()
				svc := filepath.Join(root, "s")
				files := map[string]string{"run": helperRun(t)}
				if c.down {
					files["down"] = ""
				}
				writeFiles(t, svc, files)
				start(t, root, append(im.argv, "s"))
				pid := 0
				if c.down {
					testenv.WaitFor(t, 5*time.Second, "status", func() bool { _, ok := statusOK(svc); return ok })
				} else {
					pid = waitRunning(t, svc)
					testenv.WaitFor(t, 5*time.Second, "the helper ready", func() bool { return readFile(filepath.Join(svc, "ready")) != "" })
				}
				send(t, svc, c.send)
				var got result
				testenv.WaitFor(t, 5*time.Second, "the state after "+strconv.Quote(c.send), func() bool {
					st, ok := statusOK(svc)
					got.signals = readFile(filepath.Join(svc, "signals"))
					got.stat = readFile(filepath.Join(svc, "supervise/stat"))
					got.want = st.Want
					got.sameP = pid != 0 && st.Pid == pid && procState(pid) != "Z"
					got.running = st.Pid != 0 && st.State == supervise.Run
					if got.running && c.want.running && !c.want.sameP {
						got.running = readFile(filepath.Join(svc, "ready")) != "" && st.Pid != pid
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
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "s")
			writeFiles(t, svc, map[string]string{"run": "#!/bin/sh\nexec sleep 100\n"})
			start(t, root, append(im.argv, "s"))
			pid := waitRunning(t, svc)
			send(t, svc, "p")
			testenv.WaitFor(t, 5*time.Second, "paused", func() bool {
				return procState(pid) == "T" && status(t, svc).Paused && readFile(filepath.Join(svc, "supervise/stat")) == "run, paused\n"
			})
			send(t, svc, "c")
			testenv.WaitFor(t, 5*time.Second, "continued", func() bool {
				return procState(pid) == "S" && !status(t, svc).Paused && readFile(filepath.Join(svc, "supervise/stat")) == "run\n"
			})
			send(t, svc, "d")
			testenv.WaitFor(t, 5*time.Second, "down", func() bool { return status(t, svc).Pid == 0 })
			send(t, svc, "p")
			testenv.WaitFor(t, 5*time.Second, "paused while down", func() bool {
				return status(t, svc).Paused && readFile(filepath.Join(svc, "supervise/stat")) == "down, paused\n"
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
	for _, im := range impls(t) {
		for _, c := range cases {
			t.Run(im.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				root := t.TempDir()
				svc := filepath.Join(root, "s")
				writeFiles(t, svc, map[string]string{
					"run":    c.run,
					"finish": "#!/bin/sh\n[ -e args ] || echo \"$1 $2\" >args\n",
					"down":   "",
				})
				os.Chmod(filepath.Join(svc, "run"), c.mode)
				start(t, root, append(im.argv, "s"))
				testenv.WaitFor(t, 5*time.Second, "status", func() bool { _, ok := statusOK(svc); return ok })
				send(t, svc, "o")
				if c.send != "" {
					waitRunning(t, svc)
					send(t, svc, c.send)
				}
				waitFile(t, filepath.Join(svc, "args"), c.want)
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
	for _, im := range impls(t) {
		for _, c := range cases {
			t.Run(im.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				root := t.TempDir()
				svc := filepath.Join(root, "s")
				files := map[string]string{"run": helperRun(t)}
				for k, v := range c.hooks {
					files[k] = v
				}
				writeFiles(t, svc, files)
				if c.name == "not executable" {
					os.Chmod(filepath.Join(svc, "control/h"), 0o644)
				}
				start(t, root, append(im.argv, "s"))
				pid := waitRunning(t, svc)
				testenv.WaitFor(t, 5*time.Second, "the helper ready", func() bool { return readFile(filepath.Join(svc, "ready")) != "" })
				send(t, svc, c.send)
				testenv.WaitFor(t, 5*time.Second, "hooks and signals after "+c.send, func() bool {
					return readFile(filepath.Join(svc, "hooks")) == c.hooks2 && readFile(filepath.Join(svc, "signals")) == c.signals
				})
				if strings.Contains(c.signals, "TERM") {
					return // the process is on its way out; the flag clears when it goes
				}
				if st := status(t, svc); st.Term != c.term || (c.term && st.Pid != pid) {
					t.Errorf("status after %q: %+v; want term %v", c.send, st, c.term)
				}
			})
		}
	}
}

// TestUpHook: control/u runs before every start of run, automatic
// restarts included; its exit code does not matter.
func TestUpHook(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "s")
			writeFiles(t, svc, map[string]string{
				"run":       "#!/bin/sh\necho run >>hooks\nexec sleep 100\n",
				"control/u": "#!/bin/sh\necho u >>hooks\nexit 1\n",
			})
			start(t, root, append(im.argv, "s"))
			waitRunning(t, svc)
			waitFile(t, filepath.Join(svc, "hooks"), "u\nrun\n")
			send(t, svc, "k")
			waitFile(t, filepath.Join(svc, "hooks"), "u\nrun\nu\nrun\n")
		})
	}
}

// TestRestartPacing: a run that exits at once is started again once a
// second, on both runsvs.
func TestRestartPacing(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "s")
			writeFiles(t, svc, map[string]string{"run": "#!/bin/sh\ndate +%s%N >>starts\nexit 1\n"})
			start(t, root, append(im.argv, "s"))
			var starts []string
			testenv.WaitFor(t, 10*time.Second, "three starts", func() bool {
				starts = strings.Fields(readFile(filepath.Join(svc, "starts")))
				return len(starts) >= 3
			})
			send(t, svc, "d")
			for i := 1; i < 3; i++ {
				a, _ := strconv.ParseInt(starts[i-1], 10, 64)
				b, _ := strconv.ParseInt(starts[i], 10, 64)
				if gap := time.Duration(b - a); gap < 950*time.Millisecond || gap > 1800*time.Millisecond {
					t.Errorf("gap between start %d and %d: %v; want about 1s", i, i+1, gap)
				}
			}
		})
	}
}

// TestCommandsDuringPause is a deliberate improvement: runsv sleeps a
// whole second after a fast exit and reads no command meanwhile; vigil
// answers at once. The commands take effect while the pause lasts.
func TestCommandsDuringPause(t *testing.T) {
	vigil := impls(t)[0]
	root := t.TempDir()
	svc := filepath.Join(root, "s")
	writeFiles(t, svc, map[string]string{"run": "#!/bin/sh\necho x >>starts\nexit 1\n"})
	start(t, root, append(vigil.argv, "s"))
	waitFile(t, filepath.Join(svc, "starts"), "x\n")
	var exitAt time.Time
	testenv.WaitFor(t, 5*time.Second, "the first exit", func() bool {
		st, ok := statusOK(svc)
		exitAt = st.Since
		return ok && st.Pid == 0 && st.State == supervise.Down
	})
	send(t, svc, "p")
	testenv.WaitFor(t, 5*time.Second, "the pause flag", func() bool { return status(t, svc).Paused })
	send(t, svc, "d")
	testenv.WaitFor(t, 5*time.Second, "want down", func() bool { return status(t, svc).Want == supervise.WantDown })
	if took := time.Since(exitAt); took > 800*time.Millisecond {
		t.Errorf("p and d were answered %v after the exit; want within the one-second pause", took)
	}
	// 'o' during the pause still waits for the pace: one more start, no
	// sooner than a second after the exit, then none.
	send(t, svc, "o")
	waitFile(t, filepath.Join(svc, "starts"), "x\nx\n")
	var st supervise.Status
	testenv.WaitFor(t, 5*time.Second, "the second exit", func() bool {
		st = status(t, svc)
		return st.Pid == 0 && st.State == supervise.Down && st.Since.After(exitAt)
	})
	if d := st.Since.Sub(exitAt); d < 950*time.Millisecond {
		t.Errorf("'o' during the pause started run %v after the exit; want the full second", d)
	}
}

// TestLogPipe: the supervisor holds both ends of the log pipe, so lines
// written while the logger is down, or between two loggers, wait in the
// pipe and none is lost.
func TestLogPipe(t *testing.T) {
	run := `#!/bin/sh
i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo $i; done
touch written1
while [ ! -e go ]; do sleep 0.01; done
while [ $i -lt 4000 ]; do i=$((i+1)); echo $i; done
touch written2
exec sleep 100
`
	var want strings.Builder
	for i := 1; i <= 4000; i++ {
		fmt.Fprintln(&want, i)
	}
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			svc := filepath.Join(root, "s")
			writeFiles(t, svc, map[string]string{
				"run":      run,
				"log/run":  "#!/bin/sh\nexec cat >>out\n",
				"log/down": "",
			})
			start(t, root, append(im.argv, "s"))
			testenv.WaitFor(t, 5*time.Second, "2000 lines written with no logger", func() bool {
				_, err := os.Stat(filepath.Join(svc, "written1"))
				return err == nil
			})
			send(t, filepath.Join(svc, "log"), "u")
			lines := strings.Join(strings.Fields(want.String())[:2000], "\n") + "\n"
			waitFile(t, filepath.Join(svc, "log/out"), lines)
			// Stop the logger, write 2000 more, start a new logger.
			send(t, filepath.Join(svc, "log"), "d")
			testenv.WaitFor(t, 5*time.Second, "the logger down", func() bool { return status(t, filepath.Join(svc, "log")).Pid == 0 })
			os.WriteFile(filepath.Join(svc, "go"), nil, 0o644)
			testenv.WaitFor(t, 5*time.Second, "2000 more lines written", func() bool {
				_, err := os.Stat(filepath.Join(svc, "written2"))
				return err == nil
			})
			send(t, filepath.Join(svc, "log"), "u")
			waitFile(t, filepath.Join(svc, "log/out"), want.String())
		})
	}
}

// TestAsNobody: runsv supervises a directory owned by nobody, as nobody.
func TestAsNobody(t *testing.T) {
	testenv.RequireRoot(t, "to switch to nobody")
	const nobody = 65534
	root := t.TempDir()
	for _, d := range []string{root, filepath.Dir(root)} {
		os.Chmod(d, 0o755)
	}
	for d := filepath.Dir(root); d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by nobody", d)
		}
	}
	// The binary may sit in a directory only root can enter.
	bin := filepath.Join(root, "vigil")
	data, err := os.ReadFile(impls(t)[0].argv[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	svc := filepath.Join(root, "s")
	writeFiles(t, svc, map[string]string{"run": "#!/bin/sh\nid -u >uid\nexec sleep 100\n"})
	os.Chown(svc, nobody, nobody)
	os.Chown(filepath.Join(svc, "run"), nobody, nobody)
	cmd := exec.Command(bin, "runsv", "s")
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done; killUnder(root) })
	waitRunning(t, svc)
	waitFile(t, filepath.Join(svc, "uid"), "65534\n")
	if st, err := os.Stat(filepath.Join(svc, "supervise/status")); err != nil || st.Sys().(*syscall.Stat_t).Uid != nobody {
		t.Errorf("supervise/status: %v %v; want owned by nobody", st, err)
	}
	send(t, svc, "x")
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("runsv as nobody after x: %v; want exit 0; stderr %q", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("runsv as nobody did not exit after x; stderr %q", stderr.String())
	}
}
