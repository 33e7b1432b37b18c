package sv

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/services/supervise"
)

// run is one invocation of sv (or svc): its settings, its output buffer
// (runit's buffer_1, flushed where runit flushes) and its failure count.
type run struct {
	prog   string
	lsb    bool
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	svdir  string
	wait   time.Duration
	// deadline is when the wait phase gives up; ./check is killed there.
	deadline time.Time
	rc       int
	buf      []byte
	// held, when set, takes flushed output instead of stdout: the wait
	// phase prints each service's lines in the order they were named.
	held *[]byte
	// extWarned holds the services whose supervise/vigil could not be
	// read and was reported: once each, not on every look of a wait.
	extWarned map[string]bool
}

// service is one name from the command line.
type service struct {
	name string // as given, for messages
	dir  string // where it is looked for
	done bool
	// pre is the status read just before the command was sent, the
	// reference the wait checks compare against.
	pre supervise.Status
	// checkFailed is when ./check last failed, to space its runs.
	checkFailed time.Time
	// out is what the wait phase printed for it, written once it is done
	// (at doneAt) and its turn has come (see writeDone).
	out     []byte
	doneAt  time.Time
	written bool
}

func (r *run) errf(format string, a ...any) { fmt.Fprintf(r.stderr, format, a...) }

func (r *run) outs(s string) { r.buf = append(r.buf, s...) }

func (r *run) flush() {
	if len(r.buf) == 0 {
		return
	}
	if r.held != nil {
		*r.held = append(*r.held, r.buf...)
	} else {
		r.stdout.Write(r.buf)
	}
	r.buf = r.buf[:0]
}

// out is sv.c's out(): "PREFIX NAME[/log]: MSG[: ERR]\n", flushed.
func (r *run) out(prefix, name string, isLog bool, msg string, err error) {
	r.outs(prefix)
	r.outs(name)
	if isLog {
		r.outs("/log")
	}
	r.outs(": ")
	r.outs(msg)
	if err != nil {
		r.outs(": ")
		r.outs(errstr.Of(err))
	}
	r.outs("\n")
	r.flush()
}

func (r *run) fail(name string, isLog bool, msg string, err error) {
	r.rc++
	r.out("fail: ", name, isLog, msg, err)
}

func (r *run) warn(name string, isLog bool, msg string, err error) {
	r.rc++
	r.out("warning: ", name, isLog, msg, err)
}

// exitCode is the failure count, capped at 99 as runit does.
func (r *run) exitCode() int {
	if r.rc > 99 {
		return 99
	}
	return r.rc
}

