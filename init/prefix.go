package pid1

import (
	"bufio"
	"os"
	"sync"
	"time"
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
	return &prefixer{out: stream{f: stdout}, err: stream{f: stderr}}
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
	pf.wg.Add(1)
	go pf.copy(name+": ", r, to)
	return w, nil
}

func (pf *prefixer) copy(prefix string, r *os.File, to *stream) {
	defer pf.wg.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLine)
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
