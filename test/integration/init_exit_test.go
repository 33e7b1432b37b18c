package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// runInitOnce runs `vigil args...` as PID 1 of a new namespace, in working
// directory wd, to its end, and returns its exit code and stderr. It is
// safe from any goroutine.
func runInitOnce(vigil, dir, wd string, env []string, args ...string) (int, string, error) {
	cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", vigil}, args...)...)
	cmd.Env = append(initBaseEnv(dir), env...)
	cmd.Dir = wd
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	timer := time.AfterFunc(testenv.Scale(20*time.Second), func() { cmd.Process.Kill() })
	defer timer.Stop()
	cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), stderr.String(), nil
	}
	return ws.ExitStatus(), stderr.String(), nil
}

// TestInitExitCodeEveryValue: vigil exits with the main command's code, for
// every code a process can return (E1, E3). One namespace per code, four
// at a time.
func TestInitExitCodeEveryValue(t *testing.T) {
	requireInitNS(t)
	vigil := vigilInit(t)
	dir := t.TempDir()
	codes := make(chan int)
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range codes {
				got, stderr, err := runInitOnce(vigil, dir, dir, nil, "--", "/bin/sh", "-c", fmt.Sprintf("exit %d", n))
				if err != nil || got != n {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("vigil -- sh -c 'exit %d' = %d (%v); want %d\n%s", n, got, err, n, stderr))
					mu.Unlock()
				}
			}
		}()
	}
	for n := range 256 {
		codes <- n
	}
	close(codes)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
}

// TestInitExitCodes: a main command killed by signal n gives 128+n (E2,
// E8), one that cannot be run gives 127 or 126 as a shell would (E4), and
// the image's working directory stays the main command's (T6).
func TestInitExitCodes(t *testing.T) {
	requireInitNS(t)
	vigil := vigilInit(t)
	dir := t.TempDir()
	initScript(t, filepath.Join(dir, "work", "relative.sh"), `exit 9`)
	if err := os.WriteFile(filepath.Join(dir, "work", "noexec.sh"), []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "work", "noshebang.sh"), []byte("exit $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "work", "twice.sh"), []byte("#!/bin/sh\nexit 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	initScript(t, filepath.Join(dir, "work", "other", "twice.sh"), `exit 7`)
	initScript(t, filepath.Join(dir, "work", "badinterp.sh"), "")
	if err := os.WriteFile(filepath.Join(dir, "work", "badinterp.sh"), []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name string
		argv []string
		want int
		env  []string
	}
	var cases []tc
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT,
		syscall.SIGKILL, syscall.SIGUSR1, syscall.SIGSEGV, syscall.SIGUSR2, syscall.SIGPIPE,
		syscall.SIGALRM, syscall.SIGTERM} {
		// A shell cannot trap KILL; for the others the default action
		// is restored first, as a child of a shell may have them ignored.
		cases = append(cases, tc{
			name: "killed by " + sig.String(),
			argv: []string{"/bin/sh", "-c", fmt.Sprintf("trap - %d 2>/dev/null; kill -%d $$; sleep 10", sig, sig)},
			want: 128 + int(sig),
		})
	}
	cases = append(cases,
		tc{"not found in PATH", []string{"no-such-command-anywhere"}, 127, nil},
		tc{"no such file", []string{"/no/such/file"}, 127, nil},
		tc{"bad interpreter", []string{"./badinterp.sh"}, 127, nil},
		tc{"a directory", []string{"/etc"}, 126, nil},
		tc{"not executable", []string{"./noexec.sh"}, 126, nil},
		tc{"relative to the working directory", []string{"./relative.sh"}, 9, nil},
		// PATH entries are taken from the working directory, as execvp
		// does, though vigil itself has moved to /.
		tc{"PATH entry .", []string{"relative.sh"}, 9, []string{"PATH=.:/usr/bin:/bin"}},
		tc{"empty PATH entry", []string{"relative.sh"}, 9, []string{"PATH=/usr/bin::/bin"}},
		tc{"PATH empty", []string{"relative.sh"}, 9, []string{"PATH="}},
		tc{"not executable, then found", []string{"twice.sh"}, 7, []string{"PATH=.:other:/bin"}},
		tc{"only not executable", []string{"noexec.sh"}, 126, []string{"PATH=.:/bin"}},
		// A script without "#!" goes to /bin/sh, as with execvp.
		tc{"no #! line", []string{"./noshebang.sh", "6"}, 6, nil},
		tc{"working directories", []string{"/bin/sh", "-c", `[ "$(readlink /proc/1/cwd)" = / ] && [ "$(readlink /proc/$$/cwd)" = "$T/work" ] || exit 1`}, 0, nil},
		tc{"after options", []string{"-q", "/bin/sh", "-c", "exit 4"}, 4, nil},
		tc{"double dash is the command", []string{"--", "--", "/bin/true"}, 127, nil},
		tc{"empty command", []string{""}, 127, nil},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--"}, c.argv...)
			if c.argv[0] == "-q" {
				args = c.argv
			}
			got, stderr, err := runInitOnce(vigil, dir, filepath.Join(dir, "work"), c.env, args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("vigil %q = %d; want %d\nstderr:\n%s", args, got, c.want, stderr)
			}
			if c.want == 126 || c.want == 127 {
				checkMessages(t, stderr, "unable to run")
			}
		})
	}
}

// checkMessages: vigil's own messages are whole lines prefixed "vigil:",
// and one of them says want.
func checkMessages(t *testing.T, stderr, want string) {
	t.Helper()
	if !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr %q does not end in a newline", stderr)
	}
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "vigil: ") {
			t.Errorf("stderr line %q is not prefixed %q", line, "vigil: ")
		}
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not say %q", stderr, want)
	}
}
