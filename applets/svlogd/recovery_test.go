package svlogd

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// startGroup starts svlogd in its own process group, so that a KILL can
// take it and its processor down together, as a crash of the container's
// logger would. stdin is the read end of r, which the test keeps open as
// the supervisor does.
func startGroup(t *testing.T, im impl, r *os.File, args ...string) (*proc, func()) {
	t.Helper()
	c := im.cmd(args...)
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{t: t, cmd: c, stderr: &syncBuf{}, stdout: &syncBuf{}, done: make(chan struct{})}
	c.Stdin, c.Stderr, c.Stdout = r, p.stderr, p.stdout
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = c.Wait(); close(p.done) }()
	kill := func() {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	t.Cleanup(kill)
	return p, kill
}

func withSuffix(dir string, suffix byte) []string {
	var out []string
	for _, n := range oldFiles(dir) {
		if len(n) == 27 && n[26] == suffix {
			out = append(out, n)
		}
	}
	return out
}

// TestKilledDuringProcessor: svlogd and its processor are KILLed while the
// processor works on a rotated file. A restarted vigil svlogd runs the
// processor again on the @….u left behind and removes the partial @….t;
// every line ends up processed exactly once. runit's svlogd never looks at
// the @….u again.
func TestKilledDuringProcessor(t *testing.T) {
	for _, im := range []impl{vigilImpl(), runitImpl(t)} {
		t.Run(im.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			// The processor upper-cases its input, then lingers until
			// "release" exists: slow, as a compressor on a big file is.
			mkdir(t, dir, "s400\nn0\n!tr a-z A-Z; echo ran >&5; test -e release || exec sleep 600\n")
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			_, kill := startGroup(t, im, r, dir)
			first := lines(0, 8) // more than s400: one rotation
			w.WriteString(first)
			testenv.WaitFor(t, wait, "the processor to have written its output", func() bool {
				ts := withSuffix(dir, 't')
				return len(ts) == 1 && readFile(filepath.Join(dir, "newstate")) == "ran\n" &&
					readFile(filepath.Join(dir, ts[0])) != ""
			})
			kill()
			if len(withSuffix(dir, 'u')) != 1 {
				t.Fatalf("after the KILL: files %q; want one @….u", oldFiles(dir))
			}

			os.WriteFile(filepath.Join(dir, "release"), nil, 0644)
			p, _ := startGroup(t, im, r, dir)
			w.WriteString("after the restart\n")
			w.Close()
			select {
			case <-p.done:
			case <-time.After(wait):
				t.Fatalf("the restarted svlogd did not exit; stderr:\n%s", p.stderr)
			}
			if im.name == "runit" {
				if len(withSuffix(dir, 'u')) == 0 {
					t.Errorf("runit processed the leftover; files %q", oldFiles(dir))
				}
				return
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, p.stderr)
			}
			if u, tt := withSuffix(dir, 'u'), withSuffix(dir, 't'); len(u)+len(tt) != 0 {
				t.Errorf("left over: %q %q", u, tt)
			}
			var processed strings.Builder
			for _, n := range withSuffix(dir, 's') {
				processed.WriteString(readFile(filepath.Join(dir, n)))
			}
			got := processed.String() + readFile(filepath.Join(dir, "current"))
			if want := strings.ToUpper(first) + "after the restart\n"; got != want && strings.ToUpper(got) != strings.ToUpper(want) {
				t.Errorf("logged %q; want %q", got, want)
			}
			if !strings.HasPrefix(processed.String(), strings.ToUpper(first[:40])) {
				t.Errorf("processed files hold %q; want the upper-cased lines", processed.String())
			}
			if got, want := readFile(filepath.Join(dir, "state")), "ran\n"; got != want {
				t.Errorf("state %q; want %q", got, want)
			}
		})
	}
}

