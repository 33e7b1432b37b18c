// Package supervise is runit's on-disk protocol between a supervisor and
// its clients: the 20-byte status file, the stat and pid text files, and the
// control and ok FIFOs under a service's supervise/ directory. The engine
// writes these files; sv, svc and svok read them. Neither side needs the
// other's code, only this package.
package supervise

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/vigil-init/vigil/internal/tai64n"
)

// StatusLen is the exact size of supervise/status.
const StatusLen = 20

// State is what the supervised process is doing.
type State byte

// States as runit numbers them in byte 19 of the status file.
const (
	Down   State = 0
	Run    State = 1
	Finish State = 2
)

func (s State) String() string {
	switch s {
	case Run:
		return "run"
	case Finish:
		return "finish"
	}
	return "down"
}

// Want is the state the supervisor is asked to keep the service in.
type Want byte

// Wants. The status file knows only 'u' and 'd': WantExit is written as 'd'.
const (
	WantUp Want = iota
	WantDown
	WantExit
)

// Status is the content of supervise/status.
type Status struct {
	// Since is when the current state began: when run started, or when the
	// service went down. It keeps run's start time during finish.
	Since  time.Time
	Pid    int
	Paused bool
	Want   Want
	Term   bool // TERM was sent to Pid and it has not exited yet
	State  State
}

// ErrBadFormat is returned for a status file that is not 20 bytes long.
var ErrBadFormat = errors.New("bad format")

// Bytes encodes s exactly as runit 2.1.2's runsv does: TAI64N timestamp,
// little-endian pid, paused flag, 'u' or 'd', term flag, state.
func (s Status) Bytes() [StatusLen]byte {
	var b [StatusLen]byte
	tai64n.Pack(b[0:12], s.Since)
	binary.LittleEndian.PutUint32(b[12:16], uint32(s.Pid))
	if s.Paused {
		b[16] = 1
	}
	b[17] = 'd'
	if s.Want == WantUp {
		b[17] = 'u'
	}
	if s.Term {
		b[18] = 1
	}
	b[19] = byte(s.State)
	return b
}

// Parse decodes a status file. Anything but what a supervisor writes is
// ErrBadFormat: a size other than 20 bytes, no TAI64 label, nanoseconds
// past a second, flags other than 0 and 1, a want other than 'u' and 'd',
// an unknown state. (runit's sv prints whatever 20 bytes say; a torn or
// foreign file is better reported.)
func Parse(b []byte) (Status, error) {
	if len(b) != StatusLen || binary.BigEndian.Uint64(b[0:8]) < 1<<62 ||
		binary.BigEndian.Uint32(b[8:12]) >= 1e9 ||
		b[16] > 1 || (b[17] != 'u' && b[17] != 'd') || b[18] > 1 || b[19] > 2 {
		return Status{}, ErrBadFormat
	}
	s := Status{
		Since:  tai64n.Unpack(b[0:12]),
		Pid:    int(binary.LittleEndian.Uint32(b[12:16])),
		Paused: b[16] != 0,
		Want:   WantDown,
		Term:   b[18] != 0,
		State:  State(b[19]),
	}
	if b[17] == 'u' {
		s.Want = WantUp
	}
	return s, nil
}

// Stat is the one-line text of supervise/stat, newline included.
func (s Status) Stat() string {
	b := []byte(s.State.String())
	if s.Paused {
		b = append(b, ", paused"...)
	}
	if s.Term {
		b = append(b, ", got TERM"...)
	}
	if s.State != Down {
		switch s.Want {
		case WantDown:
			b = append(b, ", want down"...)
		case WantExit:
			b = append(b, ", want exit"...)
		}
	}
	return string(append(b, '\n'))
}

// PidText is the content of supervise/pid: the decimal pid and a newline,
// or nothing at all when no process runs.
func (s Status) PidText() string {
	if s.Pid == 0 {
		return ""
	}
	return strconv.Itoa(s.Pid) + "\n"
}
