package services

import (
	"syscall"
	"time"
)

// Shutdown stops every service: 'x' to each (TERM, then CONT, with the
// control/t and control/x or control/d hooks), each logger once its service
// is down and its pipe drained, and KILL to whatever is left after grace.
// A grace of zero never kills: runsv waits for its service as long as it
// takes. Run returns when everything is gone; Shutdown does not wait.
func (e *Engine) Shutdown(grace time.Duration) {
	e.post(func() {
		if e.shutting {
			return
		}
		e.shutting = true
		for _, d := range e.dirs {
			d.close(e)
		}
		for s := range e.services {
			s.exit()
		}
		if grace > 0 {
			e.killTimer = time.AfterFunc(grace, func() { e.post(e.killAll) })
		}
	})
}

// KillAll sends KILL to every process of every service now, as at the end
// of the grace period.
func (e *Engine) KillAll() { e.post(e.killAll) }

func (e *Engine) killAll() {
	e.killed = true
	for s := range e.services {
		for _, r := range s.records() {
			if r.proc != nil {
				r.proc.Signal(syscall.SIGKILL)
			}
		}
		if s.hook != nil {
			s.hook.proc.Signal(syscall.SIGKILL)
		}
	}
}

// killing reports whether the grace period is over: nothing new starts.
func (e *Engine) killing() bool { return e.killed }
