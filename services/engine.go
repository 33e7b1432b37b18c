// Package services is vigil's supervision engine: runit's runsv (one
// service and its logger) and runsvdir (a directory of services) inside one
// process. Every service keeps runit's supervise/ files byte for byte, so
// runit's sv drives it.
//
// All state is owned by one goroutine, the loop in Run, which waits in
// epoll for control FIFOs, directory changes and an eventfd that the reaper
// and timers poke. Nothing else touches a service, so there is no per-service
// locking and no goroutine per service.
package services

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/reaper"
)

// Config is how a caller (init, runsvdir, runsv) sets up the engine.
type Config struct {
	Reaper *reaper.Reaper // required: every child is started through it
	// Stdin, Stdout and Stderr are given to services; Stdout only to those
	// without a logger. Nil means os.Stdin, os.Stdout, os.Stderr.
	Stdin, Stdout, Stderr *os.File
	// Output, if set, gives a service its own stderr in place of Stderr
	// and, when it has no logger (withStdout), its own stdout in place of
	// Stdout: init's per-service line prefix. release is called when the
	// service is gone.
	Output func(name string, withStdout bool) (stdout, stderr *os.File, release func(), err error)
	// Messages receives the engine's own one-line messages.
	Messages io.Writer
	// Prog names the engine in messages, as runit's programs do:
	// "runsv NAME: warning: ...". "vigil" gives "vigil: NAME: ...".
	Prog string
	// Setsid puts each service in its own session (runsvdir -P).
	Setsid bool
	// Leftovers, with Setsid, sends TERM and CONT to what is left of a
	// process's group when the process ends, and KILL with the rest at
	// the end of the grace period: a crashed run's background children do
	// not live on as orphans. Init mode sets it; runit's runsvdir -P
	// leaves them.
	Leftovers bool
	// Pace is the minimum time between two starts of a process that keeps
	// exiting at once; runit's is one second, the default.
	Pace time.Duration
	// Verbosity says which event lines (exits, restarts, give-ups) the
	// engine prints: 0 none (runit's applets), 1 failures, 2 also starts
	// and asked-for stops.
	Verbosity int
	// OnEssential hears of an essential service that ended unasked; init
	// shuts the container down with its code.
	OnEssential func(Ended)
	// OOMKilled, asked at each death of run by KILL, says whether the
	// kernel's OOM killer sent it.
	OOMKilled func() bool
	// Clock, if set, is the engine's time (tests of once-a-minute
	// summaries); nil is time.Now.
	Clock func() time.Time
	// Publish makes the loop publish a Snapshot after each change, for
	// readers outside it (the HTTP endpoint). Off, nothing is built.
	Publish bool
}

// Engine supervises services.
type Engine struct {
	cfg Config

	epfd   int
	wakefd int // eventfd: the inbox has something

	mu     sync.Mutex // guards inbox and closed only
	inbox  []func()
	closed bool // Run has returned; wakefd is gone

	fds       map[int]*record // control FIFO fd to its record
	dirty     []*record       // records whose status files are behind
	services  map[*service]struct{}
	dirs      []*watchDir
	inotify   int
	noInotify bool // inotify could not be had: scan every second instead
	watches   map[int32]*watchDir

	shutting bool
	killed   bool
	deadline time.Time // of the shutdown's grace period; zero: none
	done     chan struct{}
	stopLoop bool
	changed  bool // something a Snapshot shows changed this turn

	snap atomic.Pointer[Snapshot]

	handlers     map[int]func()      // other polled fds: readiness sources
	byName       map[string]*service // the dependency graph's nodes
	rdeps        map[string][]*service
	woken        []*service // to advance before the turn ends
	graphChanged bool
	scanning     bool // a directory scan is adding services
	cyclesSaid   map[string]bool
}

// New makes an engine; Run starts it.
func New(cfg Config) (*Engine, error) {
	if cfg.Reaper == nil {
		return nil, fmt.Errorf("services: no reaper")
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Messages == nil {
		cfg.Messages = cfg.Stderr
	}
	if cfg.Prog == "" {
		cfg.Prog = "vigil"
	}
	if cfg.Pace == 0 {
		cfg.Pace = time.Second
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("unable to create epoll: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("unable to create eventfd: %w", err)
	}
	e := &Engine{
		cfg:        cfg,
		epfd:       epfd,
		wakefd:     wakefd,
		inotify:    -1,
		fds:        make(map[int]*record),
		services:   make(map[*service]struct{}),
		watches:    make(map[int32]*watchDir),
		handlers:   make(map[int]func()),
		byName:     make(map[string]*service),
		rdeps:      make(map[string][]*service),
		cyclesSaid: make(map[string]bool),
		done:       make(chan struct{}),
	}
	if err := e.poll(wakefd); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, err
	}
	return e, nil
}

// post queues fn to run on the loop goroutine. Safe from any goroutine,
// and it never blocks, so the reaper can call it.
func (e *Engine) post(fn func()) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.inbox = append(e.inbox, fn)
	first := len(e.inbox) == 1
	e.mu.Unlock()
	if first {
		var one = [8]byte{1}
		unix.Write(e.wakefd, one[:])
	}
}

