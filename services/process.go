package services

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services/supervise"
)

// step is runit's main loop body for one service: start whatever should
// run now, and finish the service once 'x' has brought everything down.
func (s *service) step() {
	if s.closed {
		return
	}
	e := s.e
	if l := s.log; l != nil && l.proc == nil && !e.killing() && (l.st.Want == supervise.WantUp || l.once) && l.ready() {
		s.startRun(l)
	}
	m := &s.main
	if m.proc == nil && s.hook == nil && !e.killing() && m.st.State != supervise.Finish &&
		(m.st.Want == supervise.WantUp || m.once) && m.ready() {
		// control/u runs before every start of ./run; its result is ignored.
		s.withHook('u', func(bool) {
			// Things may have changed while the hook ran: a shutdown, or
			// the grace period's end.
			if m.proc == nil && !e.shutting && !e.killing() && (m.st.Want == supervise.WantUp || m.once) {
				s.startRun(m)
			}
		})
	}
	s.checkExit()
}

// checkExit ends the service after 'x': once run is down, the log pipe is
// closed so the logger drains it and sees end of file; when the logger is
// gone too, so is the service.
func (s *service) checkExit() {
	m := &s.main
	if m.st.Want != supervise.WantExit || m.st.State != supervise.Down || m.proc != nil || s.hook != nil {
		return
	}
	if s.log == nil || s.log.proc == nil {
		s.close()
		return
	}
	if !s.exiting {
		s.exiting = true
		s.log.st.Want = supervise.WantExit
		s.log.write(false)
		s.closePipe()
	}
}

// ready reports whether restart pacing allows a start now, and arms a
// timer to come back when it will.
func (r *record) ready() bool {
	wait := time.Until(r.paceAt)
	if wait <= 0 {
		return true
	}
	if r.pacer == nil {
		e, s := r.svc.e, r.svc
		r.pacer = time.AfterFunc(wait, func() {
			e.post(func() { r.pacer = nil; s.step() })
		})
	}
	return false
}

// command finds what a record runs: ./run, or a process.json started
// through vigil itself where there is no run script.
func command(dir string) (path string, argv []string) {
	if _, err := os.Lstat(filepath.Join(dir, "run")); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "process.json")); err == nil {
			return "/proc/self/exe", []string{"vigil", "exec-process", "./process.json"}
		}
	}
	return "./run", []string{"./run"}
}

func (s *service) startRun(r *record) {
	path, argv := command(r.dir)
	r.once = false
	r.st.Since = time.Now()
	r.st.State = supervise.Run
	if err := s.spawn(r, path, argv); err != nil {
		what := "./run"
		if r.isLog {
			what = "log/./run"
		}
		s.e.startFailed(s.name, what, err)
		// runit's child exits 111 when exec fails; behave the same, so
		// finish gets "111 0" and pacing applies.
		s.exited(r, reaper.Exit{Status: 111 << 8})
	}
}

func (s *service) startFinish(ws unix.WaitStatus) {
	code := -1
	if !ws.Signaled() {
		code = ws.ExitStatus()
	}
	argv := []string{"./finish", strconv.Itoa(code), strconv.Itoa(int(ws) & 0xff)}
	m := &s.main
	m.st.State = supervise.Finish
	if err := s.spawn(m, "./finish", argv); err != nil {
		s.e.startFailed(s.name, "./finish", err)
		s.exited(m, reaper.Exit{Status: 111 << 8})
	}
}

// spawn starts a process for r through the reaper and records it. The
// status files are written here, once the pid is known.
func (s *service) spawn(r *record, path string, argv []string) error {
	attr := s.procAttr(r)
	proc, err := s.e.cfg.Reaper.StartProcess(path, argv, attr, func(x reaper.Exit) {
		s.e.post(func() {
			if r.proc != nil && r.proc.Pid == x.Pid {
				s.exited(r, x)
			}
		})
	})
	if err != nil {
		return err
	}
	r.proc = proc
	r.st.Pid = proc.Pid
	r.st.Paused, r.st.Term = false, false
	r.write(true)
	return nil
}

func (s *service) procAttr(r *record) *os.ProcAttr {
	cfg := &s.e.cfg
	in, out := cfg.Stdin, s.out
	if r.isLog {
		in, out = s.pipeR, cfg.Stdout
	} else if s.pipeW != nil {
		out = s.pipeW
	}
	if in == nil { // the pipe is closed at exit; never hand out a nil fd
		in = cfg.Stdin
	}
	return &os.ProcAttr{
		Dir:   r.dir,
		Files: []*os.File{in, out, s.errf},
		Sys:   &syscall.SysProcAttr{Setsid: cfg.Setsid},
	}
}

// exited handles the end of r's process: run goes to finish when there is
// a readable ./finish, else down; finish and the logger go down. A process
// that ran less than the pace is restarted only a full pace later, as runit
// does, but commands are still served meanwhile.
func (s *service) exited(r *record, x reaper.Exit) {
	if r.proc != nil {
		r.proc.Release()
		r.proc = nil
	}
	if s.e.cfg.Setsid && s.e.cfg.Leftovers && x.Pid > 0 {
		// The group outlives its leader only while a member lives, so the
		// id cannot have been reused by anyone else's group yet.
		unix.Kill(-x.Pid, unix.SIGTERM)
		unix.Kill(-x.Pid, unix.SIGCONT)
	}
	r.st.Pid = 0
	r.st.Term = false
	if !r.isLog && r.st.State == supervise.Run && !s.e.killing() && readable(filepath.Join(r.dir, "finish")) {
		s.startFinish(x.Status)
		s.step()
		return
	}
	now := time.Now()
	deadline := r.st.Since.Add(s.e.cfg.Pace)
	r.st.State = supervise.Down
	r.st.Since = now
	r.write(true)
	if now.Before(deadline) {
		r.paceAt = now.Add(s.e.cfg.Pace)
	}
	s.step()
}

// readable is runsv's test for finish: open succeeds; the exec bit is not
// consulted.
func readable(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
