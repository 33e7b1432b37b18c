package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// `docker run` of the example: vigil is PID 1, every service and logger
// reaches run, web answers, and the HEALTHCHECK (which calls sv) reports
// healthy.
func TestDockerRunServices(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	c := startContainer(t, "--health-interval=1s", img)
	states := c.waitRunning(20*time.Second, dockerServices...)
	if got := states["ledger"].logPid; got == 0 {
		t.Errorf("ledger's logger: got no pid in %q; want one running", states["ledger"].line)
	}
	if got, want := strings.TrimSpace(c.mustExec("cat", "/proc/1/comm")), "vigil"; got != want {
		t.Errorf("PID 1 is %q; want %q", got, want)
	}
	// The same with the names relative to SVDIR, as the HEALTHCHECK has them.
	out := c.mustExec("sv", "status", "web", "worker", "ledger")
	if got := strings.Count(out, "run: "); got < 3 {
		t.Errorf("sv status web worker ledger: got %q; want each in run", out)
	}
	if got, want := c.mustExec("wget", "-q", "-O", "-", "http://127.0.0.1:8080/"), "Served by busybox httpd"; !strings.Contains(got, want) {
		t.Errorf("GET / from web: got %q; want it to hold %q", got, want)
	}
	testenv.WaitFor(t, 20*time.Second, "the HEALTHCHECK to report healthy", func() bool {
		out, _ := docker("inspect", "-f", "{{.State.Health.Status}}", c.name)
		time.Sleep(100 * time.Millisecond)
		return strings.TrimSpace(out) == "healthy"
	})
}

// `sv restart web` gives web a new pid and leaves the other services (and
// the logger) alone; `sv down worker` stops worker with TERM and it stays
// down past the one-second restart pacing, and ledger, which does not
// depend on it, runs on.
func TestDockerSvRestartAndDown(t *testing.T) {
	t.Parallel()
	c := startContainer(t, exampleImage(t))
	before := c.waitRunning(20*time.Second, dockerServices...)

	out := c.mustExec("sv", "restart", "web")
	if !strings.HasPrefix(out, "ok: run: ") {
		t.Errorf("sv restart web: got %q; want ok: run: ...", out)
	}
	after := c.waitRunning(10*time.Second, dockerServices...)
	if got, old := after["web"].pid, before["web"].pid; got == old {
		t.Errorf("web after sv restart: got pid %d; want a new one (was %d)", got, old)
	}
	for _, n := range []string{"worker", "ledger"} {
		if got, want := after[n].pid, before[n].pid; got != want {
			t.Errorf("%s after sv restart web: got pid %d; want %d, untouched", n, got, want)
		}
	}
	if got, want := after["ledger"].logPid, before["ledger"].logPid; got != want {
		t.Errorf("ledger's logger after sv restart web: got pid %d; want %d", got, want)
	}
	_, stderr := c.logs()
	if !strings.Contains(stderr, "web: finished (exit -1, signal 15)") {
		t.Errorf("docker logs after sv restart web: want web's finish to report TERM; stderr:\n%s", stderr)
	}

	workerPid := after["worker"].pid
	out = c.mustExec("sv", "-v", "down", "worker")
	if !strings.HasPrefix(out, "ok: down: ") {
		t.Errorf("sv -v down worker: got %q; want ok: down: ...", out)
	}
	c.waitLog(5*time.Second, "stderr", "worker's finish after TERM", func(l string) bool {
		return l == "worker: finished (exit 143, signal 0)"
	})
	// It must stay down: watch it for longer than runit's restart pacing.
	until := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(until) {
		st, err := c.status("worker")
		if err != nil {
			t.Fatal(err)
		}
		if got := st["worker"]; got.state != "down" || got.pid != 0 {
			t.Fatalf("worker after sv down: got %q; want down", got.line)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range c.procs() {
		if p.pid == workerPid {
			t.Errorf("worker's process %d still exists after sv down (state %s)", p.pid, p.state)
		}
	}
	// web depends on worker (dependencies.d/worker): it stops with it
	// and waits for it, which the dependency tests check. ledger does
	// not, and is left alone.
	if got := c.waitRunning(5*time.Second, "ledger"); got["ledger"].pid != after["ledger"].pid {
		t.Errorf("ledger after sv down worker: got pid %d; want %d", got["ledger"].pid, after["ledger"].pid)
	}
}

// `docker stop`: every service gets TERM and exits (each says so on
// stderr through its finish script), the container stops well within
// Docker's 10 s, and its exit code is the documented one: 0 without a
// main command, else the main command's, or the one a service wrote to
// $VIGIL_RUNDIR/exitcode.
func TestDockerStop(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	cases := []struct {
		name  string
		args  []string
		ready func(c *container)      // before docker stop
		stop  func(c *container) bool // instead of docker stop; false: docker stop
		code  int
		// With a service that ignores TERM, vigil KILLs it after
		// VIGIL_GRACE (7 s), still within Docker's 10 s: not sooner, and
		// the exit code is vigil's own, not Docker's KILL (137).
		stubborn bool
	}{
		{name: "no main command", code: 0},
		{
			name: "main command exits 42 on TERM",
			args: []string{"--", "sh", "-c", `trap 'kill $! 2>/dev/null; echo main: TERM; exit 42' TERM; echo main: ready; while :; do sleep 1 & wait $!; done`},
			ready: func(c *container) {
				c.waitLog(10*time.Second, "stdout", "main: ready", func(l string) bool { return l == "main: ready" })
			},
			code: 42,
		},
		{name: "main command killed by TERM", args: []string{"--", "sleep", "1000"}, code: 128 + 15},
		{
			name: "exit code asked by a service",
			stop: func(c *container) bool {
				// What a finish script does: write the code, TERM vigil.
				c.mustExec("sh", "-c", "echo 7 > /run/vigil/exitcode && kill -TERM 1")
				return true
			},
			code: 7,
		},
		{name: "a service ignores TERM", stubborn: true, code: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{img}, tc.args...)
			services := dockerServices
			if tc.stubborn {
				dir := filepath.Join(t.TempDir(), "stubborn")
				os.Mkdir(dir, 0o755)
				run := "#!/bin/sh\ntrap 'echo stubborn: ignoring TERM' TERM\necho stubborn: trapping\nwhile :; do sleep 1; done\n"
				if err := os.WriteFile(filepath.Join(dir, "run"), []byte(run), 0o755); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"-v", dir + ":/etc/service/stubborn"}, args...)
				services = append(slices.Clone(services), "stubborn")
			}
			c := startContainer(t, args...)
			c.waitRunning(20*time.Second, services...)
			if tc.stubborn {
				// Running is not yet trapping.
				c.waitLog(20*time.Second, "stdout", "stubborn's trap", func(line string) bool { return strings.HasSuffix(line, "stubborn: trapping") })
			}
			if tc.ready != nil {
				tc.ready(c)
			}
			var took time.Duration
			var code int
			if tc.stop != nil && tc.stop(c) {
				start := time.Now()
				code = c.waitExit(15 * time.Second)
				took = time.Since(start)
			} else {
				took, code = c.stop()
			}
			t.Logf("docker stop took %v", took.Round(time.Millisecond))
			if tc.stubborn {
				// Not sooner than the grace period; that it ended
				// before Docker's KILL at 10 s the exit code tells
				// (vigil's 0, not 137), however slow docker stop is.
				if took < dockerDefaultGrace-500*time.Millisecond {
					t.Errorf("stopping with a service that ignores TERM took %v; want about VIGIL_GRACE (%v), under Docker's 10 s", took, dockerDefaultGrace)
				}
			} else if took > dockerStopTimeLimit {
				t.Errorf("stopping took %v; want well under Docker's 10 s (at most %v)", took, dockerStopTimeLimit)
			}
			if code != tc.code {
				t.Errorf("exit code: got %d; want %d", code, tc.code)
			}
			stdout, stderr := c.logs()
			for _, want := range []string{
				"web: finished (exit -1, signal 15)",
				"worker: finished (exit 143, signal 0)",
				"ledger: finished (exit 143, signal 0)",
			} {
				if !hasLine(stderr, want) {
					t.Errorf("docker logs: want the line %q (a service that got TERM); stderr:\n%s", want, stderr)
				}
			}
			if !strings.Contains(stdout, "stopping after ") {
				t.Errorf("docker logs: want worker's TERM message \"stopping after N ticks\"; stdout:\n%s", stdout)
			}
			if tc.stubborn && !hasLine(stdout, "stubborn: ignoring TERM") {
				t.Errorf("docker logs: want the stubborn service to have got TERM; stdout:\n%s", stdout)
			}
			if tc.code == 42 && !hasLine(stdout, "main: TERM") {
				t.Errorf("docker logs: want the main command's \"main: TERM\"; stdout:\n%s", stdout)
			}
		})
	}
}

