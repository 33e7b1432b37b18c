// Package reaper is the only code in a vigil process that calls wait4.
//
// A process is started and entered in the pid table under one mutex, and
// the reaper drains wait4(-1, WNOHANG) under that same mutex, so an exit is
// never collected before its owner is known, and Go's own wait for a child
// whose exec failed (inside os.StartProcess) is never robbed. Pids nobody
// registered are orphans: they are reaped and counted.
package reaper

import (
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Exit is a reaped child.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// Code is the exit status a shell would report: the exit code, or 128+n for
// a child killed by signal n.
func (e Exit) Code() int {
	if e.Status.Signaled() {
		return 128 + int(e.Status.Signal())
	}
	return e.Status.ExitStatus()
}

// Notify receives the exit of a registered child. It runs on the reaping
// goroutine, outside the table lock, and must not block.
type Notify func(Exit)

// Reaper owns the pid table.
type Reaper struct {
	mu      sync.Mutex
	owners  map[int]Notify
	orphans atomic.Uint64
	// OnOrphan, if set before use, hears of every orphan reaped.
	OnOrphan func(Exit)
}

// New returns an empty reaper.
func New() *Reaper {
	return &Reaper{owners: make(map[int]Notify)}
}

// Start calls start with the table locked and registers the process it
// returns, so that its exit goes to notify.
func (r *Reaper) Start(start func() (*os.Process, error), notify Notify) (*os.Process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := start()
	if err != nil {
		return nil, err
	}
	r.owners[p.Pid] = notify
	return p, nil
}

// StartProcess is os.StartProcess registered with the reaper.
func (r *Reaper) StartProcess(name string, argv []string, attr *os.ProcAttr, notify Notify) (*os.Process, error) {
	return r.Start(func() (*os.Process, error) { return os.StartProcess(name, argv, attr) }, notify)
}

// Reap collects every child that has exited, until wait4 reports none
// left, and hands each exit to its owner. Call it on every SIGCHLD: signals
// coalesce, so one call may find many children. It reports whether any
// child, running or not, is left.
func (r *Reaper) Reap() (children bool) {
	type delivery struct {
		notify Notify
		exit   Exit
	}
	var done []delivery
	r.mu.Lock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			children = err != unix.ECHILD
			break
		}
		e := Exit{Pid: pid, Status: ws}
		if n, ok := r.owners[pid]; ok {
			delete(r.owners, pid)
			done = append(done, delivery{n, e})
			continue
		}
		r.orphans.Add(1)
		if r.OnOrphan != nil {
			done = append(done, delivery{r.OnOrphan, e})
		}
	}
	r.mu.Unlock()
	for _, d := range done {
		d.notify(d.exit)
	}
	return children
}

// Owns reports whether pid is a registered child not yet reaped.
func (r *Reaper) Owns(pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.owners[pid]
	return ok
}

// Orphans is the number of unregistered children reaped so far.
func (r *Reaper) Orphans() uint64 { return r.orphans.Load() }

// Running is the number of registered children not yet reaped.
func (r *Reaper) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.owners)
}
