package sv

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/services/supervise"
)

// extended is what supervise/vigil says about a service, as far as sv
// trusts it. A service without vigil's opt-in files has no such file
// (has false), and sv then prints and waits exactly as runit's does.
//
// Which lines count. The file names the pid its lines describe; lines
// about another process than status's are stale (the supervisor replaces
// the two files one after the other). Two lines are about the service
// rather than a process and hold either way while it is down: "failed"
// (the restart limit gave up) and "waiting" (dependencies not ready).
// "notify" names the service's readiness source, a property of its
// directory: a running process the file does not describe yet is not
// ready, whatever older process it still describes.
type extended struct {
	has bool
	x   supervise.Extended
}

// fresh reports whether the file describes the process status names.
func (e extended) fresh(st supervise.Status) bool { return e.has && e.x.Pid == st.Pid }

// readiness reports whether the service has a readiness source and, if so,
// whether the process running now has signalled it.
func (e extended) readiness(st supervise.Status) (source, ready bool) {
	if !e.has || e.x.Notify == "" {
		return false, false
	}
	return true, e.fresh(st) && st.Pid != 0 && st.State == supervise.Run && !e.x.Ready.IsZero()
}

// failed reports whether the restart limit gave up on the service.
func (e extended) failed(st supervise.Status) bool {
	return e.has && e.x.Failed && (st.Pid == 0 || e.fresh(st))
}

// unhealthy reports whether the running process failed its liveness checks.
func (e extended) unhealthy(st supervise.Status) bool {
	return e.fresh(st) && st.Pid != 0 && e.x.Unhealthy
}

// waiting is the dependencies the service waits for before it starts.
func (e extended) waiting(st supervise.Status) []string {
	if !e.has || (st.Pid != 0 && !e.fresh(st)) {
		return nil
	}
	return e.x.Waiting
}

// up is the 'u' wait check's addition to runit's (a process runs, want is
// up, ./check passes): where the service has a readiness source, up means
// ready too; and never failed or unhealthy.
func (e extended) up(st supervise.Status) bool {
	if source, ready := e.readiness(st); source && !ready {
		return false
	}
	return !e.failed(st) && !e.unhealthy(st)
}

// appendExtended adds vigil's annotations to a status line, after
// runit's, in this order:
//
//	, ready Ns          the running process has been ready for N seconds
//	, not ready         it has a readiness source and has not signalled
//	, unhealthy         it failed its liveness checks
//	, failed            the restart limit gave up (sv up clears it)
//	, waiting for A B   it starts once A and B are ready
//
// so that the line is runit's line, followed by what runit cannot know.
func appendExtended(b []byte, e extended, st supervise.Status, now time.Time) []byte {
	if source, ready := e.readiness(st); source && st.Pid != 0 && st.State == supervise.Run {
		if ready {
			b = append(b, ", ready "...)
			b = strconv.AppendInt(b, wholeSeconds(now, e.x.Ready), 10)
			b = append(b, 's')
		} else {
			b = append(b, ", not ready"...)
		}
	}
	if e.unhealthy(st) {
		b = append(b, ", unhealthy"...)
	}
	if e.failed(st) {
		b = append(b, ", failed"...)
	}
	if w := e.waiting(st); len(w) > 0 {
		b = append(b, ", waiting for "...)
		b = append(b, strings.Join(w, " ")...)
	}
	return b
}

// wholeSeconds is now−then in whole seconds as runit subtracts them
// (whole seconds of each), clamped at 0.
func wholeSeconds(now, then time.Time) int64 {
	if n, s := now.Unix(), then.Unix(); n > s {
		return n - s
	}
	return 0
}

// maxExtended bounds what sv reads of supervise/vigil: more than the
// supervisor ever writes, and ParseExtended refuses larger files anyway.
const maxExtended = 64 << 10

// readExtended reads sup/vigil: one failed open when it does not exist,
// which is the case of every plain runit service. A file sv cannot read or
// parse is reported once per service on stderr (as runit reports a check
// script it cannot stat) and otherwise ignored: the line stays runit's.
func (r *run) readExtended(display, sup string) extended {
	path := filepath.Join(sup, supervise.ExtendedName)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err == unix.ENOENT {
		return extended{}
	}
	if err != nil {
		r.extWarning(display, "unable to open", err)
		return extended{}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 256)
	for len(buf) <= maxExtended {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			r.extWarning(display, "unable to read", err)
			return extended{}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	x, err := supervise.ParseExtended(buf)
	if err != nil {
		r.extWarning(display, "unable to read", supervise.ErrBadFormat)
		return extended{}
	}
	return extended{has: true, x: x}
}

func (r *run) extWarning(display, what string, err error) {
	if r.extWarned == nil {
		r.extWarned = make(map[string]bool)
	}
	if r.extWarned[display] {
		return
	}
	r.extWarned[display] = true
	r.errf("warning: %s: %s supervise/%s: %s\n", display, what, supervise.ExtendedName, errstr.Of(err))
}