// `docker restart` finds the supervise/ state of the first run in the
// container's layer and starts every service again.
func TestDockerRestart(t *testing.T) {
	t.Parallel()
	c := startContainer(t, exampleImage(t))
	c.waitRunning(20*time.Second, dockerServices...)
	c.mustExec("touch", "/tmp/first-run")
	mustDocker(t, "restart", c.name)
	if _, code, _ := c.exec("test", "-e", "/tmp/first-run"); code != 0 {
		t.Fatalf("/tmp/first-run is gone: want the same container restarted")
	}
	c.waitRunning(20*time.Second, dockerServices...)
	c.mustExec("sv", "restart", "worker")
	c.waitRunning(10*time.Second, dockerServices...)
}

// `docker logs` holds the output of the services without a logger (web's
// access log, worker's ticks), never the ledger's (svlogd has it); with
// VIGIL_PREFIX=1 each line starts with its service's name.
func TestDockerLogs(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	for _, prefix := range []bool{false, true} {
		t.Run(fmt.Sprintf("VIGIL_PREFIX=%v", prefix), func(t *testing.T) {
			t.Parallel()
			args := []string{img}
			tick, access := "tick 2", ": response:200"
			if prefix {
				args = []string{"-e", "VIGIL_PREFIX=1", img}
				tick, access = "worker: tick 2", ": response:200"
			}
			c := startContainer(t, args...)
			c.waitRunning(20*time.Second, dockerServices...)
			c.mustExec("wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/")
			c.waitLog(10*time.Second, "stdout", tick, func(l string) bool { return l == tick })
			c.waitLog(10*time.Second, "stdout", "web's access log", func(l string) bool {
				return strings.HasSuffix(l, access) && strings.HasPrefix(l, "web: ") == prefix
			})
			stdout, _ := c.logs()
			for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
				if strings.Contains(l, "ledger: record") {
					t.Errorf("docker logs: got ledger's line %q; want it only in svlogd's log", l)
				}
				if prefix && !strings.HasPrefix(l, "web: ") && !strings.HasPrefix(l, "worker: ") {
					t.Errorf("docker logs with VIGIL_PREFIX=1: got line %q; want each prefixed web: or worker:", l)
				}
				if !prefix && strings.HasPrefix(l, "worker: ") {
					t.Errorf("docker logs without VIGIL_PREFIX: got prefixed line %q", l)
				}
			}
		})
	}
}
