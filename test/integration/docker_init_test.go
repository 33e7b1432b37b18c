package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// doubleFork leaves 100 orphans behind: each subshell starts a sleep and
// exits at once, so the sleep is reparented to the nearest subreaper.
const doubleFork = `for i in $(seq 100); do (sleep 3 &); done`

// lastingOrphans are 100 orphans that stay until killOrphans ends them,
// so that the test sees them adopted however slow the machine is (sleeps
// of 3 s may all be gone by the time a loaded machine's docker exec has
// listed the processes). Their command line tells them from the example
// services' sleeps.
const (
	lastingOrphans = `for i in $(seq 100); do (sleep 1009 &); done`
	killOrphans    = `for d in /proc/[0-9]*; do
	[ "$(tr '\0' ' ' <$d/cmdline 2>/dev/null)" = "sleep 1009 " ] && kill ${d#/proc/}
done; true`
)

// orphanSleeps counts the sleeps whose parent is one of parents (the ones
// the services start have their shell as parent), and the zombies.
func orphanSleeps(ps []proc, parents ...int) (orphans, zombies int) {
	for _, p := range ps {
		if p.comm == "sleep" && slices.Contains(parents, p.ppid) {
			orphans++
		}
		if p.state == "Z" {
			zombies++
		}
	}
	return orphans, zombies
}

// awaitAdopted waits until all 100 lasting orphans have one of parents as
// parent, then kills them.
func awaitAdopted(t *testing.T, c *container, what string, parents ...int) {
	t.Helper()
	var orphans int
	testenv.WaitFor(t, 15*time.Second, what+": 100 sleeps adopted", func() bool {
		orphans, _ = orphanSleeps(c.procs(), parents...)
		return orphans == 100
	})
	c.mustExec("sh", "-c", killOrphans)
}

// awaitReaped polls until no zombie and none of the orphans is left.
func awaitReaped(t *testing.T, c *container, what string, parents ...int) {
	t.Helper()
	var orphans, zombies int
	testenv.WaitFor(t, 15*time.Second, what+": every orphan gone and no zombie", func() bool {
		orphans, zombies = orphanSleeps(c.procs(), parents...)
		return orphans == 0 && zombies == 0
	})
}

func vigilPid(t *testing.T, c *container) int {
	t.Helper()
	for _, p := range c.procs() {
		if p.comm == "vigil" {
			return p.pid
		}
	}
	t.Fatal("no process named vigil in the container")
	return 0
}

// Orphans are reaped, whoever is PID 1: vigil itself, or Docker's tini
// (docker run --init) with vigil below it as a child subreaper. 100
// double-forks from docker exec, and, under tini, 100 from the main
// command, which vigil adopts, leave no zombie behind.
func TestDockerReapsOrphans(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)

	t.Run("vigil as PID 1", func(t *testing.T) {
		t.Parallel()
		c := startContainer(t, img)
		c.waitRunning(20*time.Second, dockerServices...)
		if got := vigilPid(t, c); got != 1 {
			t.Fatalf("vigil's pid: got %d; want 1", got)
		}
		c.mustExec("sh", "-c", lastingOrphans)
		awaitAdopted(t, c, "100 double-forks from docker exec", 1)
		awaitReaped(t, c, "100 double-forks from docker exec", 1)
	})

	t.Run("docker run --init", func(t *testing.T) {
		t.Parallel()
		c := startContainer(t, "--init", img, "--", "sh", "-c", doubleFork+"; echo forked; exec tail -f /dev/null")
		c.waitRunning(20*time.Second, dockerServices...)
		if got := strings.TrimSpace(c.mustExec("cat", "/proc/1/comm")); got == "vigil" {
			t.Fatalf("PID 1 is vigil; want Docker's init (docker run --init)")
		}
		vp := vigilPid(t, c)
		if vp == 1 {
			t.Fatalf("vigil is PID 1; want it below docker-init")
		}
		c.waitLog(10*time.Second, "stdout", "forked", func(l string) bool { return l == "forked" })
		// The main command's orphans go to vigil, the nearest subreaper.
		awaitReaped(t, c, "100 double-forks from the main command", vp)

		c.mustExec("sh", "-c", lastingOrphans)
		awaitAdopted(t, c, "100 double-forks from docker exec", 1, vp)
		awaitReaped(t, c, "100 double-forks from docker exec", 1, vp)

		// tini forwards docker stop's TERM to vigil, which stops everything
		// and exits with the main command's code (tail, killed by TERM).
		took, code := c.stop()
		t.Logf("docker stop with --init took %v", took.Round(time.Millisecond))
		if took > dockerStopTimeLimit {
			t.Errorf("docker stop took %v; want at most %v", took, dockerStopTimeLimit)
		}
		if code != 128+15 {
			t.Errorf("exit code: got %d; want %d, the main command's", code, 128+15)
		}
		_, stderr := c.logs()
		if !hasLine(stderr, "web: finished (exit -1, signal 15)") {
			t.Errorf("docker logs: want web's finish after TERM; stderr:\n%s", stderr)
		}
	})
}

// docker kill -s SIG reaches the main command for every signal vigil
// forwards, once each, and no service sees it (worker's shell would die
// of HUP, USR1, USR2 or ALRM). The same through Docker's tini.
func TestDockerForwardsSignals(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	signals := []string{"HUP", "USR1", "USR2", "WINCH", "QUIT", "ALRM"}
	var traps strings.Builder
	for _, s := range signals {
		fmt.Fprintf(&traps, `trap "echo got %s" %s; `, s, s)
	}
	main := traps.String() + `trap 'kill $! 2>/dev/null; exit 42' TERM; echo ready; while :; do sleep 1 & wait $!; done`
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"vigil as PID 1", nil},
		{"docker run --init", []string{"--init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startContainer(t, append(tc.args, img, "--", "sh", "-c", main)...)
			before := c.waitRunning(20*time.Second, dockerServices...)
			c.waitLog(10*time.Second, "stdout", "ready", func(l string) bool { return l == "ready" })
			for _, s := range signals {
				mustDocker(t, "kill", "-s", s, c.name)
				want := "got " + s
				c.waitLog(10*time.Second, "stdout", want, func(l string) bool { return l == want })
			}
			stdout, _ := c.logs()
			for _, s := range signals {
				if got := strings.Count(stdout, "got "+s+"\n"); got != 1 {
					t.Errorf("main command saw %s %d times; want once", s, got)
				}
			}
			after := c.waitRunning(5*time.Second, dockerServices...)
			for _, n := range dockerServices {
				if after[n].pid != before[n].pid {
					t.Errorf("%s: got pid %d after the signals; want %d: a forwarded signal reached a service", n, after[n].pid, before[n].pid)
				}
			}
			if _, code := c.stop(); code != 42 {
				t.Errorf("exit code after docker stop: got %d; want the main command's 42", code)
			}
		})
	}
}
