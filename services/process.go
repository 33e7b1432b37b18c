package services

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services/supervise"
)

// transition is the one place where a service's phase changes in answer
// to an event; advance then starts or stops what is due.
func (s *service) transition(ev event, x reaper.Exit) {
	if s.closed {
		return
	}
	m := &s.main
	switch ev {
	case evExit:
		switch s.phase {
		case phRunning, phReady, phStopping:
			s.runEnded(x)
		case phFinishing:
			s.afterRun()
		}
	case evReady:
		if s.phase == phRunning {
			s.readyAt = s.e.now()
			s.setPhase(phReady)
			s.e.eventf(s, 2, "", "ready after %s", round(s.readyAt.Sub(m.st.Since)))
		}
	case evStop:
		if s.phase == phRunning || s.phase == phReady {
			if s.hook != nil {
				s.stopPending = true // once the hook in flight is done
			} else {
				s.stop(m)
			}
		}
	case evKill:
		if s.phase == phStopping && m.proc != nil {
			s.e.eventf(s, 1, "", "still running %s after its down signal (timeout-kill): killing it", round(s.pol.timeoutKill))
			s.signal(m, unix.SIGKILL)
		}
	}
	s.advance()
}

// advance starts what should run now and stops what should not: the
// logger, then run (after control/u), once its dependencies are ready and
// the restart delay has passed; a stop that waited for dependents to go
// down; and it finishes the service once 'x' has brought everything down.
func (s *service) advance() {
	if s.closed {
		return
	}
	e := s.e
	if l := s.log; l != nil && l.proc == nil && !e.killing() && (l.st.Want == supervise.WantUp || l.once) && l.paced() {
		s.startRun(l)
	}
	m := &s.main
	wanted := m.st.Want == supervise.WantUp || m.once
	switch s.phase {
	case phDown, phWaiting, phPaced:
		if !wanted || e.shutting || e.killing() {
			s.waiting = nil
			s.setPhase(phDown)
			break
		}
		if s.hook != nil {
			break // a command's hook runs: the start waits for it
		}
		if w := s.waitingFor(); len(w) > 0 {
			if !slices.Equal(w, s.waiting) {
				s.waiting = w
				s.main.write(false)
				s.e.changed = true
			}
			s.setPhase(phWaiting)
			break
		}
		s.waiting = nil
		if !m.paced() {
			s.setPhase(phPaced)
			break
		}
		s.setPhase(phStarting)
		// control/u runs before every start of ./run; its result is ignored.
		s.withHook('u', func(bool) {
			if s.phase != phStarting {
				return
			}
			// Things may have changed while the hook ran: a shutdown, the
			// grace period's end, a dependency no longer ready.
			if m.proc == nil && !e.shutting && !e.killing() && (m.st.Want == supervise.WantUp || m.once) && len(s.waitingFor()) == 0 {
				s.startRun(m)
				return
			}
			s.setPhase(phDown)
		})
	case phRunning, phReady:
		if s.stopPending && s.hook == nil && !s.dependentsRun() {
			s.stopPending = false
			s.stop(m)
		}
	}
	s.checkExit()
}

// setPhase moves s to p and keeps runit's state byte in step with it.
func (s *service) setPhase(p phase) {
	if s.phase == p {
		return
	}
	old := s.phase
	s.phase = p
	if !p.runs() {
		s.stopPending = false // nothing left to stop
	}
	state := supervise.Down
	switch p {
	case phRunning, phReady, phStopping:
		state = supervise.Run
	case phFinishing:
		state = supervise.Finish
	}
	if s.main.st.State != state {
		s.main.st.State = state
		s.main.write(false)
	}
	s.e.changed = true
	s.extDirty = true
	if s.pol.extended() {
		s.main.write(false) // supervise/vigil goes with status
	}
	// Dependents wait for readiness; dependencies wait for their
	// dependents to stop running.
	if (old == phReady) != (p == phReady) || old.runs() != p.runs() {
		s.e.wakeRelated(s)
	}
	if p == phReady {
		s.armLiveness()
	} else if old == phReady {
		s.stopLiveness()
	}
}