// TestLeftoversAtStart: what a restart does with each kind of leftover, by
// a table of directory contents before and after (vigil's svlogd).
func TestLeftoversAtStart(t *testing.T) {
	const a, b = "@400000006b00000000000001", "@400000006b00000000000002"
	cases := []struct {
		name   string
		config string
		before map[string]string
		after  map[string]string // rotated files only
		state  string
	}{
		{"unprocessed .u and a partial .t", "!tr a-z A-Z\n",
			map[string]string{a + ".u": "one\n", a + ".t": "O", b + ".u": "two\n"},
			map[string]string{a + ".s": "ONE\n", b + ".s": "TWO\n"}, ""},
		{"processed, killed before the .u went", "!tr a-z A-Z\n",
			map[string]string{a + ".s": "ONE\n", a + ".u": "one\n", "newstate": "new\n", "state": "old\n"},
			map[string]string{a + ".s": "ONE\n"}, "new\n"},
		{"no processor keeps .u, as runit", "",
			map[string]string{a + ".u": "one\n"},
			map[string]string{a + ".u": "one\n"}, ""},
		{"unclean current is processed", "!tr a-z A-Z\n",
			map[string]string{"current": "half\n"},
			nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			mkdir(t, dir, tc.config)
			for n, c := range tc.before {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0644)
			}
			if _, code := runOnce(t, vigilImpl(), "/", "", dir); code != 0 {
				t.Fatalf("exit %d", code)
			}
			got := map[string]string{}
			for _, n := range oldFiles(dir) {
				got[n] = readFile(filepath.Join(dir, n))
			}
			if tc.after == nil { // the name is a fresh stamp
				if len(got) != 1 {
					t.Fatalf("files %q; want one", got)
				}
				for n, c := range got {
					if !strings.HasSuffix(n, ".s") || c != "HALF\n" {
						t.Errorf("%s holds %q; want a .s holding %q", n, c, "HALF\n")
					}
				}
				return
			}
			if len(got) != len(tc.after) {
				t.Errorf("files %q; want %q", got, tc.after)
			}
			for n, want := range tc.after {
				if got[n] != want {
					t.Errorf("%s holds %q; want %q", n, got[n], want)
				}
			}
			if tc.state != "" {
				if got := readFile(filepath.Join(dir, "state")); got != tc.state {
					t.Errorf("state %q; want %q", got, tc.state)
				}
			}
		})
	}
}

// TestSymlinkedCurrent: a current that is a symbolic link is refused with
// a message naming it, and its target is neither written nor chmod'ed
// (runit appends to the target and makes it 0644, then 0744).
func TestSymlinkedCurrent(t *testing.T) {
	tmp := t.TempDir()
	target := filepath.Join(tmp, "elsewhere")
	os.WriteFile(target, []byte("keep\n"), 0600)
	bad := filepath.Join(tmp, "bad")
	good := filepath.Join(tmp, "good")
	mkdir(t, bad, "")
	mkdir(t, good, "")
	if err := os.Symlink(target, filepath.Join(bad, "current")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		dirs     []string
		wantCode int
	}{
		{"the only directory", []string{bad}, 111},
		{"beside a good one", []string{bad, good}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stderr, code := runOnce(t, vigilImpl(), "/", "a line\n", tc.dirs...)
			if code != tc.wantCode {
				t.Errorf("exit %d; want %d", code, tc.wantCode)
			}
			want := "svlogd: warning: unable to open current: " + bad + "/current: current is a symlink, which svlogd does not follow\n"
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr %q; want it to contain %q", stderr, want)
			}
			st, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(target); got != "keep\n" || st.Mode().Perm() != 0600 {
				t.Errorf("target holds %q mode %v; want %q mode 0600", got, st.Mode().Perm(), "keep\n")
			}
			if len(tc.dirs) == 2 {
				if got := readFile(filepath.Join(good, "current")); got != "a line\n" {
					t.Errorf("good/current %q; want %q", got, "a line\n")
				}
			}
		})
	}
}

var seqRE = regexp.MustCompile(`(?m)^seq=([0-9]+) `)

