package sv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestLikeDebianSv drives one real supervisor (Debian's runsv, then
// vigil's engine) through every kind of command, each step run by
// Debian's sv and then by vigil's: the lines must be the same, pids and
// seconds aside.
func TestLikeDebianSv(t *testing.T) {
	for _, kind := range supervisorKinds() {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			vigil, debian := vigilSv(t), debianSv(t)
			svdir := t.TempDir()
			// HUP is ignored so that reload leaves the process alone.
			dir := makeService(t, svdir, "web", "trap '' HUP; exec sleep 1000")
			makeService(t, dir, "log", "exec cat >/dev/null")
			sup := startSupervisor(t, kind, dir)
			sup.waitRunning(t, 0)
			inv := svEnv(svdir)
			for _, step := range []struct {
				args []string
				want string // normalised
				// runit's sv prints "ok:" while the 'u' it sent is still
				// unread: "ok: run: web: (pid N) Ns, want down".
				runitEarly bool
			}{
				{[]string{"status"}, "run: web: (pid N) Ns; run: log: (pid N) Ns\n", false},
				{[]string{"-w", "5", "down"}, "ok: down: web: Ns, normally up\n", false},
				{[]string{"status"}, "down: web: Ns, normally up; run: log: (pid N) Ns\n", false},
				{[]string{"-w", "5", "up"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"-w", "5", "once"}, "ok: run: web: (pid N) Ns, want down\n", false},
				{[]string{"-w", "5", "start"}, "ok: run: web: (pid N) Ns\n", true},
				{[]string{"-w", "5", "pause"}, "ok: run: web: (pid N) Ns, paused\n", false},
				{[]string{"status"}, "run: web: (pid N) Ns, paused; run: log: (pid N) Ns\n", false},
				{[]string{"-w", "5", "cont"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"reload"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"hup"}, "", false},
				{[]string{"-w", "10", "restart"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"-w", "10", "try-restart"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"check"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"-w", "10", "stop"}, "ok: down: web: Ns, normally up\n", false},
				{[]string{"check"}, "ok: down: web: Ns, normally up\n", false},
				{[]string{"try-restart"}, "ok: down: web: Ns, normally up\n", false},
				{[]string{"-w", "10", "start"}, "ok: run: web: (pid N) Ns\n", false},
				{[]string{"status", "web", "web/log"}, "run: web: (pid N) Ns; run: log: (pid N) Ns\nrun: web/log: (pid N) Ns\n", false},
				{[]string{"-w", "10", "exit"}, "ok: web: runsv not running\n", false},
				{[]string{"status"}, "fail: web: runsv not running\n", false},
			} {
				args := append(step.args, "web")
				if step.args[0] == "status" && len(step.args) > 1 {
					args = step.args
				}
				deb := debian.run(t, inv, args...)
				got := vigil.run(t, inv, args...)
				if step.runitEarly {
					t.Logf("sv %s: debian: %s", strings.Join(args, " "), deb)
				} else if normalise(got.stdout) != normalise(deb.stdout) || got.rc != deb.rc {
					t.Errorf("sv %s:\ndebian: %s\nvigil:  %s", strings.Join(args, " "), deb, got)
				}
				if normalise(got.stdout) != step.want {
					t.Errorf("sv %s: vigil: %s; want %q", strings.Join(args, " "), got, step.want)
				}
			}
			select {
			case <-sup.done:
				if code := sup.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("%s exited %d after sv exit", kind.name, code)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s still running after sv exit", kind.name)
			}
		})
	}
}

