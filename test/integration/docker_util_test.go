package integration

// Helpers of the Docker end-to-end tests: the engine check, the example
// image (built once per test process from examples/Dockerfile on a base
// made FROM scratch of Debian's static busybox), and containers that are
// force-removed, with their anonymous volumes, when the test ends.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// The images the tests build with scripts/image.sh, under names apart
// from `make image`'s, as they hold the vigil binary under test.
const (
	dockerImagePrefix  = "vigil-test"
	dockerExampleImage = dockerImagePrefix + "-example"
	dockerShellfreeImg = dockerImagePrefix + "-shellfree"
	dockerExampleSvDir = "/etc/service"
	dockerDefaultGrace = 7 * time.Second
)

// dockerStopTimeLimit is how long a docker stop of a container whose
// processes all exit on TERM may take: "well under" Docker's 10 s, 4 s on
// an idle machine, stretched on a slow one but always short of Docker's
// KILL, which is what the bound tells apart.
var dockerStopTimeLimit = min(testenv.Scale(4*time.Second), 9*time.Second)

// dockerServices are the example's services, as examples/service holds them.
var dockerServices = []string{"web", "worker", "ledger"}

var (
	dockerOnce sync.Once
	dockerErr  error
)

// requireDocker skips the test when no Docker engine answers, saying so;
// under CI, where the engine must be there, it fails instead.
func requireDocker(t *testing.T) {
	t.Helper()
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = errors.New("no docker command in PATH")
			return
		}
		out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
		if err != nil {
			dockerErr = fmt.Errorf("docker info: %v: %s", err, bytes.TrimSpace(out))
		}
	})
	if dockerErr != nil {
		msg := "no Docker engine, skipping the Docker end-to-end tests: " + dockerErr.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// docker runs the docker command and returns its stdout; stderr is in the
// error.
func docker(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	imageOnce sync.Once
	imageErr  error
)

// exampleImage builds, once per test process, the base image and
// examples/Dockerfile on it, holding the vigil under test, and returns
// the example's tag.
func exampleImage(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	vigil := testenv.Vigil(t)
	busybox := testenv.Peer(t, "busybox")
	imageOnce.Do(func() { imageErr = buildImages(vigil, busybox, "base", "example") })
	if imageErr != nil {
		t.Fatalf("building the example images: %v", imageErr)
	}
	return dockerExampleImage
}

var (
	shellfreeOnce sync.Once
	shellfreeErr  error
)

// shellfreeImage builds, once, examples/shellfree/Dockerfile, and returns
// its tag.
func shellfreeImage(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	vigil := testenv.Vigil(t)
	busybox := testenv.Peer(t, "busybox")
	shellfreeOnce.Do(func() { shellfreeErr = buildImages(vigil, busybox, "shellfree") })
	if shellfreeErr != nil {
		t.Fatalf("building the shell-free example: %v", shellfreeErr)
	}
	return dockerShellfreeImg
}

// buildImages runs scripts/image.sh, the recipe `make image` and the
// bench use, for the named images with the given vigil and busybox.
func buildImages(vigil, busybox string, images ...string) error {
	cmd := exec.Command("sh", append([]string{filepath.Join(testenv.Root(), "scripts", "image.sh")}, images...)...)
	cmd.Env = append(os.Environ(), "VIGIL="+vigil, "BUSYBOX="+busybox, "PREFIX="+dockerImagePrefix, "QUIET=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/image.sh %s: %v: %s", strings.Join(images, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// container is one running container of a test.
type container struct {
	t    *testing.T
	name string
}

var containerSeq atomic.Int64

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// startContainer runs `docker run -d --name NAME args...` and removes the
// container (with its anonymous volumes) when the test ends.
func startContainer(t *testing.T, args ...string) *container {
	t.Helper()
	name := fmt.Sprintf("vigil-test-%d-%d-%s", os.Getpid(), containerSeq.Add(1), nameUnsafe.ReplaceAllString(t.Name(), "_"))
	if len(name) > 120 {
		name = name[:120]
	}
	c := &container{t: t, name: name}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "60", name).CombinedOutput()
			t.Logf("last lines of docker logs %s:\n%s", name, out)
		}
		exec.Command("docker", "rm", "-f", "-v", name).Run()
	})
	mustDocker(t, append([]string{"run", "-d", "--name", name}, args...)...)
	return c
}

