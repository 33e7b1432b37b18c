package sv

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/services/supervise"
)

// setExtended writes supervise/vigil as the engine does (by rename).
func (f *fake) setExtended(t testing.TB, x supervise.Extended) {
	t.Helper()
	if err := f.d.WriteExtended(x); err != nil {
		t.Fatal(err)
	}
}

var secondsRE = regexp.MustCompile(`[0-9]+s\b`)

// sameLine compares sv output with what a test expects, allowing each
// "Ns" to be up to two seconds more than expected: the clock may tick
// between the test writing a timestamp and sv reading it. Everything else
// must match byte for byte.
func sameLine(got, want string) bool {
	gi, wi := secondsRE.FindAllStringIndex(got, -1), secondsRE.FindAllStringIndex(want, -1)
	if len(gi) != len(wi) {
		return false
	}
	gp, wp := 0, 0
	for k := range gi {
		if got[gp:gi[k][0]] != want[wp:wi[k][0]] {
			return false
		}
		g, _ := strconv.Atoi(got[gi[k][0] : gi[k][1]-1])
		w, _ := strconv.Atoi(want[wi[k][0] : wi[k][1]-1])
		if g < w || g > w+2 {
			return false
		}
		gp, wp = gi[k][1], wi[k][1]
	}
	return got[gp:] == want[wp:]
}

func TestSameLine(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		same      bool
	}{
		{"run: a: (pid 1) 30s, ready 29s\n", "run: a: (pid 1) 30s, ready 29s\n", true},
		{"run: a: (pid 1) 31s, ready 30s\n", "run: a: (pid 1) 30s, ready 29s\n", true},
		{"run: a: (pid 1) 29s, ready 29s\n", "run: a: (pid 1) 30s, ready 29s\n", false},
		{"run: a: (pid 1) 33s\n", "run: a: (pid 1) 30s\n", false},
		{"run: a: (pid 2) 30s\n", "run: a: (pid 1) 30s\n", false},
		{"run: a: (pid 1) 30s, not ready\n", "run: a: (pid 1) 30s\n", false},
		{"run: a: (pid 1) 30s\n", "run: a: (pid 1) 30s, ready 1s\n", false},
	} {
		if got := sameLine(tc.got, tc.want); got != tc.same {
			t.Errorf("sameLine(%q, %q) = %v; want %v", tc.got, tc.want, got, tc.same)
		}
	}
}

// secondsAgo is a timestamp n whole seconds before now, as sv counts them.
func secondsAgo(n int64) time.Time { return time.Unix(time.Now().Unix()-n, 0) }

// opens counts the opens of supervise/vigil in dir by other processes
// than the test's own writes (those open vigil.new): the looks sv takes.
// The channel gets a value for each.
func opens(t testing.TB, supDir string) <-chan struct{} {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Skipf("inotify, to see sv read supervise/vigil: %v", err)
	}
	if _, err := unix.InotifyAddWatch(fd, supDir, unix.IN_OPEN); err != nil {
		unix.Close(fd)
		t.Fatalf("watching %s: %v", supDir, err)
	}
	ch := make(chan struct{}, 1<<16)
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done; unix.Close(fd) })
	go func() {
		defer close(done)
		var buf [4096]byte
		for {
			select {
			case <-stop:
				return
			default:
			}
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, _ := unix.Poll(fds, 20); n <= 0 {
				continue
			}
			n, _ := unix.Read(fd, buf[:])
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				if i := bytes.IndexByte(name, 0); i >= 0 {
					name = name[:i]
				}
				if string(name) == supervise.ExtendedName {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}()
	return ch
}

// waitLooks waits until sv has read supervise/vigil n more times, or
// fails the test after a generous deadline.
func waitLooks(t testing.TB, looks <-chan struct{}, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for range n {
		select {
		case <-looks:
		case <-deadline:
			t.Errorf("sv did not read supervise/vigil %d times", n)
			return
		}
	}
}

// vigilPath is the supervise/vigil of the service in dir.
func vigilPath(dir string) string {
	return filepath.Join(supervise.Locate(dir), supervise.ExtendedName)
}