// TestLinesInNamedOrder: the wait phase writes the lines of the services
// it finds done in the order they were named, as runit's sv writes those
// it finds done in one look; a line waits behind a slower service for at
// most one of runit's 420 ms rounds.
func TestLinesInNamedOrder(t *testing.T) {
	kind := supervisorKinds()[1] // vigil's
	vigil, debian := vigilSv(t), debianSv(t)
	for _, c := range []struct {
		name string
		stop string // how long slow takes to stop
		want string
	}{
		{"within a round", "0", "ok: down: slow: Ns, normally up\nok: down: b: Ns, normally up\nok: down: c: Ns, normally up\n"},
		{"slower than a round", "1.5", "ok: down: b: Ns, normally up\nok: down: c: Ns, normally up\nok: down: slow: Ns, normally up\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			svdir := t.TempDir()
			var sups []*supervisor
			for _, name := range []string{"slow", "b", "c"} {
				run := "exec sleep 1000"
				if name == "slow" {
					run = "trap 'sleep " + c.stop + "; exit 0' TERM; sleep 1000 & wait"
				}
				sups = append(sups, startSupervisor(t, kind, makeService(t, svdir, name, run)))
			}
			for i, cl := range []client{vigil, debian} {
				for _, sup := range sups {
					sup.waitRunning(t, 0)
				}
				got := cl.run(t, svEnv(svdir), "-w", "5", "down", "slow", "b", "c")
				if i == 1 {
					t.Logf("Debian's sv: %s", got) // its rounds start at its own pace
				} else if normalise(got.stdout) != c.want || got.rc != 0 {
					t.Errorf("%s; want %q, rc 0", got, c.want)
				}
				cl.run(t, svEnv(svdir), "-w", "5", "up", "slow", "b", "c")
			}
		})
	}
}

// TestCheckScript: ./check gates "ok" for up and restart, with stdout
// closed and the service directory as cwd, as runit's sv runs it.
func TestCheckScript(t *testing.T) {
	for _, kind := range supervisorKinds() {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			vigil, debian := vigilSv(t), debianSv(t)
			svdir := t.TempDir()
			dir := makeService(t, svdir, "web", "exec sleep 1000")
			// Passes only once ./ready exists, and only if stdout is
			// closed (echo fails); records each run in ./runs.
			writeScript(t, filepath.Join(dir, "check"),
				"if echo x 2>/dev/null; then echo open >>runs; exit 1; fi\n"+
					"echo closed >>runs\n"+
					"test -e ready")
			sup := startSupervisor(t, kind, dir)
			sup.waitRunning(t, 0)
			inv := svEnv(svdir)

			if got := vigil.run(t, svEnv(svdir, "SVWAIT=1"), "up", "web"); got.rc != 0 || got.stdout != "" {
				t.Errorf("up without -v: %s", got)
			}
			got := vigil.run(t, svEnv(svdir, "SVWAIT=1"), "-v", "up", "web")
			if !strings.HasPrefix(got.stdout, "timeout: run: web: (pid ") || got.rc != 1 {
				t.Errorf("check failing: %s", got)
			}
			deb := debian.run(t, svEnv(svdir, "SVWAIT=1"), "-v", "up", "web")
			// vigil's engine makes ./check the service's readiness
			// source, which vigil's sv reports and Debian's cannot.
			vline := got.stdout
			if kind.name == "vigil" {
				vline = strings.Replace(vline, ", not ready\n", "\n", 1)
			}
			if normalise(deb.stdout) != normalise(vline) || deb.rc != got.rc {
				t.Errorf("debian: %s\nvigil: %s", deb, got)
			}
			runs := func() string {
				b, _ := os.ReadFile(filepath.Join(dir, "runs"))
				return string(b)
			}
			if r := runs(); !strings.HasPrefix(r, "closed\n") || strings.Contains(r, "open") {
				t.Errorf("check runs: %q; want it run with stdout closed, in the service directory", r)
			}

			// Make it pass while sv waits: sv must notice without the
			// supervisor doing anything.
			done := make(chan result)
			go func() { done <- vigil.run(t, inv, "-w", "10", "check", "web") }()
			before := len(runs())
			testenv.WaitFor(t, 5*time.Second, "check run by the waiting sv", func() bool {
				return len(runs()) > before
			})
			os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
			res := <-done
			if !strings.HasPrefix(res.stdout, "ok: run: web: (pid ") || res.rc != 0 {
				t.Errorf("check after ready: %s", res)
			}
			res = vigil.run(t, inv, "-w", "10", "restart", "web")
			if !strings.HasPrefix(res.stdout, "ok: run: web: (pid ") || res.rc != 0 {
				t.Errorf("restart: %s", res)
			}
		})
	}
}

