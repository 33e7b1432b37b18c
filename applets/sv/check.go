package sv

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
)

// checkScript runs the service's ./check, as runit's sv does: absent
// means available; present, it runs with cwd the service directory, no
// arguments, sv's environment and stdin and stderr, and stdout closed; exit
// 0 means available. Like runit, the execute bit is not looked at and a
// check that cannot be executed counts as passed (runit's child prints a
// warning and exits 0). Unlike runit, a check killed by a signal fails
// (runit's wait_exitcode reads 0 from a signalled status).
func (r *run) checkScript(name, dir string) bool {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "check"), &st); err != nil {
		if err == unix.ENOENT {
			return true
		}
		r.errf("warning: unable to stat %s/check: %s\n", name, errstr.Of(err))
		return false
	}
	stdin, _ := r.stdin.(*os.File)
	if stdin == nil {
		if f, err := os.Open(os.DevNull); err == nil {
			defer f.Close()
			stdin = f
		}
	}
	stderr, _ := r.stderr.(*os.File)
	var copied chan struct{}
	var pr *os.File
	if stderr == nil {
		p, pw, err := os.Pipe()
		if err == nil {
			pr, stderr = p, pw
			copied = make(chan struct{})
			go func() {
				io.Copy(r.stderr, pr)
				close(copied)
			}()
		}
	}
	// Files[1] nil: the child's stdout is closed, as runit's close(1).
	attr := &os.ProcAttr{Dir: dir, Files: []*os.File{stdin, nil, stderr}}
	p, err := os.StartProcess("./check", []string{"./check"}, attr)
	if pr != nil {
		stderr.Close()
		defer func() {
			// A grandchild may keep the pipe: do not wait for it long.
			select {
			case <-copied:
			case <-time.After(100 * time.Millisecond):
			}
			pr.Close()
		}()
	}
	if err != nil {
		r.errf("warning: unable to run %s/check: %s\n", name, errstr.Of(err))
		return true
	}
	// runit waits for ./check however long it takes; vigil's sv keeps to
	// its -w: a check still running at the deadline is killed and fails.
	type result struct {
		ps  *os.ProcessState
		err error
	}
	done := make(chan result, 1)
	go func() {
		ps, err := p.Wait()
		done <- result{ps, err}
	}()
	var timeout <-chan time.Time
	if !r.deadline.IsZero() {
		timeout = time.After(time.Until(r.deadline))
	}
	var res result
	select {
	case res = <-done:
	case <-timeout:
		// The timeout line that follows says what happened.
		p.Kill()
		<-done
		return false
	}
	if res.err != nil {
		r.errf("warning: unable to wait for child %s/check: %s\n", name, errstr.Of(res.err))
		return false
	}
	return res.ps.Exited() && res.ps.ExitCode() == 0
}
