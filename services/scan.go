package services

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
)

// watchDir is a directory of services: runsvdir's job. Entries are
// subdirectories and symlinks to directories, known by device and inode so
// that a rename or a second symlink does not start a second supervisor.
type watchDir struct {
	path string
	wd   int32
	// parent watches the directory that holds path, so that a path that
	// is a symlink switched to another target (runsvchdir's way) is seen
	// at once, not at the next scan.
	parent int32
	key    fileKey
	byKey  map[fileKey]*service
	// after holds the want command ('u', 'd' or 'o') given to a service
	// while it was exiting, for the service that replaces it.
	after   map[fileKey]byte
	retry   *time.Timer
	timer   *time.Timer
	trouble string // why the directory itself cannot be read, once said
	// complaints holds the last warning about each entry, so a problem
	// that lasts (a read-only /run, a dangling link) is reported once, not
	// on every retry, and again when it changes or comes back.
	complaints map[string]string
}

const inotifyMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// parentMask is what changes a name in the directory above: a symlink
// replaced (mv -T, ln -sfn) or a directory renamed into place.
const parentMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ONLYDIR

// Watch supervises every service in dir, now and as entries come and go.
// inotify reports changes within milliseconds, dir being switched to
// another target included; without it dir is scanned every second.
//
// Like runsvdir, it waits for a directory that does not exist yet: it says
// so once and looks again every second.
func (e *Engine) Watch(dir string) error {
	if e.inotify < 0 && !e.noInotify {
		// Without inotify (fs.inotify.max_user_instances is spent, say)
		// vigil scans every second, as runsvdir does.
		fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err == nil {
			if err = e.poll(fd); err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			e.noInotify = true
			e.dirWarnf(dir, "unable to start inotify, scanning every second: %s", errstr.Describe(err))
		} else {
			e.inotify = fd
		}
	}
	d := &watchDir{path: dir, wd: -1, parent: -1, byKey: make(map[fileKey]*service), after: make(map[fileKey]byte)}
	if e.inotify >= 0 {
		if wd, err := unix.InotifyAddWatch(e.inotify, filepath.Dir(dir), parentMask); err == nil {
			d.parent = int32(wd)
		}
	}
	e.dirs = append(e.dirs, d)
	e.checkDir(d)
	e.scan(d)
	return nil
}

// poll scans d every second for as long as inotify does not watch it (no
// inotify, a directory not there yet or just replaced). While inotify
// watches, nothing is scheduled: an idle engine sleeps, and a lost event
// (a queue overflow) still ends in a full rescan.
func (d *watchDir) poll(e *Engine) {
	if d.wd >= 0 || d.timer != nil || e.shutting {
		return
	}
	d.timer = time.AfterFunc(time.Second, func() {
		e.post(func() {
			d.timer = nil
			e.checkDir(d)
			e.scan(d)
		})
	})
}

func (d *watchDir) watch(e *Engine) {
	if d.wd >= 0 {
		unix.InotifyRmWatch(e.inotify, uint32(d.wd))
		delete(e.watches, d.wd)
	}
	if e.inotify < 0 {
		d.wd = -1
		return
	}
	wd, err := unix.InotifyAddWatch(e.inotify, d.path, inotifyMask)
	if err != nil {
		e.dirWarnf(d.path, "unable to watch directory, scanning every second: %s", errstr.Of(err))
		d.wd = -1
		return
	}
	d.wd = int32(wd)
	e.watches[d.wd] = d
}

func (d *watchDir) close(e *Engine) {
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.retry != nil {
		d.retry.Stop()
	}
}

// checkDir notices that the directory itself was replaced (a symlink
// switched to another target, as runsvchdir does) and watches the new one.
func (e *Engine) checkDir(d *watchDir) {
	key, err := keyOf(d.path)
	if err != nil || key == d.key {
		return
	}
	d.key = key
	d.watch(e)
}

