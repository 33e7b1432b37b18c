package services_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestExitThenCommands: whatever follows 'x' on a service with a logger,
// and however it is timed against the service's way out, the service ends
// with run and its logger both running, and what run writes reaches the
// logger. (The logger used to stay in "want exit" after 'x' then 'u',
// never restarted, until the pipe filled and blocked run.)
func TestExitThenCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		// steps: command bytes, or "exiting" (wait until run is down and
		// the logger drains the pipe) or "gone" (wait for the service to
		// be replaced by a fresh one).
		steps []string
	}{
		{"x alone", []string{"x", "gone"}},
		{"x and u together", []string{"xu"}},
		{"u while the logger drains", []string{"x", "exiting", "u", "gone"}},
		{"d while the logger drains", []string{"x", "exiting", "d", "gone", "u"}},
		{"o while the logger drains", []string{"x", "exiting", "o", "gone", "u"}},
		{"x twice", []string{"x", "exiting", "x", "gone"}},
		{"u once replaced", []string{"x", "gone", "u"}},
		{"down first", []string{"d", "x", "exiting", "u", "gone"}},
		{"t and k around x", []string{"t", "x", "k", "exiting", "k", "u", "gone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			svdir := filepath.Join(root, "service")
			svc := filepath.Join(svdir, "s")
			out := filepath.Join(root, "out")
			release := filepath.Join(root, "release")
			writeService(t, svc, map[string]string{
				"run": "#!/bin/sh\necho start $$\nexec sleep 1000\n",
				// The logger lingers after end of file until released, so
				// that commands can arrive while it drains.
				"log/run": "#!/bin/sh\nwhile read -r l; do echo \"$l\" >>" + out + "; done\n" +
					"while [ ! -e " + release + " ]; do sleep 0.01; done\n",
			})
			e := engine(t, services.Config{})
			if err := e.Watch(svdir); err != nil {
				t.Fatal(err)
			}
			go e.Run()
			sup, logSup := filepath.Join(svc, "supervise"), filepath.Join(svc, "log", "supervise")
			first := waitStarted(t, sup, out, 0)
			for _, step := range tc.steps {
				switch step {
				case "exiting":
					testenv.WaitFor(t, 20*time.Second, "run down and the logger draining", func() bool {
						st, err := supervise.ReadStatus(sup)
						ls, lerr := supervise.ReadStatus(logSup)
						return err == nil && lerr == nil && st.State == supervise.Down && ls.Want == supervise.WantDown && ls.Pid != 0
					})
				case "gone":
					// The old logger lingers until released; the fresh
					// supervisor starts a logger of its own.
					ls, _ := supervise.ReadStatus(logSup)
					os.WriteFile(release, nil, 0o644)
					testenv.WaitFor(t, 20*time.Second, "a fresh supervisor for s", func() bool {
						nls, err := supervise.ReadStatus(logSup)
						return err == nil && alive(sup) && nls.Pid != 0 && nls.Pid != ls.Pid && nls.Want == supervise.WantUp
					})
					os.Remove(release)
				default:
					testenv.WaitFor(t, 20*time.Second, "the supervisor to take "+step, func() bool {
						return supervise.Send(sup, []byte(step)) == nil
					})
				}
			}
			os.WriteFile(release, nil, 0o644)
			pid := waitStarted(t, sup, out, first)
			testenv.WaitFor(t, 20*time.Second, "the logger running, wanted up", func() bool {
				ls, err := supervise.ReadStatus(logSup)
				return err == nil && ls.State == supervise.Run && ls.Want == supervise.WantUp && ls.Pid != 0
			})
			testenv.WaitFor(t, 20*time.Second, "run's line in the log", func() bool {
				b, _ := os.ReadFile(out)
				return strings.Contains(string(b), "start "+strconv.Itoa(pid)+"\n")
			})
		})
	}
}

// waitStarted waits for run to be running under a pid other than not and
// returns it, asking for it with 'u' if it is wanted down.
func waitStarted(t *testing.T, sup, out string, not int) int {
	t.Helper()
	var pid int
	testenv.WaitFor(t, 20*time.Second, "run running", func() bool {
		st, err := supervise.ReadStatus(sup)
		if err != nil {
			return false
		}
		if st.Want == supervise.WantDown && st.Pid == 0 {
			supervise.Send(sup, []byte("u"))
		}
		pid = st.Pid
		return st.State == supervise.Run && st.Pid != 0 && st.Pid != not
	})
	return pid
}

func alive(sup string) bool { return supervise.Alive(sup) == nil }

// TestExitWithPausedLogger: a logger paused with 'p' is continued when
// its service ends, or it would never read the end of its pipe.
func TestExitWithPausedLogger(t *testing.T) {
	root := t.TempDir()
	svc := filepath.Join(root, "s")
	writeService(t, svc, map[string]string{
		"run":     "#!/bin/sh\nexec sleep 1000\n",
		"log/run": "#!/bin/sh\nexec cat >/dev/null\n",
	})
	e := engine(t, services.Config{})
	if err := e.Add(svc, "s"); err != nil {
		t.Fatal(err)
	}
	go e.Run()
	sup, logSup := filepath.Join(svc, "supervise"), filepath.Join(svc, "log", "supervise")
	waitStarted(t, sup, "", 0)
	testenv.WaitFor(t, 20*time.Second, "the logger running", func() bool {
		st, err := supervise.ReadStatus(logSup)
		return err == nil && st.Pid != 0
	})
	if err := supervise.Send(logSup, []byte("p")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "the logger paused", func() bool {
		st, err := supervise.ReadStatus(logSup)
		return err == nil && st.Paused
	})
	if err := supervise.Send(sup, []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not end with its logger paused")
	}
}
