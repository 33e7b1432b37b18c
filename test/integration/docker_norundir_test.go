package integration

import (
	"strings"
	"testing"
	"time"
)

// `docker run --read-only` without --tmpfs /run: no service can keep its
// supervise/ state, so vigil says in one line what to add and the
// container exits 111, with or without a main command, instead of running
// with nothing supervised. VIGIL_RUNDIR on a writable directory is the
// other way out.
func TestDockerReadOnlyWithoutRun(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	want := "vigil: error: no service in /etc/service can be supervised: their directories are read-only and " +
		"/run/vigil is not writable (read-only file system); " +
		"add --tmpfs /run to docker run (or a writable volume at /run/vigil), or set VIGIL_RUNDIR to a writable directory"
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"services only", nil},
		{"with a main command", []string{"--", "sh", "-c", "echo main ran; exec sleep 1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startContainer(t, append([]string{"--read-only", img}, tc.cmd...)...)
			if code := c.waitExit(30 * time.Second); code != 111 {
				t.Errorf("exit code %d; want 111", code)
			}
			stdout, stderr := c.logs()
			if got := strings.TrimSuffix(stderr, "\n"); got != want {
				t.Errorf("docker logs, stderr:\n%s\nwant the one line:\n%s", got, want)
			}
			if stdout != "" {
				t.Errorf("docker logs, stdout: %q; want nothing run", stdout)
			}
		})
	}

	t.Run("VIGIL_RUNDIR on a tmpfs", func(t *testing.T) {
		t.Parallel()
		c := startContainer(t, "--read-only", "--tmpfs", "/tmp", "-e", "VIGIL_RUNDIR=/tmp/vigil", img)
		c.waitRunning(20*time.Second, dockerServices...)
		c.mustExec("test", "-p", "/tmp/vigil/supervise/etc/service/web/control")
		if _, code := c.stop(); code != 0 {
			t.Errorf("docker stop: exit code %d; want 0", code)
		}
		if _, stderr := c.logs(); strings.Contains(stderr, "supervised") || strings.Contains(stderr, "unable to") {
			t.Errorf("docker logs: want no trouble; stderr:\n%s", stderr)
		}
	})
}