// exec runs a command in the container and returns its output (stdout and
// stderr) and exit code; err is set only when docker itself failed.
func (c *container) exec(args ...string) (string, int, error) {
	cmd := exec.Command("docker", append([]string{"exec", c.name}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code == 125 || code == 126 && bytes.Contains(out, []byte("OCI runtime")) {
			return string(out), code, fmt.Errorf("docker exec %s %s: %s", c.name, strings.Join(args, " "), bytes.TrimSpace(out))
		}
		return string(out), code, nil
	}
	return string(out), 0, err
}

// mustExec runs a command that must succeed, and returns its output.
func (c *container) mustExec(args ...string) string {
	c.t.Helper()
	out, code, err := c.exec(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	if code != 0 {
		c.t.Fatalf("docker exec %s %s: exit %d: %s", c.name, strings.Join(args, " "), code, out)
	}
	return out
}

// logs returns what docker logs holds: the container's stdout and stderr.
func (c *container) logs() (stdout, stderr string) {
	var o, e bytes.Buffer
	cmd := exec.Command("docker", "logs", c.name)
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("docker logs %s: %v: %s", c.name, err, e.String())
	}
	return o.String(), e.String()
}

// waitLog polls docker logs until a line of stream ("stdout" or "stderr")
// satisfies match.
func (c *container) waitLog(timeout time.Duration, stream, what string, match func(line string) bool) {
	c.t.Helper()
	testenv.WaitFor(c.t, timeout, what+" in docker logs "+c.name, func() bool {
		o, e := c.logs()
		text := o
		if stream == "stderr" {
			text = e
		}
		for _, l := range strings.Split(text, "\n") {
			if match(l) {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
		return false
	})
}

// svState is one service's line of `sv status`.
type svState struct {
	state  string // run, down, finish
	pid    int    // 0 when down
	logPid int    // the logger's, 0 without one
	line   string
}

var (
	svLineRE = regexp.MustCompile(`^(run|down|finish|fail|warning): ([^:]+):(?: \(pid (\d+)\))?`)
	svLogRE  = regexp.MustCompile(`; (?:run|down|finish): log: (?:\(pid (\d+)\))?`)
)

// status runs `sv status` on the example's services, by full path, and
// returns each one's state.
func (c *container) status(names ...string) (map[string]svState, error) {
	args := []string{"sv", "status"}
	for _, n := range names {
		args = append(args, dockerExampleSvDir+"/"+n)
	}
	out, _, err := c.exec(args...)
	if err != nil {
		return nil, err
	}
	states := map[string]svState{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := svLineRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("sv status: unexpected line %q", line)
		}
		st := svState{state: m[1], line: line}
		st.pid, _ = strconv.Atoi(m[3])
		if lm := svLogRE.FindStringSubmatch(line); lm != nil {
			st.logPid, _ = strconv.Atoi(lm[1])
		}
		states[filepath.Base(m[2])] = st
	}
	return states, nil
}

// waitRunning polls `sv status` until every named service (and its
// logger) is in state run, and returns the states.
func (c *container) waitRunning(timeout time.Duration, names ...string) map[string]svState {
	c.t.Helper()
	var last map[string]svState
	var lastErr error
	deadline := time.Now().Add(timeout)
	for {
		states, err := c.status(names...)
		lastErr, last = err, states
		if err == nil && len(states) == len(names) {
			ok := true
			for _, n := range names {
				st := states[n]
				if st.state != "run" || st.pid == 0 || strings.Contains(st.line, "log:") && st.logPid == 0 {
					ok = false
				}
			}
			if ok {
				return states
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("services %v not all running after %v: %v (error %v)", names, timeout, last, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop runs `docker stop` (Docker's default 10 s timeout, or -t) and
// returns how long it took and the container's exit code.
func (c *container) stop(timeout ...int) (time.Duration, int) {
	c.t.Helper()
	args := []string{"stop"}
	if len(timeout) > 0 {
		args = append(args, "-t", strconv.Itoa(timeout[0]))
	}
	start := time.Now()
	mustDocker(c.t, append(args, c.name)...)
	took := time.Since(start)
	return took, c.exitCode()
}

// waitExit waits for the container to stop by itself and returns its code.
func (c *container) waitExit(timeout time.Duration) int {
	c.t.Helper()
	testenv.WaitFor(c.t, timeout, c.name+" to exit", func() bool {
		out, err := docker("inspect", "-f", "{{.State.Running}}", c.name)
		time.Sleep(20 * time.Millisecond)
		return err == nil && strings.TrimSpace(out) == "false"
	})
	return c.exitCode()
}

func (c *container) exitCode() int {
	c.t.Helper()
	out := mustDocker(c.t, "inspect", "-f", "{{.State.ExitCode}}", c.name)
	code, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		c.t.Fatalf("docker inspect %s: exit code %q", c.name, out)
	}
	return code
}

// procs lists the container's processes from /proc as "pid ppid state
// comm" lines, using only busybox.
const procsScript = `for d in /proc/[0-9]*; do
	s=$(cat $d/stat 2>/dev/null) || continue
	c=${s#*(}; c=${c%)*}; r=${s##*) }
	set -- $r
	echo "${d#/proc/} $2 $1 $c"
done`

type proc struct {
	pid, ppid   int
	state, comm string
}

func (c *container) procs() []proc {
	c.t.Helper()
	out := c.mustExec("sh", "-c", procsScript)
	var list []proc
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 4 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		ppid, _ := strconv.Atoi(f[1])
		list = append(list, proc{pid, ppid, f[2], f[3]})
	}
	return list
}

// hasLine reports whether text holds line as a whole line.
func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