// drainInotify empties the inotify queue; whatever it said, the answer is
// a rescan. It reports whether there was anything.
func (e *Engine) drainInotify() bool {
	var buf [4096]byte
	any := false
	for {
		n, err := unix.Read(e.inotify, buf[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return any
		}
		any = true
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
				if d := e.watches[ev.Wd]; d != nil {
					delete(e.watches, ev.Wd)
					d.wd = -1
					d.key = fileKey{}
				}
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

func (e *Engine) scanAll() {
	for _, d := range e.dirs {
		e.checkDir(d)
		e.scan(d)
	}
}

// scan starts a service for every new entry, stops the services whose
// entries are gone, and follows renames.
func (e *Engine) scan(d *watchDir) {
	if e.shutting {
		return
	}
	defer d.poll(e)
	e.scanning = true
	defer func() { e.scanning = false }()
	entries, err := os.ReadDir(d.path)
	if err != nil {
		if msg := "unable to read directory: " + errstr.Of(err); msg != d.trouble {
			d.trouble = msg
			e.dirWarnf(d.path, "%s", msg)
		}
		d.rescanSoon(e)
		return
	}
	if d.trouble != "" {
		d.trouble = ""
		e.checkDir(d) // it exists now: watch it
	}
	seen := make(map[fileKey]string, len(entries))
	failed := false
	complaints := make(map[string]string)
	complain := func(name, msg string, say func(string)) {
		complaints[name] = msg
		if d.complaints[name] != msg {
			say(msg)
		}
	}
	for _, ent := range entries {
		name := ent.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(d.path, name)
		key, err := keyOf(path)
		if err == unix.ENOTDIR {
			continue
		}
		if err != nil {
			complain(name, fmt.Sprintf("unable to stat %s: %s", name, errstr.Of(err)),
				func(msg string) { e.dirWarnf(d.path, "%s", msg) })
			continue
		}
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = name
		if s := d.byKey[key]; s != nil {
			continue
		}
		s, err := e.add(path, name, key, d)
		if err != nil {
			complain(name, "unable to start: "+errstr.Describe(err),
				func(msg string) { e.warnf(name, "%s", msg) })
			failed = true
			continue
		}
		d.byKey[key] = s
	}
	for key, s := range d.byKey {
		name, ok := seen[key]
		if !ok {
			delete(d.byKey, key)
			delete(d.after, key)
			s.owner = nil
			s.exit()
			continue
		}
		if name != s.name {
			if _, err := os.Lstat(filepath.Join(d.path, s.name)); err != nil {
				s.rename(filepath.Join(d.path, name), name)
			}
		}
	}
	d.complaints = complaints
	// A service that could not start (its lock still held by a supervisor
	// on its way out, say) is tried again a second later, as runsvdir does.
	if failed {
		d.rescanSoon(e)
	}
}

// rescanSoon scans d again in a second, once.
func (d *watchDir) rescanSoon(e *Engine) {
	if d.retry == nil && !e.shutting {
		d.retry = time.AfterFunc(time.Second, func() {
			e.post(func() { d.retry = nil; e.scan(d) })
		})
	}
}

// forget drops a service that ended by itself ('x', sv exit) while its
// entry is still in the directory. runsvdir restarts a runsv that exited at
// its next scan, a second later; without this rescan vigil left the service
// dead until the slow periodic rescan, a minute later.
func (d *watchDir) forget(s *service) {
	if d.byKey[s.key] == s {
		delete(d.byKey, s.key)
		d.rescanSoon(s.e)
	}
}

// exit stops the service for good, as runsv does on 'x' or SIGTERM.
func (s *service) exit() {
	if s.hook != nil {
		s.pending = append(s.pending, 'x')
		return
	}
	s.command(&s.main, 'x')
	s.advance()
}

func (e *Engine) dirWarnf(dir, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if e.cfg.Prog == "vigil" {
		e.message("", "warning: ", "%s: %s", dir, msg)
		return
	}
	fmt.Fprintf(e.cfg.Messages, "%s %s: warning: %s\n", e.cfg.Prog, dir, msg)
}

// Rescan scans every watched directory now (runsvdir's SIGALRM in Debian).
func (e *Engine) Rescan() {
	e.post(func() {
		for _, d := range e.dirs {
			e.checkDir(d)
		}
		e.scanAll()
	})
}
