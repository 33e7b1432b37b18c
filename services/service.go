package services

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/services/supervise"
)

// record is one supervised process slot: the service's run/finish, or its
// logger. It is runit's struct svdir.
type record struct {
	svc      *service
	isLog    bool
	dir      string // working directory of its processes
	sup      *supervise.Dir
	st       supervise.Status
	proc     *os.Process
	once     bool      // 'o' asked for one start while want is down
	dirty    bool      // st changed since the status files were written
	dirtyPid bool      // ... and so did the pid
	paceAt   time.Time // no start before this (restart pacing)
	pacer    *time.Timer
}

// service is one service directory: runit's runsv.
type service struct {
	e     *Engine
	name  string // as messages and the directory scan know it
	dir   string
	key   fileKey
	owner *watchDir // nil for a service added alone (runsv)
	main  record
	log   *record
	pipeR *os.File // the log pipe; both ends held while the service lives
	pipeW *os.File
	out   *os.File // stdout without a logger: Config.Stdout or Config.Output's
	errf  *os.File // stderr: Config.Stderr or Config.Output's
	free  func()   // releases out and errf, if Config.Output made them

	// The phase machine (state.go) and what it keeps.
	phase        phase
	pol          policy // the opt-in files, read when the service is added
	readyAt      time.Time
	rd           *readiness // run's readiness source while it runs
	waiting      []string   // dependencies not ready, while in phWaiting
	stopPending  bool       // 'd' or 'x' waits for dependents to stop
	asked        bool       // run was told to stop: its exit is no failure
	unasked      bool       // run's last exit was by itself, wanted up
	exitStatus   unix.WaitStatus
	ran          time.Duration // how long run's last process ran
	runStart     time.Time     // when it started
	delay        time.Duration // restart-backoff's current delay
	exits        []time.Time   // unasked exits within restart-limit's window
	failed       bool
	killTimer    *time.Timer // timeout-kill
	extDirty     bool        // supervise/vigil is behind
	noted        map[string]bool
	rep          repeats       // the event lines said, for their summaries
	sock         *notifySocket // notification-socket, once opened
	notifyStatus string        // the last STATUS= it was sent
	sick         bool          // liveness checks failed
	live         liveness
	oomKilled    bool // run's last KILL came from the OOM killer
	oomKills     uint64
	execFailed   bool // run could not be started: its 111 is no exit to report

	restarts uint64    // unasked exits of run
	lastExit *ExitInfo // how run last ended

	hook    *hookRun // a control/<c> script in flight
	pending []byte   // main control bytes that wait for the hook
	// exiting: after 'x' run is down and the logger drains the closed
	// pipe; the service only waits for the logger to end.
	exiting bool
	closed  bool
}

type fileKey struct{ dev, ino uint64 }

func keyOf(path string) (fileKey, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileKey{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fileKey{}, unix.ENOTDIR
	}
	return fileKey{uint64(st.Dev), st.Ino}, nil
}

// Add supervises the service in dir under name, as runsv does. Call it on
// the loop goroutine or before Run.
func (e *Engine) Add(dir, name string) error {
	key, err := keyOf(dir)
	if err != nil {
		// runsv's words: "runsv DIR: fatal: unable to change to directory: ...".
		return fmt.Errorf("unable to change to directory: %s", errstr.Of(err))
	}
	_, err = e.add(dir, name, key, nil)
	return err
}

