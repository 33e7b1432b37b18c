package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrCannotWatch: the kernel would notify, but vigil may not ask it to
// (a read-only cgroup.event_control under Docker's cgroup v1).
var ErrCannotWatch = errors.New("unable to watch for OOM kills")

// WatchOOM watches vigil's own cgroup; see (*Cgroup).WatchOOM.
func WatchOOM(onKill func(total uint64)) (stop func(), err error) {
	c, err := Self()
	if err != nil {
		return nil, err
	}
	return c.WatchOOM(onKill)
}

// WatchOOM calls onKill with the new total each time the count of OOM
// kills grows, from one goroutine parked in the runtime's poller on an
// inotify descriptor (v2) or an eventfd (v1): no timer, no polling.
// stop ends it and waits for the goroutine. The error wraps
// ErrCannotWatch where only OOMKills can be had.
func (c *Cgroup) WatchOOM(onKill func(total uint64)) (stop func(), err error) {
	last, err := c.OOMKills()
	if err != nil {
		return nil, err
	}
	var f *os.File
	if c.V2 {
		f, err = c.inotify()
	} else {
		f, err = c.eventfd()
	}
	if err != nil {
		return nil, err
	}
	w := &watcher{c: c, f: f, last: last, onKill: onKill, done: make(chan struct{})}
	go w.run()
	var once sync.Once
	return func() {
		once.Do(func() { f.Close() })
		<-w.done
	}, nil
}

// inotify is a non-blocking inotify descriptor (so os.File reads park in
// the poller) watching memory.events for IN_MODIFY.
func (c *Cgroup) inotify() (*os.File, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cgroup: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, c.countFile(), unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cgroup: %s: unable to watch: %w", c.countFile(), err)
	}
	return os.NewFile(uintptr(fd), "inotify:"+c.countFile()), nil
}

// eventfd registers an eventfd for memory.oom_control's OOM events by
// writing "EVENTFD OOM_CONTROL_FD" to cgroup.event_control.
func (c *Cgroup) eventfd() (*os.File, error) {
	ctl := filepath.Join(c.Dir, "cgroup.event_control")
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cgroup: eventfd: %w", err)
	}
	oc, err := os.Open(c.countFile())
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// The kernel holds its own reference to memory.oom_control once
	// registered; the eventfd's is what keeps the registration.
	defer oc.Close()
	err = writeExisting(ctl, strconv.Itoa(efd)+" "+strconv.Itoa(int(oc.Fd())))
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("cgroup: %s: %w: %w", ctl, ErrCannotWatch, err)
	}
	return os.NewFile(uintptr(efd), "eventfd:"+c.countFile()), nil
}

// writeExisting writes to a file that must exist: cgroupfs files are
// never created.
func writeExisting(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

type watcher struct {
	c      *Cgroup
	f      *os.File
	last   uint64
	onKill func(uint64)
	done   chan struct{}
}

// settle bounds the re-reads after a v1 event: the kernel notifies the
// eventfd when the cgroup goes out of memory, before the OOM killer has
// chosen and counted its victim.
const settle = 500 * time.Millisecond

func (w *watcher) run() {
	defer close(w.done)
	buf := make([]byte, 4096)
	for {
		if _, err := w.f.Read(buf); err != nil {
			return
		}
		w.check()
		if !w.c.V2 {
			for d := time.Millisecond; d < settle; d *= 2 {
				if w.check() {
					break
				}
				time.Sleep(d)
			}
		}
	}
}

// check reports the count when it grew.
func (w *watcher) check() bool {
	n, err := w.c.OOMKills()
	if err != nil || n <= w.last {
		return false
	}
	w.last = n
	w.onKill(n)
	return true
}

// KillAttributor tells, when a process has died of KILL, whether the
// OOM killer did it: the count grew since the kills it already
// attributed. The kernel counts a kill before its victim dies, so the
// count is there by the time the death is reaped. One per engine, used
// from its loop only.
type KillAttributor struct {
	c    *Cgroup
	seen uint64
}

// NewKillAttributor starts from the cgroup's current count.
func NewKillAttributor(c *Cgroup) (*KillAttributor, error) {
	n, err := c.OOMKills()
	if err != nil {
		return nil, err
	}
	return &KillAttributor{c: c, seen: n}, nil
}

// OOMKilled is called for a death by KILL: true when one more kill is
// counted than were attributed, which it now attributes to this death.
func (a *KillAttributor) OOMKilled() bool {
	n, err := a.c.OOMKills()
	if err != nil || n <= a.seen {
		return false
	}
	a.seen++
	return true
}