func (e *Engine) poll(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(e.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("unable to watch fd %d: %w", fd, err)
	}
	return nil
}

// pollEnable turns readiness reports for fd on or off; the fd stays
// registered.
func (e *Engine) pollEnable(fd int, on bool) {
	ev := unix.EpollEvent{Fd: int32(fd)}
	if on {
		ev.Events = unix.EPOLLIN
	}
	unix.EpollCtl(e.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

func (e *Engine) unpoll(fd int) {
	unix.EpollCtl(e.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Done is closed when Run has returned.
func (e *Engine) Done() <-chan struct{} { return e.done }

// Run is the loop. It returns when a shutdown has stopped everything, or
// when the last service of an engine that watches no directory is gone (a
// runsv after 'x').
func (e *Engine) Run() {
	defer close(e.done)
	e.changed = true // a first snapshot, even of no service at all
	events := make([]unix.EpollEvent, 64)
	for !e.stopLoop {
		e.flush()
		n, err := unix.EpollWait(e.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			e.warnf("", "epoll: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		// Directory changes first: a client that renames a service and
		// then writes to its control FIFO must find the engine already
		// following the new name, or the command's status is written
		// under the old, vanished path (and lost).
		for _, ev := range events[:n] {
			if int(ev.Fd) == e.inotify && e.drainInotify() {
				e.scanAll()
			}
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == e.wakefd:
				var buf [8]byte
				unix.Read(e.wakefd, buf[:])
				e.runInbox()
			case fd == e.inotify:
			default:
				if r := e.fds[fd]; r != nil {
					r.svc.readControl(r)
				} else if h := e.handlers[fd]; h != nil {
					h()
				}
			}
		}
		e.checkFinished()
	}
	for _, d := range e.dirs {
		d.close(e)
	}
	if e.inotify >= 0 {
		unix.Close(e.inotify)
	}
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	unix.Close(e.wakefd)
	unix.Close(e.epfd)
}

// flush writes the status files of every record changed since the last
// flush, in the order they changed: a logger started before its service
// is written first, as runsv writes it, so a client that sees the service
// running sees its logger running too.
func (e *Engine) flush() {
	e.settle()
	if len(e.dirty) > 0 || e.changed {
		e.changed = false
		e.publish()
	}
	for _, r := range e.dirty {
		r.flush()
	}
	clear(e.dirty)
	e.dirty = e.dirty[:0]
}

func (e *Engine) runInbox() {
	for {
		e.mu.Lock()
		work := e.inbox
		e.inbox = nil
		e.mu.Unlock()
		if len(work) == 0 {
			return
		}
		for _, fn := range work {
			fn()
		}
	}
}

// checkFinished ends the loop once nothing is left to supervise after a
// shutdown, or after the last service of a dirless engine exited.
func (e *Engine) checkFinished() {
	if len(e.services) > 0 {
		return
	}
	if e.shutting || len(e.dirs) == 0 {
		e.stopLoop = true
	}
}

func (e *Engine) warnf(name, format string, args ...any) {
	e.message(name, "warning: ", format, args...)
}

// startFailed reports a run, finish or log run that could not be started.
// runsv's words are its child's, which exits 111 on "fatal: unable to
// start"; the service itself carries on, so init mode calls it a warning.
func (e *Engine) startFailed(s *service, what string, err error) {
	if e.cfg.Prog != "vigil" {
		e.message(s.name, "fatal: ", "unable to start %s: %s", what, errstr.Of(err))
		return
	}
	// In init mode it is one line, then a summary at most once a minute,
	// however often the restart pace tries again.
	msg := fmt.Sprintf("warning: unable to start %s: %s", what, errstr.Of(err))
	e.eventf(s, 0, msg, "%s", msg)
}

// message writes one line about a service, in runsv's form ("runsv web:
// warning: ...") or, in init mode, vigil's ("vigil: web: warning: ...").
func (e *Engine) message(name, kind, format string, args ...any) {
	prefix := "runsv " + name + ": "
	if e.cfg.Prog == "vigil" {
		prefix = "vigil: "
		if name != "" {
			prefix += name + ": "
		}
	}
	// Names go through %s: a service called "a%s" must not be a format.
	fmt.Fprintf(e.cfg.Messages, "%s%s%s\n", prefix, kind, fmt.Sprintf(format, args...))
}
