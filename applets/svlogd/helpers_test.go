package svlogd

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// TestMain makes the test binary svlogd itself when VIGIL_TEST_SVLOGD is
// set, so that tests run vigil's svlogd as a real process.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_SVLOGD") == "1" {
		os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// impl is one svlogd under test: vigil's or Debian's.
type impl struct {
	name string
	cmd  func(args ...string) *exec.Cmd
}

func vigilImpl() impl {
	return impl{"vigil", func(args ...string) *exec.Cmd {
		c := exec.Command(os.Args[0], args...)
		c.Env = append(os.Environ(), "VIGIL_TEST_SVLOGD=1", "GORACE=atexit_sleep_ms=0")
		return c
	}}
}

func runitImpl(t *testing.T) impl {
	p := testenv.Peer(t, "svlogd")
	return impl{"runit", func(args ...string) *exec.Cmd { return exec.Command(p, args...) }}
}

// syncBuf is a buffer a process writes while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running svlogd with its stdin pipe.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     *os.File
	stderr *syncBuf
	stdout *syncBuf
	done   chan struct{}
	err    error
}

func start(t *testing.T, im impl, dir string, args ...string) *proc {
	t.Helper()
	c := im.cmd(args...)
	c.Dir = dir
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: c, in: w, stderr: &syncBuf{}, stdout: &syncBuf{}, done: make(chan struct{})}
	c.Stdin, c.Stderr, c.Stdout = r, p.stderr, p.stdout
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	go func() { p.err = c.Wait(); close(p.done) }()
	t.Cleanup(func() {
		w.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) write(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, s); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) signal(s syscall.Signal) { p.cmd.Process.Signal(s) }

// wait closes stdin (unless already) and returns the exit code.
func (p *proc) wait() int {
	p.t.Helper()
	p.in.Close()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		p.t.Fatalf("svlogd did not exit; stderr:\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// runOnce feeds input to svlogd and waits for it to exit.
func runOnce(t *testing.T, im impl, dir, input string, args ...string) (stderr string, code int) {
	t.Helper()
	p := start(t, im, dir, args...)
	p.write(input)
	code = p.wait()
	return p.stderr.String(), code
}

var stampRE = regexp.MustCompile(`@4000[0-9a-fA-F]{20} |[0-9]{4}-[0-9]{2}-[0-9]{2}[_T][0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{5} `)

// normal replaces timestamps by their kind, for comparing runs.
func normal(s string) string {
	return stampRE.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case m[0] == '@':
			return "<tai64n> "
		case m[10] == 'T':
			return "<iso> "
		}
		return "<tt> "
	})
}

// snapshot describes a log directory for comparison: the files in order
// with kind, size and mode, then all contents concatenated, normalised.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	var list, content strings.Builder
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		label := n
		if n[0] == '@' && len(n) == 27 {
			label = "@" + n[25:]
		}
		b, _ := os.ReadFile(filepath.Join(dir, n))
		list.WriteString(label + " " + fi.Mode().String() + " " + itoa(len(b)) + "\n")
		if n[0] == '@' || n == "current" {
			content.Write(b)
		}
		if n == "state" || n == "newstate" {
			list.WriteString(n + ": " + string(b))
		}
	}
	return list.String() + "--\n" + normal(content.String())
}

func itoa(i int) string { return utoa(uint64(i)) }

func mkdir(t *testing.T, dir, config string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0755); err != nil {
		t.Fatal(err)
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// oldFiles lists the rotated files of dir.
func oldFiles(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "@") {
			out = append(out, e.Name())
		}
	}
	return out
}

// allLogged is every rotated file and current of dir, in order.
func allLogged(dir string) string {
	var b strings.Builder
	for _, n := range oldFiles(dir) {
		b.WriteString(readFile(filepath.Join(dir, n)))
	}
	b.WriteString(readFile(filepath.Join(dir, "current")))
	return b.String()
}

func runCmd(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