// TestRandomSequences is the acceptance test of "never wrong": random
// sequences of up, down, once and restart, each with -w, in quick
// succession, and after each the state that was asked for. vigil's sv must
// give no wrong answer and no timeout against either supervisor; Debian's
// sv is run too, and what it does is reported, not asserted.
func TestRandomSequences(t *testing.T) {
	seqs := func(kind, client string) int {
		if testing.Short() {
			return 10
		}
		if kind == "vigil" && client == "vigil" {
			return 500
		}
		return 40
	}
	for _, kind := range supervisorKinds() {
		for _, mk := range []func(testing.TB) client{vigilSv, debianSv} {
			c := mk(t)
			t.Run(kind.name+"/"+c.name+"-sv", func(t *testing.T) {
				n, workers := seqs(kind.name, c.name), 10
				if n >= 500 {
					// Mostly waiting out the supervisor's 1-second
					// restart pacing: spread over more services.
					workers = 25
				}
				st := runSequences(t, kind, c, n, workers)
				t.Logf("%s's sv against %s: %d sequences, %d commands: %d wrong answers, %d failures, %.0f ms per command",
					c.name, kind.name, n, st.commands, st.wrong, st.failed, st.perCommand())
				for _, e := range st.examples {
					t.Logf("  %s", e)
				}
				if c.vigil && (st.wrong != 0 || st.failed != 0) {
					t.Errorf("vigil's sv: %d wrong answers, %d failures", st.wrong, st.failed)
				}
			})
		}
	}
}

type seqStats struct {
	mu                      sync.Mutex
	commands, wrong, failed int
	busy                    time.Duration
	examples                []string
}

func (s *seqStats) perCommand() float64 {
	if s.commands == 0 {
		return 0
	}
	return float64(s.busy.Milliseconds()) / float64(s.commands)
}

func (s *seqStats) note(wrong bool, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wrong {
		s.wrong++
	} else {
		s.failed++
	}
	if len(s.examples) < 5 {
		s.examples = append(s.examples, msg)
	}
}

func runSequences(t *testing.T, kind supervisorKind, c client, nseq, workers int) *seqStats {
	st := &seqStats{}
	svdir := t.TempDir()
	sups := make([]*supervisor, workers)
	for w := range sups {
		dir := makeService(t, svdir, fmt.Sprintf("s%d", w), "exec sleep 1000")
		sups[w] = startSupervisor(t, kind, dir)
	}
	inv := svEnv(svdir)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			name := fmt.Sprintf("s%d", w)
			sup := sups[w]
			for i := w; i < nseq; i += workers {
				length := 2 + rng.IntN(3)
				var seq []string
				for range length {
					cmd := []string{"up", "down", "once", "restart"}[rng.IntN(4)]
					seq = append(seq, cmd)
					pre := sup.status(t)
					res := c.run(t, inv, "-w", "5", cmd, name)
					post := sup.status(t)
					st.mu.Lock()
					st.commands++
					st.busy += res.took
					st.mu.Unlock()
					what := fmt.Sprintf("seq %d %v: %s", i, seq, res)
					if res.rc != 0 || !strings.HasPrefix(res.stdout, "ok: ") {
						st.note(false, what)
						continue
					}
					if why := wrongState(cmd, pre, post); why != "" {
						st.note(true, what+": "+why)
					}
				}
			}
		}()
	}
	wg.Wait()
	return st
}

// wrongState says how post is not what cmd asked for, "" if it is.
func wrongState(cmd string, pre, post supervise.Status) string {
	running := post.Pid != 0 && post.State == supervise.Run
	switch cmd {
	case "up":
		if !running || post.Want != supervise.WantUp {
			return fmt.Sprintf("after up: %s", post.Stat())
		}
	case "down":
		if post.Pid != 0 || post.State != supervise.Down || post.Want == supervise.WantUp {
			return fmt.Sprintf("after down: %s", post.Stat())
		}
	case "once":
		if post.Want == supervise.WantUp || !(running || (post.State == supervise.Down && post.Since.After(pre.Since))) {
			return fmt.Sprintf("after once: %s", post.Stat())
		}
	case "restart":
		if !running || post.Want != supervise.WantUp || post.Term {
			return fmt.Sprintf("after restart: %s", post.Stat())
		}
		if post.Pid == pre.Pid && !post.Since.After(pre.Since) {
			return fmt.Sprintf("after restart: the same process (pid %d) still runs", post.Pid)
		}
	}
	return ""
}
