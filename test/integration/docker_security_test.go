package integration

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// `docker run --read-only --tmpfs /run` and `docker run --user 1000:1000`
// work: vigil keeps supervise/ state under /run/vigil where
// /etc/service/NAME cannot hold it, sv finds it there, services run as the
// container's user, and docker stop is as quick and clean as usual.
func TestDockerReadOnlyAndUser(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	cases := []struct {
		name string
		args []string
		uid  string
	}{
		{"read-only root", []string{"--read-only", "--tmpfs", "/run"}, "0"},
		{"user 1000", []string{"--user", "1000:1000"}, "1000"},
		// Kubernetes' readOnlyRootFilesystem with a non-root user and an
		// emptyDir on /run.
		{"read-only root and user 1000", []string{"--read-only", "--tmpfs", "/run:uid=1000,gid=1000", "--user", "1000:1000"}, "1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startContainer(t, append(tc.args, img)...)
			before := c.waitRunning(20*time.Second, dockerServices...)

			if _, code, _ := c.exec("test", "-e", "/etc/service/web/supervise"); code == 0 {
				t.Errorf("/etc/service/web/supervise exists; want the state under /run/vigil")
			}
			for _, f := range []string{"status", "control", "ok", "lock"} {
				c.mustExec("test", "-e", "/run/vigil/supervise/etc/service/web/"+f)
			}
			for _, n := range dockerServices {
				status := c.mustExec("sh", "-c", "grep '^Uid:' /proc/"+strconv.Itoa(before[n].pid)+"/status")
				if f := strings.Fields(status); len(f) < 2 || f[1] != tc.uid {
					t.Errorf("%s runs as %q; want uid %s", n, status, tc.uid)
				}
			}
			c.mustExec("sv", "restart", "web")
			after := c.waitRunning(10*time.Second, dockerServices...)
			if after["web"].pid == before["web"].pid {
				t.Errorf("web after sv restart: got the same pid %d; want a new one", after["web"].pid)
			}
			// svlogd writes to the image's volume at /var/log/ledger.
			if got := c.mustExec("cat", "/var/log/ledger/current"); !strings.Contains(got, "ledger: record 1") {
				t.Errorf("/var/log/ledger/current: got %q; want ledger's first record", got)
			}
			took, code := c.stop()
			t.Logf("docker stop took %v", took.Round(time.Millisecond))
			if took > dockerStopTimeLimit || code != 0 {
				t.Errorf("docker stop: got exit code %d after %v; want 0 within %v", code, took, dockerStopTimeLimit)
			}
			_, stderr := c.logs()
			if strings.Contains(stderr, "unable to") {
				t.Errorf("docker logs: want no trouble; stderr:\n%s", stderr)
			}
		})
	}
}
