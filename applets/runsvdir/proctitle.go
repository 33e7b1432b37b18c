package runsvdir

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A readproctitle log: runsvdir's `log` argument becomes a window, shown
// by ps, onto everything written to its standard error, which runsvdir,
// its services and their finish scripts all share. The first five
// characters stay (`log: `); the rest scrolls, newest byte last.

// titleFixed is how many leading characters of the log argument stay put.
const titleFixed = 5

// titleTick is how often a dot goes in, so that old messages scroll away.
const titleTick = 900 * time.Second

// procTitle is the log argument's bytes in the process's own argv area,
// which /proc/PID/cmdline, and so ps, reads.
type procTitle struct {
	win []byte // the scrolling part, after the fixed characters
}

// newProcTitle finds arg in the argv area. Go's os.Args, of which arg is
// a part, point into that area; the address is checked against the
// kernel's record of it before anything is written there.
func newProcTitle(arg string) (*procTitle, error) {
	start, end, err := argvArea()
	if err != nil {
		return nil, err
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(arg)))
	if p < start || p+uintptr(len(arg)) > end {
		return nil, fmt.Errorf("the log argument is not in the argv area")
	}
	b := unsafe.Slice(unsafe.StringData(arg), len(arg))
	return &procTitle{win: b[titleFixed:]}, nil
}

// argvArea reads arg_start and arg_end, fields 48 and 49 of
// /proc/self/stat, counted after the parenthesised command name.
func argvArea() (start, end uintptr, err error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("reading the argv area: %w", err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("reading the argv area: /proc/self/stat: no command name")
	}
	// Fields from 3 (state) on.
	f := bytes.Fields(b[i+1:])
	const argStart = 48 - 3
	if len(f) <= argStart+1 {
		return 0, 0, fmt.Errorf("reading the argv area: /proc/self/stat: %d fields", len(f)+2)
	}
	s, err1 := strconv.ParseUint(string(f[argStart]), 10, 64)
	e, err2 := strconv.ParseUint(string(f[argStart+1]), 10, 64)
	if err1 != nil || err2 != nil || s == 0 || e <= s {
		return 0, 0, fmt.Errorf("reading the argv area: /proc/self/stat: bad arg_start/arg_end")
	}
	return uintptr(s), uintptr(e), nil
}

// write scrolls b, NUL bytes left out, into the window.
func (t *procTitle) write(b []byte) {
	b = bytes.ReplaceAll(b, []byte{0}, nil)
	n := len(t.win)
	if len(b) >= n {
		copy(t.win, b[len(b)-n:])
		return
	}
	copy(t.win, t.win[len(b):])
	copy(t.win[n-len(b):], b)
}

// serveProcTitle makes a pipe the standard error of the process and of
// everything it starts from now on, and scrolls what comes through it
// into the log argument. runit sets the pipe's write end non-blocking and
// so drops messages while it is full; here a goroutine always drains it,
// so the write end blocks and nothing is dropped on the way in.
func serveProcTitle(log string) error {
	t, err := newProcTitle(log)
	if err != nil {
		return err
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("making the log pipe: %w", err)
	}
	// dup3 without O_CLOEXEC: fd 2 is inherited by every child.
	if err := unix.Dup3(fds[1], 2, 0); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return fmt.Errorf("making the log pipe standard error: %w", err)
	}
	unix.Close(fds[1])
	// Non-blocking, the read end is served by Go's poller, not a thread.
	unix.SetNonblock(fds[0], true)
	r := os.NewFile(uintptr(fds[0]), "runsvdir log pipe")
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				t.write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for range time.Tick(titleTick) {
			os.Stderr.Write([]byte{'.'})
		}
	}()
	return nil
}
