package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// The shell-free example (examples/shellfree/Dockerfile): no /bin/sh in
// the image, its process.json service and logger run, sv works as
// `vigil sv`, and docker stop is quick and clean.
func TestDockerShellfree(t *testing.T) {
	t.Parallel()
	c := startContainer(t, shellfreeImage(t))
	if _, code, err := c.exec("/sbin/vigil", "sv", "status", "/etc/service/hello"); err != nil || code > 1 {
		t.Fatalf("vigil sv status: exit %d, %v", code, err)
	}
	var out string
	testenv.WaitFor(t, 20*time.Second, "hello and its logger in run", func() bool {
		out, _, _ = c.exec("/sbin/vigil", "sv", "status", "/etc/service/hello")
		time.Sleep(50 * time.Millisecond)
		return strings.HasPrefix(out, "run: ") && strings.Contains(out, "; run: log: ")
	})
	for _, sh := range []string{"/bin/sh", "/usr/bin/sh"} {
		if _, _, err := c.exec(sh, "-c", "true"); err == nil {
			t.Errorf("docker exec %s: want no shell in the image", sh)
		}
	}
	if got := c.mustExec("/bin/busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:80/"); !strings.Contains(got, "no shell") {
		t.Errorf("GET / from hello: got %q", got)
	}
	took, code := c.stop()
	t.Logf("docker stop took %v", took.Round(time.Millisecond))
	if code != 0 || took > dockerStopTimeLimit {
		t.Errorf("docker stop: exit code %d after %v; want 0 within %v", code, took, dockerStopTimeLimit)
	}
}
