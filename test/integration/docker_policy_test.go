package integration

import (
	"strings"
	"testing"
	"time"
)

// addService is a docker run entrypoint that adds a service to the
// example image and then execs vigil: files maps a path under
// /etc/service to its content (executable).
func addService(files map[string]string) []string {
	var b strings.Builder
	for path, body := range files {
		b.WriteString("mkdir -p \"$(dirname /etc/service/" + path + ")\" && printf '%s' '" + strings.ReplaceAll(body, "'", `'\''`) + "' > /etc/service/" + path + " && chmod +x /etc/service/" + path + " && ")
	}
	b.WriteString("exec /sbin/vigil")
	return []string{"--entrypoint", "/bin/sh", "", "-c", b.String()}
}

// TestDockerEssential: an essential service that fails ends `docker run`
// with its code, after its finish, and the other services are stopped.
func TestDockerEssential(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	args := addService(map[string]string{
		"job/run":       "#!/bin/sh\nsleep 1\necho job failing\nexit 7\n",
		"job/finish":    "#!/bin/sh\necho \"job finish $1 $2\"\n",
		"job/essential": "",
	})
	args[2] = img
	c := startContainer(t, args...)
	if code := c.waitExit(60 * time.Second); code != 7 {
		t.Errorf("exit code %d; want 7, the essential service's", code)
	}
	_, stderr := c.logs()
	stdout, _ := c.logs()
	if !strings.Contains(stdout, "job finish 7 0") {
		t.Errorf("docker logs:\n%s\nwant job's finish to have run", stdout)
	}
	if !strings.Contains(stderr, "vigil: job: essential service exited with code 7: stopping the container with code 7") {
		t.Errorf("docker logs (stderr):\n%s\nwant the line saying why the container stopped", stderr)
	}
	if !strings.Contains(stdout, "stopping after") {
		t.Errorf("docker logs:\n%s\nwant worker stopped by TERM", stdout)
	}
}

// TestDockerDownSignal: docker stop sends a service its down-signal.
func TestDockerDownSignal(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	args := addService(map[string]string{
		"quitter/run":         "#!/bin/sh\ntrap 'echo quitter got QUIT; exit 0' QUIT\ntrap 'echo quitter got TERM; exit 0' TERM\necho quitter up\nwhile :; do sleep 0.1; done\n",
		"quitter/down-signal": "QUIT\n",
	})
	args[2] = img
	c := startContainer(t, args...)
	c.waitLog(60*time.Second, "stdout", "quitter up", func(l string) bool { return strings.Contains(l, "quitter up") })
	if _, code := c.stop(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
	stdout, _ := c.logs()
	if !strings.Contains(stdout, "quitter got QUIT") || strings.Contains(stdout, "quitter got TERM") {
		t.Errorf("docker logs:\n%s\nwant quitter to get QUIT, not TERM", stdout)
	}
}
