package services_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

func send(t *testing.T, svdir, name, c string) {
	t.Helper()
	if err := supervise.Send(filepath.Join(svdir, name, "supervise"), []byte(c)); err != nil {
		t.Fatal(err)
	}
}

// TestEssential: an essential service that ends unasked reports its code
// (128+n for signal n), after its finish; asked-for stops do not.
func TestEssential(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   string
		limit string
		want  services.Ended
	}{
		{"exit code", "exit 3", "", services.Ended{Service: "s", Code: 3, Reason: "exited with code 3"}},
		{"signal", "kill -KILL $$", "", services.Ended{Service: "s", Code: 137, Reason: "killed by signal 9 (KILL)"}},
		{"after the restart limit", "exit 4", "2 60", services.Ended{Service: "s", Code: 4, Reason: "exited with code 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended := make(chan services.Ended, 4)
			tree := map[string]string{
				"s/run":       "#!/bin/sh\necho x >>../starts\n" + tc.run + "\n",
				"s/finish":    "#!/bin/sh\necho \"$1 $2\" >>../finished\n",
				"s/essential": "",
			}
			if tc.limit != "" {
				tree["s/restart-limit"] = tc.limit
			}
			_, svdir := watched(t, services.Config{Pace: time.Millisecond, OnEssential: func(x services.Ended) { ended <- x }}, tree)
			var got services.Ended
			select {
			case got = <-ended:
			case <-time.After(30 * time.Second):
				t.Fatal("no essential end")
			}
			if got != tc.want {
				t.Errorf("ended: %+v; want %+v", got, tc.want)
			}
			starts := strings.Count(svtestRead(svdir, "starts"), "x")
			finished := strings.Count(svtestRead(svdir, "finished"), "\n")
			wantStarts := 1
			if tc.limit != "" {
				wantStarts = 3
			}
			if starts != wantStarts || finished != starts {
				t.Errorf("%d starts, %d finishes before the end; want %d of each", starts, finished, wantStarts)
			}
		})
	}
	t.Run("asked to stop", func(t *testing.T) {
		ended := make(chan services.Ended, 1)
		e, svdir := watched(t, services.Config{OnEssential: func(x services.Ended) { ended <- x }},
			map[string]string{"s/run": "#!/bin/sh\nexec sleep 1000\n", "s/essential": ""})
		waitState(t, e, "s", "running", running)
		send(t, svdir, "s", "d")
		waitState(t, e, "s", "down", func(st services.ServiceState) bool { return st.State == "down" })
		send(t, svdir, "s", "u")
		first := waitState(t, e, "s", "running", running)
		send(t, svdir, "s", "t")
		waitState(t, e, "s", "restarted", func(st services.ServiceState) bool { return running(st) && st.Pid != first.Pid })
		select {
		case x := <-ended:
			t.Errorf("ended after asked-for stops: %+v", x)
		default:
		}
	})
}

func svtestRead(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}

// TestRestartLimit: more than N unasked exits within the window make the
// service failed, not restarted; 'u' clears it.
func TestRestartLimit(t *testing.T) {
	var msgs messages
	e, svdir := watched(t, services.Config{Pace: time.Millisecond, Messages: &msgs, Verbosity: 1}, map[string]string{
		"s/run":           "#!/bin/sh\necho x >>../starts\n[ -e ../fixed ] && exec sleep 1000\nexit 1\n",
		"s/restart-limit": "3 60\n",
	})
	st := waitState(t, e, "s", "failed", func(st services.ServiceState) bool { return st.Failed })
	if n := strings.Count(svtestRead(svdir, "starts"), "x"); n != 4 || st.Restarts != 4 {
		t.Errorf("%d starts, %d restarts counted before giving up; want 4 (the limit is 3)", n, st.Restarts)
	}
	testenv.WaitFor(t, 30*time.Second, "failed in supervise/vigil", func() bool {
		x, err := supervise.ReadExtended(filepath.Join(svdir, "s", "supervise"))
		return err == nil && x.Failed
	})
	testenv.WaitFor(t, 30*time.Second, "the give-up line", func() bool {
		return strings.Contains(msgs.String(), "s: given up after 4 unasked exits within 1m0s (restart-limit)")
	})
	os.WriteFile(filepath.Join(svdir, "fixed"), nil, 0o644)
	send(t, svdir, "s", "u")
	waitState(t, e, "s", "running again", func(st services.ServiceState) bool { return running(st) && !st.Failed })
}

