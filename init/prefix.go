package pid1

import (
	"bufio"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// prefixer copies each service's output to vigil's stdout, and its
// errors to vigil's stderr, with the service name in front of every line.
// Each service gets a pipe for each, whose write end the engine holds for
// the service's life; one line is one write under its stream's lock, so
// lines of different services never mix.
//
// These copy goroutines are the one place where vigil's children do not
// write straight to a file of vigil's own; it is what -p asks for. They are
// waited for at exit until the pipes close, within the time the shutdown
// has left.
type prefixer struct {
	out, err stream
	wg       sync.WaitGroup

	mu    sync.Mutex
	tails map[string]*tail // of each service's stderr, by service name
}

// stream is one of vigil's own output files, shared by every service.
type stream struct {
	mu sync.Mutex
	f  *os.File
}

// maxLine is the longest line written whole; a longer one is cut into
// pieces of this size, each with the prefix.
const maxLine = 64 << 10

func newPrefixer(stdout, stderr *os.File) *prefixer {
	return &prefixer{out: stream{f: stdout}, err: stream{f: stderr}, tails: map[string]*tail{}}
}

// output is the engine's Config.Output: a stderr for every service, and a
// stdout for one without a logger.
func (pf *prefixer) output(name string, withStdout bool) (stdout, stderr *os.File, release func(), err error) {
	stderr, err = pf.pipe(name, &pf.err)
	if err != nil {
		return nil, nil, nil, err
	}
	if withStdout {
		if stdout, err = pf.pipe(name, &pf.out); err != nil {
			stderr.Close()
			return nil, nil, nil, err
		}
	}
	return stdout, stderr, func() {
		stderr.Close()
		if stdout != nil {
			stdout.Close()
		}
	}, nil
}

// pipe makes a pipe whose lines go to to, prefixed with name, and returns
// its write end.
func (pf *prefixer) pipe(name string, to *stream) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	var t *tail
	if to == &pf.err {
		if t, err = newTail(r); err != nil {
			r.Close()
			w.Close()
			return nil, err
		}
		pf.mu.Lock()
		pf.tails[name] = t
		pf.mu.Unlock()
	}
	pf.wg.Add(1)
	go pf.copy(name+": ", r, to, t)
	return w, nil
}

func (pf *prefixer) copy(prefix string, r *os.File, to *stream, t *tail) {
	defer pf.wg.Done()
	defer r.Close()
	var from io.Reader = r
	if t != nil {
		from = t
	}
	br := bufio.NewReaderSize(from, maxLine)
	buf := make([]byte, 0, 256)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			buf = append(append(buf[:0], prefix...), line...)
			if line[len(line)-1] != '\n' && err != bufio.ErrBufferFull {
				buf = append(buf, '\n') // the last line, unterminated: kept
			}
			if err == bufio.ErrBufferFull {
				buf = append(buf, '\n')
			}
			to.mu.Lock()
			to.f.Write(buf)
			to.mu.Unlock()
			if t != nil {
				t.keep(line)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// wait waits up to d for every pipe to be drained to its end.
func (pf *prefixer) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { pf.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// stderrTail is the last tailMax bytes that service name wrote to its
// stderr, for the termination log. What it wrote before it exited may
// still be in the pipe or in the copy's buffer: it waits up to d for the
// copy to have relayed all of it.
func (pf *prefixer) stderrTail(name string, d time.Duration) []byte {
	pf.mu.Lock()
	t := pf.tails[name]
	pf.mu.Unlock()
	if t == nil {
		return nil
	}
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for !t.caughtUp() {
		select {
		case <-t.progress:
		case <-timeout.C:
			return t.bytes()
		}
	}
	return t.bytes()
}

// tailMax is as much of a service's stderr as the termination log can
// show.
const tailMax = terminationLogMax

// tail keeps the end of one service's stderr as the copy relays it. It is
// the copy's reader too: each read from the pipe and its count happen
// under mu, so that caughtUp, also under mu, never sees bytes that have
// left the pipe but are not yet counted.
type tail struct {
	rc       syscall.RawConn
	progress chan struct{}

	mu      sync.Mutex
	read    int64 // bytes read from the pipe
	relayed int64 // of those, bytes relayed and kept
	buf     []byte
}

func newTail(r *os.File) (*tail, error) {
	rc, err := r.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &tail{rc: rc, progress: make(chan struct{}, 1)}, nil
}

func (t *tail) Read(p []byte) (int, error) {
	var n int
	var rerr error
	err := t.rc.Read(func(fd uintptr) bool {
		t.mu.Lock()
		n, rerr = unix.Read(int(fd), p)
		if n > 0 {
			t.read += int64(n)
		}
		t.mu.Unlock()
		return rerr != unix.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// keep appends a relayed line, holding at most twice tailMax.
func (t *tail) keep(line []byte) {
	t.mu.Lock()
	t.buf = append(t.buf, line...)
	if len(t.buf) > 2*tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	t.relayed += int64(len(line))
	t.mu.Unlock()
	select {
	case t.progress <- struct{}{}:
	default:
	}
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailMax {
		b = b[len(b)-tailMax:]
	}
	return append([]byte(nil), b...)
}

// caughtUp says whether the pipe is empty and all that was read of it
// relayed (an unterminated last line never is: the caller's timeout ends
// the wait).
func (t *tail) caughtUp() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.read != t.relayed {
		return false
	}
	pending := -1
	t.rc.Control(func(fd uintptr) { pending, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }) // FIONREAD
	return pending == 0
}
