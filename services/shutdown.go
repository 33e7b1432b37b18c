package services

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Shutdown stops every service: 'x' to each (TERM, then CONT, with the
// control/t and control/x or control/d hooks), each logger once its service
// is down and its pipe drained. Run returns when everything is gone;
// Shutdown does not wait.
//
// deadline is the end of the grace period, zero for none (runsv waits for
// its service as long as it takes). The caller owns it: it calls KillAll
// when it comes, because it has more to kill than the engine knows of
// (init's main command, orphans). The engine uses it only to bound what it
// schedules itself.
func (e *Engine) Shutdown(deadline time.Time) {
	e.post(func() {
		if e.shutting {
			return
		}
		e.shutting = true
		e.deadline = deadline
		for _, d := range e.dirs {
			d.close(e)
		}
		for s := range e.services {
			s.exit()
		}
	})
}

// KillAll sends KILL to every process of every service now: the end of
// the grace period.
func (e *Engine) KillAll() { e.post(e.killAll) }

func (e *Engine) killAll() {
	e.killed = true
	var left []string
	for s := range e.services {
		for _, r := range s.records() {
			if r.proc != nil {
				left = append(left, fmt.Sprintf("%s (pid %d)", r.label(), r.proc.Pid))
			}
		}
	}
	if len(left) > 0 && e.cfg.Verbosity > 0 {
		slices.Sort(left)
		e.message("", "", "grace period over: killing %s", strings.Join(left, ", "))
	}
	for s := range e.services {
		for _, r := range s.records() {
			if r.proc != nil {
				r.proc.Signal(syscall.SIGKILL)
				if e.cfg.Setsid && e.cfg.Leftovers {
					syscall.Kill(-r.proc.Pid, syscall.SIGKILL)
				}
			}
		}
		if s.hook != nil {
			s.hook.proc.Signal(syscall.SIGKILL)
		}
	}
}

// killing reports whether the grace period is over: nothing new starts.
func (e *Engine) killing() bool { return e.killed }