// chdirErr is what chdir(dir) would fail with, without changing the
// process's directory.
func chdirErr(dir string) error {
	if dir == "" {
		return unix.ENOENT
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	return unix.Access(dir, unix.X_OK)
}

// get is svstatus_get: is a supervisor alive, and what does status say.
// It returns 1 with the status; 0 when no supervisor runs ("ok:" for exit
// commands, else "fail:"); -1 after a warning.
func (r *run) get(name, dir string, isLog bool, act0 byte) (supervise.Status, int) {
	st, _, g := r.look(name, dir, isLog, act0, false)
	return st, g
}

// look is get, and with withExt what supervise/vigil adds to the status:
// the status line and the wait checks need it, sending commands does not.
func (r *run) look(name, dir string, isLog bool, act0 byte, withExt bool) (supervise.Status, extended, int) {
	sup := supervise.Locate(dir)
	if err := supervise.Alive(sup); err != nil {
		if err == supervise.ErrNotRunning {
			if act0 == 'x' {
				r.out("ok: ", name, isLog, "runsv not running", nil)
			} else {
				r.fail(name, isLog, "runsv not running", nil)
			}
			return supervise.Status{}, extended{}, 0
		}
		r.warn(name, isLog, "unable to open supervise/ok", err)
		return supervise.Status{}, extended{}, -1
	}
	st, stage, err := readStatus(sup)
	if err != nil {
		r.warn(name, isLog, "unable to "+stage+" supervise/status", err)
		return supervise.Status{}, extended{}, -1
	}
	var ext extended
	if withExt {
		display := name
		if isLog {
			display += "/log"
		}
		ext = r.readExtended(display, sup)
	}
	return st, ext, 1
}

// exec runs cmd on every named service: the send phase, then, if cmd
// waits, the wait phase. It returns the exit code.
func (r *run) exec(cmd command, names []string) int {
	start := time.Now()
	svcs := make([]*service, len(names))
	for i, name := range names {
		s := &service{name: name, dir: r.resolve(name)}
		svcs[i] = s
		if err := chdirErr(s.dir); err != nil {
			r.fail(name, false, "unable to change to service directory", err)
			s.done = true
			continue
		}
		switch cmd.act {
		case actControl:
			if r.control(s, cmd.acts) < 0 {
				s.done = true
			}
		case actStatus:
			if code, exit := r.status(s, start); exit {
				return code
			}
		}
	}
	if cmd.wait {
		r.waitAll(cmd, svcs, start)
	}
	return r.exitCode()
}

// status prints the status line of s and of its log. In LSB mode it
// returns the init-script exit code (0 running, 3 down, 4 unknown) of the
// service itself; runit 2.1.2 took it from the log, 2.3.0 fixed that.
func (r *run) status(s *service, now time.Time) (code int, exit bool) {
	st, ext, g := r.look(s.name, s.dir, false, 's', true)
	switch g {
	case -1:
		if r.lsb {
			return 4, true
		}
		return 0, false
	case 0:
		return 0, false
	}
	var rc int
	r.buf, rc = r.statusLine(r.buf, s.name, s.name, s.dir, st, ext, now)
	logDir := filepath.Join(s.dir, "log")
	if err := chdirErr(logDir); err != nil {
		if err == unix.ENOENT {
			r.outs("\n")
		} else {
			r.outs("; ")
			r.warn(s.name, true, "unable to change directory", err)
		}
	} else {
		r.outs("; ")
		// runit prints the main record again, labelled log, after a
		// warning here (it reuses a stale buffer); the warning alone
		// ends the line.
		if lst, lext, lg := r.look(s.name, logDir, true, 's', true); lg > 0 {
			r.buf, _ = r.statusLine(r.buf, "log", s.name+"/log", logDir, lst, lext, now)
			r.outs("\n")
		}
	}
	r.flush()
	if r.lsb {
		switch rc {
		case 1:
			return 0, true
		case 2:
			return 3, true
		}
		return 4, true
	}
	return 0, false
}

// control sends acts to the service, after runit's skip rule, and records
// the status it saw before sending. It returns -1 when the service is out
// (a message was printed), 0 when nothing had to be sent, 1 when sent.
//
// Skip rule. runit skips the write when the status' want byte already
// equals the command: in effect 'u' when want is up, and 'd' when want is
// down and TERM was already sent. The status lags the FIFO, though: while
// runsv sleeps its one-second back-off, bytes queue unread, so "sv down;
// sv up" finds want still 'u', skips the 'u', and the queued 'd' wins
// (void-linux/runit #33). vigil therefore always sends 'u' (writing 'u'
// when want is up is harmless: runsv rewrites status and starts nothing
// new). It keeps the 'd' skip, which spares a stopping service a second
// TERM, but only when the control FIFO is empty, i.e. no command sent
// earlier is still queued behind the status it read.
func (r *run) control(s *service, acts string) int {
	st, g := r.get(s.name, s.dir, false, acts[0])
	if g <= 0 {
		return -1
	}
	s.pre = st
	sup := supervise.Locate(s.dir)
	if acts[0] == 'd' && st.Want != supervise.WantUp && st.Term {
		if n, err := pending(sup); err != nil || n == 0 {
			return 0
		}
	}
	if err := supervise.Send(sup, []byte(acts)); err != nil {
		switch {
		case err == supervise.ErrNotRunning && acts[0] == 'x':
			r.out("ok: ", s.name, false, "runsv not running", nil)
		case err == supervise.ErrNotRunning:
			r.fail(s.name, false, "runsv not running", nil)
		case isOpenErr(err):
			r.warn(s.name, false, "unable to open supervise/control", err)
		default:
			r.warn(s.name, false, "unable to write to supervise/control", err)
		}
		return -1
	}
	return 1
}

// isOpenErr tells Send's open failures from its write failures: the
// errnos open(2) gives for a FIFO, where a nonblocking write gives EAGAIN,
// EPIPE or a partial write.
func isOpenErr(err error) bool {
	switch err {
	case unix.ENOENT, unix.EACCES, unix.EPERM, unix.ENOTDIR, unix.ELOOP,
		unix.ENAMETOOLONG, unix.EISDIR, unix.EROFS, unix.ETXTBSY, unix.ENODEV,
		unix.EMFILE, unix.ENFILE, unix.ENOMEM:
		return true
	}
	return false
}

// pending is how many bytes wait unread in the control FIFO: commands the
// supervisor has not taken yet. FIONREAD works on either end of a pipe.
func pending(sup string) (int, error) {
	fd, err := unix.Open(filepath.Join(sup, "control"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
}