func (e *Engine) add(dir, name string, key fileKey, owner *watchDir) (*service, error) {
	s := &service{e: e, name: name, dir: dir, key: key, owner: owner}
	pol, errs := readPolicy(dir)
	s.pol = pol
	for _, err := range errs {
		e.warnf(name, "%s", errstr.Describe(err))
	}
	s.main = record{svc: s, dir: dir}
	now := time.Now()
	s.main.st = supervise.Status{Since: now, Want: supervise.WantUp}
	if _, err := os.Stat(filepath.Join(dir, "down")); err == nil {
		s.main.st.Want = supervise.WantDown
	}
	if owner != nil {
		if c, ok := owner.after[key]; ok {
			delete(owner.after, key)
			s.main.st.Want = supervise.WantUp
			if c != 'u' {
				s.main.st.Want = supervise.WantDown
			}
			s.main.once = c == 'o'
		}
	}
	logDir := filepath.Join(dir, "log")
	if st, err := os.Stat(logDir); err == nil {
		if st.IsDir() {
			s.log = &record{svc: s, isLog: true, dir: logDir}
			s.log.st = supervise.Status{Since: now, Want: supervise.WantUp}
			if _, err := os.Stat(filepath.Join(logDir, "down")); err == nil {
				s.log.st.Want = supervise.WantDown
			}
		} else {
			e.warnf(name, "./log: not a directory.")
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		e.warnf(name, "unable to stat ./log: %s", errstr.Of(err))
	}
	if err := s.open(); err != nil {
		s.close()
		return nil, err
	}
	e.services[s] = struct{}{}
	e.changed = true
	e.link(s)
	// As runsv: the first status of both records, then the ok FIFOs, so
	// that a client never finds a live supervisor without a status, and
	// only then the processes, so that nothing is started for a service
	// that could not be set up.
	s.main.write(true)
	if s.log != nil {
		s.log.write(false) // runsv writes no log pid until the log runs
	}
	e.flush()
	for _, r := range s.records() {
		if err := r.sup.Ready(); err != nil {
			s.close()
			return nil, err
		}
	}
	s.advance()
	return s, nil
}

// open takes the supervise directories and makes the log pipe.
func (s *service) open() error {
	var err error
	if s.main.sup, err = supervise.Prepare(s.dir); err != nil {
		return err
	}
	if err := s.e.poll(s.main.sup.Control); err != nil {
		return err
	}
	s.e.fds[s.main.sup.Control] = &s.main
	s.out, s.errf = s.e.cfg.Stdout, s.e.cfg.Stderr
	if s.e.cfg.Output != nil {
		out, errf, free, err := s.e.cfg.Output(s.name, s.log == nil)
		if err != nil {
			return fmt.Errorf("unable to set up output: %w", err)
		}
		s.errf, s.free = errf, free
		if out != nil {
			s.out = out
		}
	}
	if s.log == nil {
		return nil
	}
	if s.log.sup, err = supervise.Prepare(s.log.dir); err != nil {
		return fmt.Errorf("log: %w", err)
	}
	if err := s.e.poll(s.log.sup.Control); err != nil {
		return err
	}
	s.e.fds[s.log.sup.Control] = s.log
	if s.pipeR, s.pipeW, err = os.Pipe(); err != nil {
		return fmt.Errorf("unable to create pipe for log service: %w", err)
	}
	return nil
}

// close gives up the supervise directories and the pipe; the service must
// have no process left.
func (s *service) close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, r := range s.records() {
		r.flush()
		if r.pacer != nil {
			r.pacer.Stop()
		}
		if r.sup != nil {
			if r.sup.Control >= 0 {
				s.e.unpoll(r.sup.Control)
				delete(s.e.fds, r.sup.Control)
			}
			r.sup.Close()
		}
	}
	s.closePipe()
	if s.free != nil {
		s.free()
		s.free = nil
	}
	delete(s.e.services, s)
	s.e.changed = true
	s.stopReadiness()
	s.stopKillTimer()
	s.stopLiveness()
	s.closeSocket()
	s.e.unlink(s)
	if s.owner != nil {
		s.owner.forget(s)
	}
}

func (s *service) closePipe() {
	if s.pipeR != nil {
		s.pipeR.Close()
		s.pipeW.Close()
		s.pipeR, s.pipeW = nil, nil
	}
}

func (s *service) records() []*record {
	if s.log != nil {
		return []*record{&s.main, s.log}
	}
	return []*record{&s.main}
}

func (r *record) label() string {
	if r.isLog {
		return r.svc.name + "/log"
	}
	return r.svc.name
}

// write records the status; withPid also rewrites supervise/pid.
//
// The files are written once per turn of the loop, however many changes
// the turn made: stopping a service changes its status three or four times
// in a row, and each write is three file replacements.
func (r *record) write(withPid bool) {
	if !r.isLog {
		r.svc.extDirty = true
	}
	if !r.dirty {
		r.dirty = true
		r.svc.e.dirty = append(r.svc.e.dirty, r)
	}
	r.dirtyPid = r.dirtyPid || withPid
}

// flush writes r's status files if a change is pending.
func (r *record) flush() {
	if !r.dirty {
		return
	}
	withPid := r.dirtyPid
	r.dirty, r.dirtyPid = false, false
	if r.sup == nil {
		return
	}
	if err := r.sup.Write(r.st, withPid); err != nil {
		r.svc.e.warnf(r.label(), "%s", errstr.Describe(err))
	}
	if !r.isLog {
		r.svc.flushExtended()
	}
}

// flushExtended writes supervise/vigil for a service that uses vigil's
// opt-in files; other services never get one.
func (s *service) flushExtended() {
	if !s.extDirty || !s.pol.extended() || s.main.sup == nil {
		return
	}
	s.extDirty = false
	x := supervise.Extended{
		Pid:       s.main.st.Pid,
		Notify:    s.pol.readySource(),
		Ready:     s.readyAt,
		Failed:    s.failed,
		Unhealthy: s.unhealthy(),
		Waiting:   s.waiting,
		Restarts:  s.restarts,
	}
	if s.phase != phReady {
		x.Ready = time.Time{}
	}
	if err := s.main.sup.WriteExtended(x); err != nil {
		s.e.warnf(s.name, "%s", errstr.Describe(err))
	}
}

// rename follows the service directory when it is renamed under its
// watched directory: runsv keeps its cwd, so vigil updates its paths.
func (s *service) rename(dir, name string) {
	old := s.dir
	s.e.unlink(s)
	s.dir, s.name = dir, name
	s.e.link(s)
	s.main.dir = dir
	if s.log != nil {
		s.log.dir = filepath.Join(dir, "log")
	}
	for _, r := range s.records() {
		if r.sup != nil {
			path := r.sup.Path
			if rel, err := filepath.Rel(old, path); err == nil && !filepath.IsAbs(rel) && rel[0] != '.' {
				path = filepath.Join(dir, rel)
			}
			r.sup.Moved(path)
		}
		// A status written between the rename and this scan went to the
		// old path and is lost; write it again where clients now look.
		r.write(true)
	}
}
