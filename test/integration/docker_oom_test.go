package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// In `docker run --memory 64m`, an essential service that allocates until
// the kernel kills it: vigil says it was the OOM killer, ends the
// container with 137, and writes why to the termination log.
func TestDockerOOMKilledService(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	// The service is made in the container, then sh execs vigil as PID 1.
	setup := `set -e
mkdir -p /svc/hog
printf '#!/bin/sh\necho hog: allocating >&2\nexec sh -c '"'"'x=$(yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 2000000000); echo survived'"'"'\n' >/svc/hog/run
chmod +x /svc/hog/run
touch /svc/hog/essential
exec /sbin/vigil -s /svc`
	c := startContainer(t, "--memory", "64m", "--memory-swap", "64m", "-e", "VIGIL_TERMINATION_LOG=/tmp/termination-log",
		"--entrypoint", "/bin/sh", img, "-c", setup)
	code := c.waitExit(120 * time.Second)
	_, stderr := c.logs()
	if code != 137 {
		t.Errorf("exit code: got %d; want 137 (the essential service killed by KILL)", code)
	}
	if !strings.Contains(stderr, "hog: killed by the OOM killer") {
		t.Errorf("docker logs: want %q; stderr:\n%s", "hog: killed by the OOM killer", stderr)
	}
	if out, _ := docker("inspect", "-f", "{{.State.OOMKilled}}", c.name); strings.TrimSpace(out) != "false" {
		t.Logf("Docker's OOMKilled: %s (Docker reports any OOM kill in the container; vigil itself was not the victim)", strings.TrimSpace(out))
	}
	dir := t.TempDir()
	if _, err := docker("cp", c.name+":/tmp/termination-log", dir); err != nil {
		t.Fatalf("the termination log: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "termination-log"))
	if !strings.HasPrefix(string(b), "service hog: killed by the OOM killer (exit 137)\n") {
		t.Errorf("termination log: got %q; want it to start with %q", b, "service hog: killed by the OOM killer (exit 137)\n")
	}
}