// checkExit ends the service after 'x': once run is down, the log pipe is
// closed so the logger drains it and sees end of file; when the logger is
// gone too, so is the service.
func (s *service) checkExit() {
	m := &s.main
	if m.st.Want != supervise.WantExit || s.phase.runs() || m.proc != nil || s.hook != nil {
		return
	}
	if s.log == nil || s.log.proc == nil {
		s.close()
		return
	}
	if !s.exiting {
		s.exiting = true
		s.log.st.Want = supervise.WantExit
		s.closePipe()
		// A paused logger would never read the end of file: the service
		// would never end, nor a shutdown before the grace period's KILL.
		if s.log.st.Paused {
			s.log.proc.Signal(unix.SIGCONT)
			s.log.st.Paused = false
		}
		s.log.write(false)
	}
}

// paced reports whether the restart delay allows a start now, and arms a
// timer to come back when it will.
func (r *record) paced() bool {
	wait := r.paceAt.Sub(r.svc.e.now())
	if wait <= 0 {
		return true
	}
	if r.pacer == nil {
		e, s := r.svc.e, r.svc
		r.pacer = time.AfterFunc(wait, func() {
			e.post(func() { r.pacer = nil; s.transition(evWake, reaper.Exit{}) })
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
	r.st.Since = s.e.now()
	if !r.isLog {
		s.asked = false
		s.execFailed = false
		s.readyAt = time.Time{}
		s.setPhase(phRunning)
	} else {
		r.st.State = supervise.Run
	}
	var rd *readiness
	if !r.isLog {
		rd = s.prepareReadiness()
	}
	if err := s.spawn(r, path, argv, rd); err != nil {
		what := "./run"
		if r.isLog {
			what = "log/./run"
		}
		s.e.startFailed(s, what, err)
		s.execFailed = !r.isLog // said already: no exit line besides
		rd.abandon()
		// runit's child exits 111 when exec fails; behave the same, so
		// finish gets "111 0" and pacing applies.
		s.exited(r, reaper.Exit{Status: 111 << 8})
		return
	}
	if !r.isLog {
		s.e.eventf(s, 2, "", "started (pid %d)", r.proc.Pid)
		if !s.watchReadiness(rd) {
			s.transition(evReady, reaper.Exit{})
		}
	}
}

func (s *service) startFinish(ws unix.WaitStatus) {
	code := -1
	if !ws.Signaled() {
		code = ws.ExitStatus()
	}
	argv := []string{"./finish", strconv.Itoa(code), strconv.Itoa(int(ws) & 0xff)}
	m := &s.main
	s.setPhase(phFinishing)
	if err := s.spawn(m, "./finish", argv, nil); err != nil {
		s.e.startFailed(s, "./finish", err)
		s.exited(m, reaper.Exit{Status: 111 << 8})
	}
}

// spawn starts a process for r through the reaper and records it. The
// status files are written here, once the pid is known.
func (s *service) spawn(r *record, path string, argv []string, rd *readiness) error {
	attr := s.procAttr(r)
	rd.attach(attr)
	proc, err := s.e.cfg.Reaper.StartProcess(path, argv, attr, func(x reaper.Exit) {
		s.e.post(func() {
			if r.proc != nil && r.proc.Pid == x.Pid {
				s.exited(r, x)
			}
		})
	})
	rd.started()
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

// exited handles the end of r's process. For the logger it is runit's
// plain rule: down, and restarted at the pace while wanted up; for run
// and finish it is an event of the service's phase machine.
func (s *service) exited(r *record, x reaper.Exit) {
	if r.proc != nil {
		r.proc.Release()
		r.proc = nil
	}
	r.st.Pid = 0
	r.st.Term = false
	if s.e.cfg.Setsid && s.e.cfg.Leftovers && x.Pid > 0 {
		// The group outlives its leader while a member lives, and the id
		// with it. Had the group emptied between the reap and this line,
		// the id could name someone else's group only once the kernel's
		// pid counter has wrapped round in that moment: accepted.
		unix.Kill(-x.Pid, unix.SIGTERM)
		unix.Kill(-x.Pid, unix.SIGCONT)
	}
	if !r.isLog {
		s.exitStatus = x.Status
		s.transition(evExit, x)
		return
	}
	now := s.e.now()
	deadline := r.st.Since.Add(s.e.cfg.Pace)
	r.st.State = supervise.Down
	r.st.Since = now
	r.write(true)
	if now.Before(deadline) {
		r.paceAt = now.Add(s.e.cfg.Pace)
	}
	s.advance()
}

// runEnded handles the end of run: what it says about the service
// (restarts, the restart limit), then ./finish, if there is a readable
// one, or what follows it.
func (s *service) runEnded(x reaper.Exit) {
	m := &s.main
	now := s.e.now()
	s.stopReadiness()
	s.stopPending = false
	s.stopKillTimer()
	info := &ExitInfo{Code: x.Code(), At: now}
	if x.Status.Signaled() {
		info.Code, info.Signal = -1, int(x.Status.Signal())
	}
	s.lastExit = info
	s.oomKilled = info.Signal == int(unix.SIGKILL) && !s.asked && s.e.cfg.OOMKilled != nil && s.e.cfg.OOMKilled()
	if s.oomKilled {
		s.oomKills++
	}
	s.runStart = m.st.Since
	s.ran = now.Sub(m.st.Since)
	// Unasked: run ended by itself while it was wanted up.
	s.unasked = !s.asked && m.st.Want == supervise.WantUp && !s.e.shutting && !s.e.killing()
	if s.unasked {
		s.restarts++
		s.noteExit(now)
	}
	if !s.e.killing() && readable(filepath.Join(m.dir, "finish")) {
		s.startFinish(x.Status)
		return
	}
	s.afterRun()
}

// afterRun is the end of run and of its finish: the service is down, and
// is restarted after the delay, given up on, or ends the container.
func (s *service) afterRun() {
	m := &s.main
	now := s.e.now()
	m.st.Since = now
	m.write(true)
	switch {
	case s.unasked && s.overLimit():
		s.reportExit("not restarting")
		s.failed = true
		s.setPhase(phFailed)
		s.e.eventf(s, 1, "", "given up after %d unasked exits within %s (restart-limit)", len(s.exits), round(s.pol.window))
		if s.pol.essential {
			s.e.essentialEnded(s)
		}
		return
	case s.unasked && s.pol.essential && s.pol.limit < 0:
		s.reportExit("not restarting")
		// The container ends with it: it stays down meanwhile.
		m.st.Want = supervise.WantDown
		s.setPhase(phDown)
		s.e.essentialEnded(s)
		return
	}
	m.paceAt = s.nextStart(now)
	if s.unasked {
		then := "restarting now"
		if wait := m.paceAt.Sub(now); wait > 0 {
			then = fmt.Sprintf("restarting in %s", round(wait))
		}
		s.reportExit(then)
	}
	s.setPhase(phDown)
}

// nextStart is when run may start again: runit's pace (a run shorter
// than a second waits a second), or restart-backoff's doubling delay.
func (s *service) nextStart(now time.Time) time.Time {
	if s.pol.backoffMin > 0 {
		if s.ran >= s.pol.backoffMax {
			s.delay = 0
			return now
		}
		s.delay = min(max(2*s.delay, s.pol.backoffMin), s.pol.backoffMax)
		return now.Add(s.delay)
	}
	// runsv's rule: within a second of run's start (finish included),
	// wait a second.
	if now.Before(s.runStart.Add(s.e.cfg.Pace)) {
		return now.Add(s.e.cfg.Pace)
	}
	return now
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
