package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// TestDockerProbesCatchCrashLoop: the example's web crash-loops (its port
// is not a number), its restart-limit gives up, and both of the example's
// probes fail on it: Docker's HEALTHCHECK command (sv check) and the
// Kubernetes manifests' GET /readyz, which names it failed.
func TestDockerProbesCatchCrashLoop(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	c := startContainer(t, "-e", "WEB_PORT=not-a-port", "-e", "VIGIL_HTTP=:9100", "-p", "127.0.0.1::9100", img)
	base := c.publishedURL(9100)
	var code int
	var body string
	testenv.WaitFor(t, 90*time.Second, "GET /readyz to name web failed", func() bool {
		code, body = httpGet(base + "/readyz")
		time.Sleep(50 * time.Millisecond)
		return code == 503 && strings.Contains(body, "web") && strings.Contains(body, "failed")
	})
	out, rc, err := c.exec("sv", "-w", "3", "check", "web", "worker", "ledger")
	if err != nil || rc == 0 {
		t.Errorf("the HEALTHCHECK's sv check on a failed web: rc %d, %v, %q; want it to fail", rc, err, out)
	}
	if !strings.Contains(out, "failed") {
		t.Errorf("sv check: %q; want it to say failed", out)
	}
	_, stderr := c.logs()
	if !strings.Contains(stderr, "vigil: web: given up after 6 unasked exits within 1m0s (restart-limit)") {
		t.Errorf("docker logs (stderr):\n%s\nwant the give-up line", stderr)
	}
	if n := strings.Count(stderr, "vigil: web: exited"); n > 3 {
		t.Errorf("%d exit lines for web; want the first, then a summary at most once a minute:\n%s", n, stderr)
	}
}
