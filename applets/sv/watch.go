package sv

import (
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watcher wakes sv's wait loop when a supervisor does something:
//
//   - the supervise directory: status (and stat, pid) are replaced by
//     rename, which is IN_MOVED_TO; IN_MODIFY and IN_CREATE cover a
//     supervisor that writes in place;
//   - control, IN_ACCESS: the supervisor read a command (runsv rewrites no
//     status for h, a, i, q, 1, 2 and k);
//   - ok, IN_CLOSE_NOWRITE: the supervisor closed its read end, i.e.
//     exited (sv exit).
//
// The masks leave out what sv itself causes while checking (opening and
// closing ok for writing, reading status), or each check would wake the
// next one for ever.
type watcher struct {
	fd   int
	lost bool // a watch could not be set or was removed: poll faster
}

const dirMask = unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_MODIFY | unix.IN_DELETE |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ATTRIB

func newWatcher() *watcher {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return &watcher{fd: -1, lost: true}
	}
	return &watcher{fd: fd}
}

func (w *watcher) ok() bool { return w.fd >= 0 && !w.lost }

func (w *watcher) add(sup string) {
	if w.fd < 0 {
		return
	}
	if _, err := unix.InotifyAddWatch(w.fd, sup, dirMask|unix.IN_ONLYDIR); err != nil {
		w.lost = true
		return
	}
	// Without these two sv still sees every status change; it would only
	// notice an unanswered command or an exit at the next poll.
	unix.InotifyAddWatch(w.fd, filepath.Join(sup, "control"), unix.IN_ACCESS)
	unix.InotifyAddWatch(w.fd, filepath.Join(sup, "ok"), unix.IN_CLOSE_NOWRITE)
}

// wait returns after an event or after d, whichever comes first, with the
// queued events consumed.
func (w *watcher) wait(d time.Duration) {
	if w.fd < 0 {
		time.Sleep(d)
		return
	}
	ms := int(d / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, ms); err != nil || n == 0 {
		return
	}
	var buf [4096]byte
	for {
		n, err := unix.Read(w.fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&(unix.IN_IGNORED|unix.IN_Q_OVERFLOW|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
				w.lost = true
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

func (w *watcher) close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}