// TestRestartBackoff: the delay doubles from MIN to MAX after fast exits.
func TestRestartBackoff(t *testing.T) {
	_, svdir := watched(t, services.Config{}, map[string]string{
		"s/run":             "#!/bin/sh\ndate +%s.%N >>../starts\nexit 1\n",
		"s/restart-backoff": "0.25 2\n",
	})
	var times []float64
	testenv.WaitFor(t, 60*time.Second, "6 starts", func() bool {
		times = times[:0]
		for _, l := range strings.Fields(svtestRead(svdir, "starts")) {
			f, _ := strconv.ParseFloat(l, 64)
			times = append(times, f)
		}
		return len(times) >= 6
	})
	// Each gap is at least the delay (it may be longer on a busy machine:
	// run's date is after its start, the next start after run's exit plus
	// the delay). A run that lasted MAX would reset it; none of these
	// does, unless the machine is slower than 2 s for a date.
	for i, min := range []float64{0.25, 0.5, 1, 2, 2} {
		if gap := times[i+1] - times[i]; gap < min {
			t.Errorf("gap %d: %.3fs; want at least %.1fs (gaps %v)", i, gap, min, times)
		}
	}
}

// TestDownSignalAndTimeoutKill: 'd' sends down-signal (then CONT); a run
// that ignores it is KILLed after timeout-kill.
func TestDownSignalAndTimeoutKill(t *testing.T) {
	e, svdir := watched(t, services.Config{}, map[string]string{
		"quit/run":           "#!/bin/sh\ntrap 'echo QUIT >>../quit.got; exit 0' QUIT\ntrap 'echo TERM >>../quit.got; exit 0' TERM\necho up >../quit.up\nwhile :; do sleep 0.05; done\n",
		"quit/down-signal":   "SIGQUIT\n",
		"stuck/run":          "#!/bin/sh\ntrap '' TERM\necho up >../stuck.up\nwhile :; do sleep 0.05; done\n",
		"stuck/timeout-kill": "200\n",
	})
	waitState(t, e, "quit", "running", running)
	waitState(t, e, "stuck", "running", running)
	// Running is not yet trapping: each script says when its traps are set.
	testenv.WaitFor(t, 30*time.Second, "quit's traps set", func() bool { return svtestRead(svdir, "quit.up") != "" })
	testenv.WaitFor(t, 30*time.Second, "stuck's trap set", func() bool { return svtestRead(svdir, "stuck.up") != "" })
	send(t, svdir, "quit", "d")
	send(t, svdir, "stuck", "d")
	waitState(t, e, "quit", "down", func(st services.ServiceState) bool { return st.State == "down" })
	if got := svtestRead(svdir, "quit.got"); got != "QUIT\n" {
		t.Errorf("quit received %q; want QUIT", got)
	}
	st := waitState(t, e, "stuck", "killed", func(st services.ServiceState) bool { return st.State == "down" })
	if st.LastExit == nil || st.LastExit.Signal != 9 {
		t.Errorf("stuck's end: %+v; want KILL", st.LastExit)
	}
}

// TestKillGroup: with kill-group the down signal reaches run's children.
func TestKillGroup(t *testing.T) {
	e, svdir := watched(t, services.Config{Setsid: true}, map[string]string{
		"g/run":        "#!/bin/sh\n(trap 'echo child >>../g.got; exit 0' TERM; echo up >../g.child; while :; do sleep 0.05; done) &\ntrap 'echo parent >>../g.got; exit 0' TERM\necho up >../g.up\nwait\n",
		"g/kill-group": "",
	})
	waitState(t, e, "g", "running", running)
	testenv.WaitFor(t, 30*time.Second, "g's traps set", func() bool {
		return svtestRead(svdir, "g.up") != "" && svtestRead(svdir, "g.child") != ""
	})
	send(t, svdir, "g", "d")
	testenv.WaitFor(t, 30*time.Second, "TERM to parent and child", func() bool {
		got := svtestRead(svdir, "g.got")
		return strings.Contains(got, "child") && strings.Contains(got, "parent")
	})
}

// TestRepeatSummary: an exit that repeats is said once, then summarised at
// most once a minute of the engine's clock.
func TestRepeatSummary(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }
	var msgs messages
	_, svdir := watched(t, services.Config{Pace: time.Millisecond, Clock: clock, Messages: &msgs, Verbosity: 1},
		map[string]string{"s/run": "#!/bin/sh\necho x >>../starts\nexit 2\n"})
	testenv.WaitFor(t, 60*time.Second, "100 starts", func() bool { return strings.Count(svtestRead(svdir, "starts"), "x") >= 100 })
	lines := strings.Count(msgs.String(), "exited with code 2")
	// Each start advances the clock by a few seconds: 100 starts are a
	// few minutes, so a handful of lines, not 100.
	if lines < 2 || lines > 20 {
		t.Errorf("%d exit lines for 100 exits; want one, then one a minute:\n%s", lines, msgs.String())
	}
	if !strings.Contains(msgs.String(), "more times since") {
		t.Errorf("no summary line:\n%s", msgs.String())
	}
}
