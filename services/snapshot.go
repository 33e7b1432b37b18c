package services

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// Snapshot is the engine's state as readers outside the loop (the HTTP
// endpoint, metrics) see it. The loop publishes a new one after each turn
// that changed something, when Config.Publish is set; readers load it
// atomically and never call into the loop. A Snapshot is never modified
// once published.
type Snapshot struct {
	Taken    time.Time
	Services []ServiceState // sorted by Name
}

// ServiceState is one service in a Snapshot.
type ServiceState struct {
	Name  string
	Dir   string
	State string // "run", "down" or "finish", as sv prints it
	Want  string // "up" or "down" ('x' and 'o' read as "down")
	Pid   int    // 0 when nothing runs
	Since time.Time
	// Ready is true while run runs and has signalled readiness (or has no
	// readiness source). ReadySince is when it did.
	Ready      bool
	ReadySince time.Time
	Restarts   uint64    // unasked exits of run since the service was added
	LastExit   *ExitInfo // nil until run has exited once
	Failed     bool      // restart-limit gave up; sv up clears it
	Healthy    bool      // false once liveness checks fail check-failures times
	Waiting    []string  // dependencies not ready yet, while it wants up
	OOMKills   uint64    // exits by KILL attributed to the OOM killer
	Log        *LogState // nil without log/
}

// LogState is a service's logger in a Snapshot.
type LogState struct {
	State string
	Want  string
	Pid   int
	Since time.Time
}

// ExitInfo is how a process ended: Code for an exit, Signal (non-zero)
// when a signal killed it.
type ExitInfo struct {
	Code   int
	Signal int
	At     time.Time
}

// Snapshot returns the latest published state. It is nil unless
// Config.Publish is set.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// Ping reports whether the loop answers: it queues a no-op and waits for
// it until ctx ends. It never blocks the loop (/healthz).
func (e *Engine) Ping(ctx context.Context) error {
	done := make(chan struct{})
	e.post(func() { close(done) })
	select {
	case <-done:
		return nil
	case <-e.done:
		return errors.New("engine stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publish builds a new snapshot from the loop's state.
func (e *Engine) publish() {
	if !e.cfg.Publish {
		return
	}
	snap := &Snapshot{Taken: time.Now(), Services: make([]ServiceState, 0, len(e.services))}
	for s := range e.services {
		snap.Services = append(snap.Services, s.state())
	}
	sort.Slice(snap.Services, func(i, j int) bool { return snap.Services[i].Name < snap.Services[j].Name })
	e.snap.Store(snap)
}

func wantWord(r *record) string {
	if r.st.Want == supervise.WantUp && !r.once {
		return "up"
	}
	return "down"
}

// state is s as a Snapshot shows it.
func (s *service) state() ServiceState {
	m := &s.main
	st := ServiceState{
		Name:     s.name,
		Dir:      s.dir,
		State:    m.st.State.String(),
		Want:     wantWord(m),
		Pid:      m.st.Pid,
		Since:    m.st.Since,
		Healthy:  !s.sick,
		Restarts: s.restarts,
		Failed:   s.failed,
		Waiting:  slices.Clone(s.waiting),
		OOMKills: s.oomKills,
	}
	if s.phase == phReady {
		st.Ready, st.ReadySince = true, s.readyAt
	}
	if s.lastExit != nil {
		x := *s.lastExit
		st.LastExit = &x
	}
	if l := s.log; l != nil {
		st.Log = &LogState{State: l.st.State.String(), Want: wantWord(l), Pid: l.st.Pid, Since: l.st.Since}
	}
	return st
}
