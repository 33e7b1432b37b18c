package services

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services/supervise"
)

// hookRun is a control/<c> script in flight. runsv waits for hooks and
// freezes meanwhile; vigil runs them like any child and holds back only
// this service's further commands, so a hook that hangs stalls nothing else.
type hookRun struct {
	proc *os.Process
	then func(handled bool)
}

// readControl serves the bytes waiting in r's control FIFO, one command a
// byte, in order, each carried out before the next is read, as runsv does
// (so "ud" starts run and then stops it, and nothing follows an "x" that
// ends the service). Unknown bytes, newlines included, are ignored. While
// a hook runs, the service's own FIFO is not polled; the bytes already
// read wait in pending.
func (s *service) readControl(r *record) {
	var buf [256]byte
	for !s.closed && (r.isLog || s.hook == nil) {
		n, err := unix.Read(r.sup.Control, buf[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			break
		}
		for i, c := range buf[:n] {
			if s.closed {
				break
			}
			if !r.isLog && s.hook != nil {
				s.pending = append(s.pending, buf[i:n]...)
				break
			}
			s.command(r, c)
			s.advance()
		}
	}
	s.advance()
}

// command is runsv's ctrl(): what one control byte does to a record.
func (s *service) command(r *record, c byte) {
	if s.exiting && strings.IndexByte("udox", c) >= 0 {
		// Too late to change what either record wants: the logger is
		// already draining a pipe that no run will write to again. As
		// runsvdir restarts a runsv that exited, the scan supervises the
		// directory afresh, logger and all; a want asked for meanwhile
		// is kept for that new start.
		if !r.isLog && c != 'x' && s.owner != nil {
			s.owner.after[s.key] = c
		}
		return
	}
	if s.e.shutting && (c == 'u' || c == 'o') {
		// A shutdown is final: an 'u' that was on its way when it began
		// (read in the same turn, after it) must not undo its 'x' and
		// hold the shutdown up until the KILL.
		return
	}
	running := r.proc != nil && r.st.State == supervise.Run
	switch c {
	case 'u':
		r.st.Want = supervise.WantUp
		r.once = false
		r.write(false)
		if !r.isLog {
			s.stopPending = false
			s.clearFailed()
			s.e.wantUp(s)
		}
	case 'd':
		r.st.Want = supervise.WantDown
		r.once = false
		r.write(false)
		if !r.isLog {
			s.stopWhenFree()
		} else if running {
			s.stop(r)
		}
	case 'o':
		r.st.Want = supervise.WantDown
		r.write(false)
		if r.st.State == supervise.Down && r.proc == nil {
			r.once = true
			if !r.isLog {
				s.clearFailed()
				s.e.wantUp(s)
			}
		}
	case 'x':
		if r.isLog {
			return
		}
		r.st.Want = supervise.WantExit
		r.once = false
		r.write(false)
		s.stopWhenFree()
	case 't':
		if running {
			s.stop(r)
		}
	case 'k':
		// runsv leaves a finish script alone on 'k'; vigil kills it too,
		// so that sv can always bound a stuck finish.
		if r.proc != nil {
			if !r.isLog {
				s.asked = true
			}
			s.signalUnlessHook(r, 'k', running, syscall.SIGKILL, nil)
		}
	case 'p':
		s.signalUnlessHook(r, 'p', running, syscall.SIGSTOP, func() {
			r.st.Paused = true
			r.write(false)
		})
	case 'c':
		s.signalUnlessHook(r, 'c', running, syscall.SIGCONT, func() {
			r.st.Paused = false
			r.write(false)
		})
	case 'h':
		s.signalUnlessHook(r, c, running, syscall.SIGHUP, nil)
	case 'a':
		s.signalUnlessHook(r, c, running, syscall.SIGALRM, nil)
	case 'i':
		s.signalUnlessHook(r, c, running, syscall.SIGINT, nil)
	case 'q':
		s.signalUnlessHook(r, c, running, syscall.SIGQUIT, nil)
	case '1':
		s.signalUnlessHook(r, c, running, syscall.SIGUSR1, nil)
	case '2':
		s.signalUnlessHook(r, c, running, syscall.SIGUSR2, nil)
	}
}

// signalUnlessHook sends sig to r's process unless control/<c> handles it
// (exits 0). Hooks are consulted only while run is running, as in runit.
// after runs in any case, once the decision is made.
func (s *service) signalUnlessHook(r *record, c byte, running bool, sig syscall.Signal, after func()) {
	if !running && c != 'k' {
		if after != nil {
			after()
		}
		return
	}
	send := func(handled bool) {
		if !handled && r.proc != nil {
			s.signal(r, sig)
		}
		if after != nil {
			after()
		}
	}
	if r.isLog || !running {
		send(false)
		return
	}
	s.withHook(c, send)
}

// stopWhenFree stops run for 'd' or 'x' once nothing that depends on the
// service runs any more: its dependents are asked down first, and the
// stop waits for them (advance carries it out). A service that nothing
// depends on stops at once, as runsv stops it.
func (s *service) stopWhenFree() {
	s.e.wantDown(s)
	if !s.phase.runs() || s.phase == phFinishing {
		return
	}
	if s.dependentsRun() || s.hook != nil {
		// After the dependents, or after the hook of an earlier command:
		// advance stops it then.
		s.stopPending = true
		return
	}
	if s.main.proc != nil && s.main.st.State == supervise.Run {
		s.stop(&s.main)
	}
}

// stop is runsv's stopservice: TERM (or down-signal) unless control/t
// handles it, then, for down and exit, CONT and the control/d or
// control/x hook; timeout-kill, if set, KILLs what outlives it.
func (s *service) stop(r *record) {
	if r.isLog {
		if r.proc != nil {
			r.proc.Signal(syscall.SIGTERM)
			r.st.Term = true
			r.write(false)
			if r.st.Want != supervise.WantUp {
				r.proc.Signal(syscall.SIGCONT)
			}
		}
		return
	}
	s.asked = true
	s.withHook('t', func(handled bool) {
		if !handled && r.proc != nil {
			sig := syscall.SIGTERM
			if s.pol.downSignal != 0 {
				sig = s.pol.downSignal
			}
			s.signal(r, sig)
			r.st.Term = true
			r.write(false)
			if s.phase == phRunning || s.phase == phReady {
				s.setPhase(phStopping)
			}
			s.armKillTimer()
			s.e.eventf(s, 2, "", "stopping (%s)", signalName(sig))
		}
		var after byte
		switch r.st.Want {
		case supervise.WantDown:
			after = 'd'
		case supervise.WantExit:
			after = 'x'
			if s.e.shutting && !hookExists(r.dir, 'x') {
				after = 'd' // at shutdown, control/d says how to stop
			}
		default:
			return
		}
		if r.proc != nil {
			s.signal(r, syscall.SIGCONT)
		}
		s.withHook(after, func(bool) {})
	})
}

// hookExists is runsv's test: control/<c> exists and is owner-executable.
func hookExists(dir string, c byte) bool {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "control", string(c)), &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IXUSR != 0
}

