package pid1

import (
	"bufio"
	"os"
	"sync"
	"time"
)

// prefixer copies each service's output to vigil's stdout with the
// service name in front of every line. Each service gets a pipe whose
// write end the engine holds for the service's life; one line is one
// write under a lock, so lines of different services never mix.
type prefixer struct {
	mu  sync.Mutex
	out *os.File
	wg  sync.WaitGroup
}

// maxLine is the longest line written whole; a longer one is cut into
// pieces of this size, each with the prefix.
const maxLine = 64 << 10

func newPrefixer(out *os.File) *prefixer { return &prefixer{out: out} }

// output is the engine's Config.Output.
func (pf *prefixer) output(name string) (*os.File, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	pf.wg.Add(1)
	go pf.copy(name+": ", r)
	return w, func() { w.Close() }, nil
}

func (pf *prefixer) copy(prefix string, r *os.File) {
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
			pf.mu.Lock()
			pf.out.Write(buf)
			pf.mu.Unlock()
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