// killLoss streams numbered lines of 40 bytes into svlogd, KILLs it once
// current has some, and returns how many lines (and their bytes) are
// neither in the log directory nor still in the pipe.
func killLoss(t *testing.T, im impl, dir string, after int64, args ...string) (lost, lostBytes int) {
	mkdir(t, dir, "s0\n")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, kill := startGroup(t, im, r, append(args, dir)...)
	var written atomic.Int64
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		var block []byte
		for n := int64(0); !stop.Load(); {
			block = block[:0]
			for len(block) < 4096-40 { // whole lines, one atomic pipe write
				block = append(block, "seq="...)
				block = append(block, strconv.FormatInt(1e9+n, 10)...)
				block = append(block, " padding to forty bytes..\n"...)
				n++
			}
			if _, err := w.Write(block); err != nil {
				return
			}
			written.Store(n)
		}
	}()
	testenv.WaitFor(t, wait, "lines in current", func() bool {
		st, err := os.Stat(filepath.Join(dir, "current"))
		return err == nil && st.Size() > after
	})
	kill()
	stop.Store(true)
	var rest []byte
	buf := make([]byte, 1<<16)
	for {
		r.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := r.Read(buf)
		rest = append(rest, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			select {
			case <-done:
			default:
				continue // the writer is still blocked on a full pipe
			}
			break
		}
		if errors.Is(err, io.EOF) {
			break // the writer is done and the pipe empty
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	<-done
	seen := map[int64]bool{}
	for _, m := range seqRE.FindAllStringSubmatch(allLogged(dir)+string(rest), -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		seen[v-1e9] = true
	}
	for i := int64(0); i < written.Load(); i++ {
		if !seen[i] {
			lost++
		}
	}
	return lost, lost * 40
}

// TestKillLosesAtMostOneBuffer: a KILL in mid-stream loses no more than
// the -b buffer of input svlogd had read and not written (plus the line
// it had begun), with the default buffer and a large one.
func TestKillLosesAtMostOneBuffer(t *testing.T) {
	for _, buflen := range []int{1024, 65536} {
		for i, after := range []int64{1, 50000, 200000} {
			dir := filepath.Join(t.TempDir(), "log")
			lost, bytes := killLoss(t, vigilImpl(), dir, after, "-b", strconv.Itoa(buflen))
			t.Logf("-b %d, trial %d: %d lines lost (%d bytes)", buflen, i, lost, bytes)
			// The lost bytes are those read and not written, and the
			// rest of a line begun in them, which is still in the pipe.
			if bytes > buflen+39 {
				t.Errorf("-b %d: a KILL lost %d lines, %d bytes; want at most %d bytes", buflen, lost, bytes, buflen+39)
			}
		}
	}
}

// TestHUPWhileResuming: a HUP while the processor works through leftovers
// neither restarts the one running nor queues it twice.
func TestHUPWhileResuming(t *testing.T) {
	const a, b = "@400000006b00000000000001", "@400000006b00000000000002"
	dir := filepath.Join(t.TempDir(), "log")
	mkdir(t, dir, "!while ! test -e release; do sleep 0.02; done; tr a-z A-Z; echo x >>runs\n")
	os.WriteFile(filepath.Join(dir, a+".u"), []byte("one\n"), 0644)
	os.WriteFile(filepath.Join(dir, b+".u"), []byte("two\n"), 0644)
	p := start(t, vigilImpl(), "/", dir)
	testenv.WaitFor(t, wait, "the processor on the first leftover", func() bool {
		_, err := os.Stat(filepath.Join(dir, a+".t"))
		return err == nil
	})
	p.signal(syscall.SIGHUP)
	p.write("a line\n")
	testenv.WaitFor(t, wait, "the line after the HUP", func() bool {
		return readFile(filepath.Join(dir, "current")) == "a line\n"
	})
	os.WriteFile(filepath.Join(dir, "release"), nil, 0644)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr)
	}
	if got, want := readFile(filepath.Join(dir, a+".s"))+readFile(filepath.Join(dir, b+".s")), "ONE\nTWO\n"; got != want {
		t.Errorf("processed %q; want %q (files %q)", got, want, oldFiles(dir))
	}
	if got, want := readFile(filepath.Join(dir, "runs")), "x\nx\n"; got != want {
		t.Errorf("processor runs %q; want %q", got, want)
	}
	if u := withSuffix(dir, 'u'); len(u) != 0 {
		t.Errorf("left over: %q", u)
	}
}
