package services

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/reaper"
)

// noteExit counts an unasked exit of run against restart-limit's window.
func (s *service) noteExit(now time.Time) {
	if s.pol.limit < 0 {
		return
	}
	s.exits = append(s.exits, now)
	for len(s.exits) > 0 && now.Sub(s.exits[0]) > s.pol.window {
		s.exits = s.exits[1:]
	}
	if len(s.exits) > s.pol.limit+1 {
		s.exits = s.exits[len(s.exits)-s.pol.limit-1:]
	}
}

// overLimit reports whether restart-limit gives up: more than N unasked
// exits within the window.
func (s *service) overLimit() bool {
	return s.pol.limit >= 0 && len(s.exits) > s.pol.limit
}

// clearFailed is 'u' on a failed service: it gets its restarts back.
func (s *service) clearFailed() {
	if !s.failed {
		return
	}
	s.failed = false
	s.exits = nil
	s.delay = 0
	s.main.paceAt = time.Time{}
	s.extDirty = true
	s.main.write(false)
	if s.phase == phFailed {
		s.setPhase(phDown)
	}
}

// signal sends sig to r's process, or to its whole process group when
// the service has kill-group (and so its own group, in init mode or
// runsvdir -P).
func (s *service) signal(r *record, sig unix.Signal) {
	if r.proc == nil {
		return
	}
	if !r.isLog && s.pol.killGroup && s.e.cfg.Setsid {
		unix.Kill(-r.proc.Pid, sig)
		return
	}
	r.proc.Signal(sig)
}

// armKillTimer starts timeout-kill after the down signal. At shutdown the
// end of the grace period KILLs anyway: only a shorter timeout is armed.
func (s *service) armKillTimer() {
	d := s.pol.timeoutKill
	if d <= 0 || s.killTimer != nil {
		return
	}
	if e := s.e; e.shutting && !e.deadline.IsZero() && e.now().Add(d).After(e.deadline) {
		return
	}
	s.killTimer = time.AfterFunc(d, func() {
		s.e.post(func() {
			s.killTimer = nil
			s.transition(evKill, reaper.Exit{})
		})
	})
}

func (s *service) stopKillTimer() {
	if s.killTimer != nil {
		s.killTimer.Stop()
		s.killTimer = nil
	}
}

// essentialEnded ends the container for an essential service that ended
// unasked: Config.OnEssential gets its exit code (128+n for signal n).
func (e *Engine) essentialEnded(s *service) {
	code := 0
	if x := s.lastExit; x != nil {
		code = x.Code
		if x.Signal != 0 {
			code = 128 + x.Signal
		}
	}
	why := fmt.Sprintf("exited with code %d", code)
	if x := s.lastExit; x != nil && x.Signal != 0 {
		why = fmt.Sprintf("killed by signal %d (%s)", x.Signal, signalName(unix.Signal(x.Signal)))
		if s.oomKilled {
			why = "killed by the OOM killer"
		}
	}
	e.eventf(s, 1, "", "essential service %s: stopping the container with code %d", why, code)
	if e.cfg.OnEssential != nil {
		e.cfg.OnEssential(Ended{Service: s.name, Code: code, Reason: why})
	}
}

// Ended is an essential service that ended the container.
type Ended struct {
	Service string
	Code    int
	Reason  string // "exited with code 3", "killed by the OOM killer"
}

// unhealthy reports whether liveness checks failed.
func (s *service) unhealthy() bool { return s.sick }
