package pid1

import (
	"errors"

	"github.com/vigil-init/vigil/cgroup"
)

// oomKilled is what the engine asks when a service dies of KILL: whether
// the kernel's OOM killer sent it, told by vigil's cgroup counting one
// more kill than were already put down to a death. nil where the count
// cannot be read (no memory cgroup mounted, cgroup v1 before 4.13).
func oomKilled() func() bool {
	c, err := cgroup.Self()
	if err != nil {
		return nil
	}
	a, err := cgroup.NewKillAttributor(c)
	if err != nil {
		return nil
	}
	return a.OOMKilled
}

// watchOOM logs each OOM kill in the container as it happens, whatever
// process it hit (a service's child, which no exit code shows), where
// the kernel will notify: not under Docker's read-only cgroup v1.
func (p *initProc) watchOOM() (stop func()) {
	stop, err := cgroup.WatchOOM(func(total uint64) {
		p.warnf("the OOM killer killed a process (%d in this container so far)", total)
	})
	if err != nil {
		if !errors.Is(err, cgroup.ErrCannotWatch) && !errors.Is(err, cgroup.ErrNoMemoryCgroup) {
			p.debugf("not watching for OOM kills: %v", err)
		}
		return func() {}
	}
	return stop
}
