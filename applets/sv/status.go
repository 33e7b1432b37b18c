package sv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/services/supervise"
)

// readStatus reads supervise/status (see supervise.ReadStatus for what
// counts as one). stage tells the caller which step failed, for runit's
// messages: "open" or "read".
func readStatus(superDir string) (st supervise.Status, stage string, err error) {
	st, err = supervise.ReadStatus(superDir)
	var pe *os.PathError
	switch {
	case err == nil:
		return st, "", nil
	case errors.As(err, &pe):
		return st, pe.Op, pe.Err
	}
	return st, "read", err
}

// statusLine is svstatus_print: "STATE: NAME: [(pid N) ]Ts" and the
// annotations, for the service in dir (the down file is looked at now),
// then vigil's from supervise/vigil (appendExtended).
// It returns 1 when a process runs, 2 when none does, and 0 with an empty
// line (after a warning on stderr) when down cannot be examined.
func (r *run) statusLine(b []byte, name, display, dir string, st supervise.Status, ext extended, now time.Time) ([]byte, int) {
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
	b = strconv.AppendInt(b, wholeSeconds(now, st.Since), 10)
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
	b = appendExtended(b, ext, st, now)
	if pid {
		return b, 1
	}
	return b, 2
}