// withHook runs control/<c> if the service has one and calls then with
// whether it handled the command (exited 0); without a hook, then(false)
// runs at once. Further commands to this service wait for the hook.
func (s *service) withHook(c byte, then func(handled bool)) {
	m := &s.main
	// Once the grace period is over no hook may start: killAll has
	// already run, so a hook started now (say control/t for the 'x' that
	// waited behind a hung hook) would never be killed and the shutdown
	// would hang.
	if s.e.killing() || !hookExists(m.dir, c) {
		then(false)
		return
	}
	out := s.out
	if s.pipeW != nil {
		out = s.pipeW
	}
	h := &hookRun{then: then}
	name := "control/" + string(c)
	proc, err := s.e.cfg.Reaper.StartProcess(name, []string{name}, &os.ProcAttr{
		Dir:   m.dir,
		Files: []*os.File{s.e.cfg.Stdin, out, s.errf},
		Sys:   &syscall.SysProcAttr{Setsid: s.e.cfg.Setsid},
	}, func(x reaper.Exit) {
		s.e.post(func() { s.hookDone(h, x) })
	})
	if err != nil {
		s.e.warnf(s.name, "unable to run %s: %s", name, errstr.Of(err))
		then(false)
		return
	}
	h.proc = proc
	s.hook = h
	s.e.pollEnable(m.sup.Control, false)
}

// hookDone continues the command that started the hook, then serves the
// bytes that arrived meanwhile. A hook killed by a signal counts as
// handled, as in runsv, which looks only at wstatus>>8.
func (s *service) hookDone(h *hookRun, x reaper.Exit) {
	if s.hook != h {
		return
	}
	h.proc.Release()
	s.hook = nil
	h.then(int(x.Status)>>8 == 0)
	for len(s.pending) > 0 && s.hook == nil && !s.closed {
		c := s.pending[0]
		s.pending = s.pending[1:]
		s.command(&s.main, c)
		s.advance()
	}
	if s.hook == nil && !s.closed {
		s.e.pollEnable(s.main.sup.Control, true)
		s.readControl(&s.main)
	}
	s.advance()
}
