package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ExtendedName is the file, beside runit's status, where vigil keeps what
// runit's 20 bytes cannot say: readiness, a restart limit given up on,
// failed liveness checks, dependencies waited for. Only services that use
// one of vigil's opt-in files get it, so a plain runit service's
// supervise/ holds runit's files and nothing else.
//
// It is text, one "key value" line per fact, written by rename like the
// others; readers ignore keys they do not know:
//
//	pid 1234                     the run process the lines describe (0: none)
//	notify fd                    the readiness source: fd, socket or check
//	ready 1733540000.123456789   when it became ready (absent: not ready)
//	failed                       restart-limit gave up; sv up clears it
//	unhealthy                    liveness checks failed
//	waiting db cache             dependencies not ready yet
//	restarts 3                   unasked exits of run so far
//
// A reader compares pid with status's: lines about an older process are
// stale.
const ExtendedName = "vigil"

// Extended is the content of supervise/vigil.
type Extended struct {
	Pid       int
	Notify    string    // "", "fd", "socket" or "check"
	Ready     time.Time // zero: not ready
	Failed    bool
	Unhealthy bool
	Waiting   []string
	Restarts  uint64
}

// Bytes encodes x as the file holds it.
func (x Extended) Bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d\n", x.Pid)
	if x.Notify != "" {
		fmt.Fprintf(&b, "notify %s\n", x.Notify)
	}
	if !x.Ready.IsZero() {
		fmt.Fprintf(&b, "ready %d.%09d\n", x.Ready.Unix(), x.Ready.Nanosecond())
	}
	if x.Failed {
		b.WriteString("failed\n")
	}
	if x.Unhealthy {
		b.WriteString("unhealthy\n")
	}
	if len(x.Waiting) > 0 {
		fmt.Fprintf(&b, "waiting %s\n", strings.Join(x.Waiting, " "))
	}
	if x.Restarts > 0 {
		fmt.Fprintf(&b, "restarts %d\n", x.Restarts)
	}
	return []byte(b.String())
}

// ErrBadExtended means supervise/vigil holds something vigil never writes.
var ErrBadExtended = errors.New("bad format of supervise/" + ExtendedName)

// ParseExtended decodes supervise/vigil. Unknown keys are skipped.
func ParseExtended(b []byte) (Extended, error) {
	var x Extended
	if len(b) > 64<<10 {
		return x, ErrBadExtended
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, val, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "":
		case "pid":
			x.Pid, err = strconv.Atoi(val)
			if x.Pid < 0 {
				err = ErrBadExtended
			}
		case "notify":
			x.Notify = val
		case "ready":
			x.Ready, err = parseUnixNano(val)
		case "failed":
			x.Failed = true
		case "unhealthy":
			x.Unhealthy = true
		case "waiting":
			x.Waiting = strings.Fields(val)
		case "restarts":
			x.Restarts, err = strconv.ParseUint(val, 10, 64)
		}
		if err != nil {
			return Extended{}, fmt.Errorf("%w: %s", ErrBadExtended, line)
		}
	}
	return x, nil
}

func parseUnixNano(s string) (time.Time, error) {
	secs, nanos, ok := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || !ok || len(nanos) != 9 {
		return time.Time{}, ErrBadExtended
	}
	ns, err := strconv.ParseUint(nanos, 10, 32)
	if err != nil {
		return time.Time{}, ErrBadExtended
	}
	return time.Unix(sec, int64(ns)), nil
}

// ReadExtended reads supervise/vigil; a service without it has none of
// vigil's opt-in files, which os.ErrNotExist says.
func ReadExtended(superviseDir string) (Extended, error) {
	b, err := os.ReadFile(filepath.Join(superviseDir, ExtendedName))
	if err != nil {
		return Extended{}, err
	}
	return ParseExtended(b)
}

// WriteExtended replaces supervise/vigil with x.
func (d *Dir) WriteExtended(x Extended) error {
	return d.replace(ExtendedName, x.Bytes())
}
