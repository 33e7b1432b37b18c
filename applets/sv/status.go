package sv

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/services/supervise"
)

var errBadFormat = errors.New("bad format")

// readStatus reads supervise/status and checks that it is what a
// supervisor writes: exactly 20 bytes, a TAI64 label, 'u' or 'd', flags of
// 0 or 1 and a known state. runit's sv reads any file of at least 20 bytes
// and prints whatever the bytes say; a torn or foreign file is reported
// here instead. stage tells the caller which step failed, for runit's
// messages.
func readStatus(superDir string) (st supervise.Status, stage string, err error) {
	fd, err := unix.Open(filepath.Join(superDir, "status"), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return st, "open", err
	}
	defer unix.Close(fd)
	var buf [supervise.StatusLen + 1]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return st, "read", err
		}
		if m == 0 {
			break
		}
		n += m
	}
	b := buf[:n]
	if n != supervise.StatusLen || binary.BigEndian.Uint64(b[0:8]) < 1<<62 ||
		binary.BigEndian.Uint32(b[8:12]) >= 1e9 ||
		b[16] > 1 || (b[17] != 'u' && b[17] != 'd') || b[18] > 1 || b[19] > 2 {
		return st, "read", errBadFormat
	}
	st, err = supervise.Parse(b)
	if err != nil {
		return st, "read", errBadFormat
	}
	return st, "", nil
}

// statusLine is svstatus_print: "STATE: NAME: [(pid N) ]Ts" and the
// annotations, for the service in dir (the down file is looked at now).
// It returns 1 when a process runs, 2 when none does, and 0 with an empty
// line (after a warning on stderr) when down cannot be examined.
func (r *run) statusLine(b []byte, name, display, dir string, st supervise.Status, now time.Time) ([]byte, int) {
	normallyUp := false
	var sb unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "down"), &sb); err != nil {
		if err != unix.ENOENT {
			r.errf("warning: unable to stat %s/down: %s\n", display, errstr.Of(err))
			return b, 0
		}
		normallyUp = true
	}
	b = append(b, st.State.String()...)
	b = append(b, ": "...)
	b = append(b, name...)
	b = append(b, ": "...)
	if st.State != supervise.Down {
		b = append(b, "(pid "...)
		b = strconv.AppendUint(b, uint64(uint32(st.Pid)), 10)
		b = append(b, ") "...)
	}
	// Whole TAI seconds, as runit subtracts them.
	secs := int64(0)
	if n, s := now.Unix(), st.Since.Unix(); n > s {
		secs = n - s
	}
	b = strconv.AppendInt(b, secs, 10)
	b = append(b, 's')
	pid := st.Pid != 0
	if pid && !normallyUp {
		b = append(b, ", normally down"...)
	}
	if !pid && normallyUp {
		b = append(b, ", normally up"...)
	}
	if pid && st.Paused {
		b = append(b, ", paused"...)
	}
	if !pid && st.Want == supervise.WantUp {
		b = append(b, ", want up"...)
	}
	if pid && st.Want != supervise.WantUp {
		b = append(b, ", want down"...)
	}
	if pid && st.Term {
		b = append(b, ", got TERM"...)
	}
	if pid {
		return b, 1
	}
	return b, 2
}
