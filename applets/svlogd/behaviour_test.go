package svlogd

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"golang.org/x/sys/unix"
)

const wait = 10 * time.Second

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// unread is how many bytes svlogd has not yet read from its pipe.
func (p *proc) unread() int {
	n, err := unix.IoctlGetInt(int(p.in.Fd()), unix.TIOCINQ) // FIONREAD
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// TestFilesModesAndAlarm: current is 0644 while written and 0744 once
// closed, lock is 0600, ALRM renames current to @….s (0744) and starts a
// new one, and end of input exits 0.
func TestFilesModesAndAlarm(t *testing.T) {
	for _, im := range []impl{vigilImpl(), runitImpl(t)} {
		t.Run(im.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			mkdir(t, dir, "")
			p := start(t, im, "/", dir)
			cur := filepath.Join(dir, "current")
			p.write("one\n")
			testenv.WaitFor(t, wait, "one in current", func() bool { return readFile(cur) == "one\n" })
			if got, want := mode(t, cur), os.FileMode(0644); got != want {
				t.Errorf("current while written: mode %v; want %v", got, want)
			}
			if got, want := mode(t, filepath.Join(dir, "lock")), os.FileMode(0600); got != want {
				t.Errorf("lock: mode %v; want %v", got, want)
			}
			p.signal(syscall.SIGALRM)
			testenv.WaitFor(t, wait, "a rotated file", func() bool { return len(oldFiles(dir)) == 1 })
			old := filepath.Join(dir, oldFiles(dir)[0])
			if got := filepath.Base(old); len(got) != 27 || !strings.HasSuffix(got, ".s") || !strings.HasPrefix(got, "@4000") {
				t.Errorf("rotated file name %q; want @4000…(24 hex).s", got)
			}
			if got, want := readFile(old), "one\n"; got != want {
				t.Errorf("rotated file holds %q; want %q", got, want)
			}
			if got, want := mode(t, old), os.FileMode(0744); got != want {
				t.Errorf("rotated file: mode %v; want %v", got, want)
			}
			p.write("two\n")
			testenv.WaitFor(t, wait, "two in current", func() bool { return readFile(cur) == "two\n" })
			if code := p.wait(); code != 0 {
				t.Errorf("exit %d; want 0", code)
			}
			if got, want := mode(t, cur), os.FileMode(0744); got != want {
				t.Errorf("current after exit: mode %v; want %v", got, want)
			}
		})
	}
}

// TestUncleanCurrentBecomesU: a non-empty current without the x bit was
// not closed cleanly; it is kept as @….u (TestLeftoversAtStart: vigil then
// runs the processor on it).
func TestUncleanCurrentBecomesU(t *testing.T) {
	for _, im := range []impl{vigilImpl(), runitImpl(t)} {
		t.Run(im.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			mkdir(t, dir, "")
			os.WriteFile(filepath.Join(dir, "current"), []byte("half\n"), 0644)
			if _, code := runOnce(t, im, "/", "new\n", dir); code != 0 {
				t.Fatalf("exit %d", code)
			}
			old := oldFiles(dir)
			if len(old) != 1 || !strings.HasSuffix(old[0], ".u") {
				t.Fatalf("rotated files %q; want one @….u", old)
			}
			if got, want := readFile(filepath.Join(dir, old[0])), "half\n"; got != want {
				t.Errorf(".u holds %q; want %q", got, want)
			}
			if got, want := readFile(filepath.Join(dir, "current")), "new\n"; got != want {
				t.Errorf("current holds %q; want %q", got, want)
			}
		})
	}
}

// TestTimeRotation is svlogd.check's t test: with t1, a line written to
// an idle logger is rotated out of current within about a second.
func TestTimeRotation(t *testing.T) {
	for _, im := range []impl{vigilImpl(), runitImpl(t)} {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "log")
			mkdir(t, dir, "t1\n")
			p := start(t, im, "/", dir)
			p.write("foo\n")
			testenv.WaitFor(t, wait, "current rotated by time", func() bool {
				old := oldFiles(dir)
				return len(old) == 1 && readFile(filepath.Join(dir, old[0])) == "foo\n" && readFile(filepath.Join(dir, "current")) == ""
			})
			p.wait()
		})
	}
}

// TestHUPRereadsConfig: after HUP the new config's prefix applies.
func TestHUPRereadsConfig(t *testing.T) {
	for _, im := range []impl{vigilImpl(), runitImpl(t)} {
		t.Run(im.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			mkdir(t, dir, "pA \n")
			p := start(t, im, "/", "-v", dir)
			cur := filepath.Join(dir, "current")
			p.write("one\n")
			testenv.WaitFor(t, wait, "one", func() bool { return readFile(cur) == "A one\n" })
			mkdir(t, dir, "pB \n")
			p.signal(syscall.SIGHUP)
			testenv.WaitFor(t, wait, "reopen", func() bool { return strings.Count(p.stderr.String(), "append: ") == 1 })
			p.write("two\n")
			testenv.WaitFor(t, wait, "two", func() bool { return readFile(cur) == "A one\nB two\n" })
			if code := p.wait(); code != 0 {
				t.Errorf("exit %d; want 0", code)
			}
		})
	}
}

// TestTermFinishesLine: TERM in the middle of a line reads on to its
// newline, no further, and exits 0; the rest stays in the pipe for the
// next logger. A line never finished is kept after a bounded wait.
func TestTermFinishesLine(t *testing.T) {
	t.Run("finished", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "log")
		mkdir(t, dir, "")
		p := start(t, vigilImpl(), "/", "-v", dir)
		p.write("first\nab")
		testenv.WaitFor(t, wait, "svlogd to read the pipe", func() bool { return p.unread() == 0 })
		p.signal(syscall.SIGTERM)
		testenv.WaitFor(t, wait, "sigterm received", func() bool { return strings.Contains(p.stderr.String(), "sigterm received.") })
		p.write("cdef\nnext\n")
		select {
		case <-p.done:
		case <-time.After(wait):
			t.Fatal("svlogd did not exit after TERM")
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit %d; want 0", code)
		}
		if got, want := readFile(filepath.Join(dir, "current")), "first\nabcdef\n"; got != want {
			t.Errorf("current %q; want %q", got, want)
		}
		if got, want := p.unread(), len("next\n"); got != want {
			t.Errorf("%d bytes left in the pipe; want %d (the next line)", got, want)
		}
	})
	t.Run("never finished", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "log")
		mkdir(t, dir, "")
		p := start(t, vigilImpl(), "/", dir)
		p.write("partial")
		testenv.WaitFor(t, wait, "svlogd to read the pipe", func() bool { return p.unread() == 0 })
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(wait):
			t.Fatal("svlogd did not exit after TERM")
		}
		if got, want := readFile(filepath.Join(dir, "current")), "partial\n"; got != want {
			t.Errorf("current %q; want %q", got, want)
		}
	})
}

// TestLastLineWithoutNewline: vigil keeps it, runit drops it.
func TestLastLineWithoutNewline(t *testing.T) {
	for _, tc := range []struct {
		im   impl
		want string
	}{{vigilImpl(), "x\ny\n"}, {runitImpl(t), "x\n"}} {
		dir := filepath.Join(t.TempDir(), "log")
		mkdir(t, dir, "")
		runOnce(t, tc.im, "/", "x\ny", dir)
		if got := readFile(filepath.Join(dir, "current")); got != tc.want {
			t.Errorf("%s: current %q; want %q", tc.im.name, got, tc.want)
		}
	}
}

// TestStdoutDash: "-" writes to standard output with the first log
// directory's selection and prefix, and the same timestamps.
func TestStdoutDash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	mkdir(t, dir, "-*debug*\npweb: \ns300\nn0\n")
	p := start(t, vigilImpl(), "/", "-tt", dir, "-")
	input := sampleInput()
	p.write(input)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
	got, want := p.stdout.String(), allLogged(dir)
	if got != want {
		t.Errorf("stdout differs from the files\nstdout:\n%s\nfiles:\n%s", got, want)
	}
	if strings.Contains(got, "debug") || !strings.Contains(got, "web: info") {
		t.Errorf("stdout lacks the selection or prefix:\n%s", got)
	}

	p = start(t, vigilImpl(), "/", "-")
	p.write("a\nb\n")
	p.wait()
	if got, want := p.stdout.String(), "a\nb\n"; got != want {
		t.Errorf("svlogd -: stdout %q; want %q", got, want)
	}
}

// TestLockedDirectory: a directory locked by another svlogd is skipped
// with runit's warning; with no other directory svlogd exits 111, else the
// others get the lines.
func TestLockedDirectory(t *testing.T) {
	tmp := t.TempDir()
	dir, other := filepath.Join(tmp, "log"), filepath.Join(tmp, "other")
	mkdir(t, dir, "")
	mkdir(t, other, "")
	holder := start(t, runitImpl(t), tmp, "log")
	holder.write("held\n")
	testenv.WaitFor(t, wait, "the first svlogd", func() bool { return readFile(filepath.Join(dir, "current")) == "held\n" })

	stderr, code := runOnce(t, vigilImpl(), tmp, "lost?\n", "log")
	want := "svlogd: warning: unable to lock directory: log: temporary failure\nsvlogd: fatal: no functional log directories.\n"
	if stderr != want || code != 111 {
		t.Errorf("got %q, exit %d; want %q, exit 111", stderr, code, want)
	}
	stderr, code = runOnce(t, vigilImpl(), tmp, "kept\n", "log", "other")
	if code != 0 || !strings.Contains(stderr, "unable to lock directory: log") {
		t.Errorf("two dirs: stderr %q, exit %d; want the warning and exit 0", stderr, code)
	}
	if got := readFile(filepath.Join(other, "current")); got != "kept\n" {
		t.Errorf("other dir: current %q; want %q", got, "kept\n")
	}
}

// TestDirectoryCreation: vigil creates a missing log directory (runit
// gives up on it); one that cannot be created is reported and skipped.
func TestDirectoryCreation(t *testing.T) {
	tmp := t.TempDir()
	if _, code := runOnce(t, vigilImpl(), tmp, "made\n", "new/log"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := readFile(filepath.Join(tmp, "new/log/current")); got != "made\n" {
		t.Errorf("created dir: current %q; want %q", got, "made\n")
	}
	os.WriteFile(filepath.Join(tmp, "file"), nil, 0644)
	stderr, code := runOnce(t, vigilImpl(), tmp, "x\n", "file/log")
	want := "svlogd: warning: unable to open log directory: file/log: not a directory\nsvlogd: fatal: no functional log directories.\n"
	if stderr != want || code != 111 {
		t.Errorf("got %q, exit %d; want %q, exit 111", stderr, code, want)
	}
}

// TestUnreadableConfig: a config that cannot be read gives runit's warning
// and the defaults.
func TestUnreadableConfig(t *testing.T) {
	for _, im := range []impl{vigilImpl(), runitImpl(t)} {
		dir := filepath.Join(t.TempDir(), "log")
		mkdir(t, filepath.Join(dir, "config"), "")
		stderr, code := runOnce(t, im, filepath.Dir(dir), "line\n", "log")
		if want := "svlogd: warning: unable to read config: log: is a directory\n"; stderr != want || code != 0 {
			t.Errorf("%s: got %q, exit %d; want %q, exit 0", im.name, stderr, code, want)
		}
		if got := readFile(filepath.Join(dir, "current")); got != "line\n" {
			t.Errorf("%s: current %q; want %q", im.name, got, "line\n")
		}
	}
}

// TestUnusableUDPTarget: a U line whose address cannot be used is reported
// and the lines still go to the directory (runit drops them all).
func TestUnusableUDPTarget(t *testing.T) {
	for _, tc := range []struct {
		im   impl
		want string
	}{{vigilImpl(), "kept\n"}, {runitImpl(t), ""}} {
		dir := filepath.Join(t.TempDir(), "log")
		mkdir(t, dir, "Ulocalhost:514\nU10.0.0.1:0\n")
		stderr, _ := runOnce(t, tc.im, "/", "kept\n", dir)
		want := "svlogd: warning: unable to scan ip address: localhost:514\nsvlogd: warning: unable to scan port number: 0\n"
		if stderr != want {
			t.Errorf("%s: stderr %q; want %q", tc.im.name, stderr, want)
		}
		if got := readFile(filepath.Join(dir, "current")); got != tc.want {
			t.Errorf("%s: current %q; want %q", tc.im.name, got, tc.want)
		}
	}
}

// lines returns n numbered lines.
func lines(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		b.WriteString("line " + itoa(i) + " of the test, some padding to make it longer\n")
	}
	return b.String()
}

// TestProcessorFails: a failing processor is reported and run again on the
// same file until it succeeds; nothing is lost.
func TestProcessorFails(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "log")
	mkdir(t, dir, "s200\nn0\n!test -e ../ok || exit 1; cat\n")
	p := start(t, vigilImpl(), "/", dir)
	input := lines(0, 10)
	p.write(input)
	testenv.WaitFor(t, wait, "the failure warning", func() bool {
		return strings.Contains(p.stderr.String(), "svlogd: warning: processor failed, restart: "+dir+"\n")
	})
	os.WriteFile(filepath.Join(tmp, "ok"), nil, 0644)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, n := range oldFiles(dir) {
		if !strings.HasSuffix(n, ".s") {
			t.Errorf("left over: %s", n)
		}
	}
	if got := allLogged(dir); got != input {
		t.Errorf("logged %q; want %q", got, input)
	}
}

// TestProcessorHangs: a rotation waits for the running processor (the pipe
// holds the writer back), says so, and goes on once it finishes.
func TestProcessorHangs(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "log")
	mkdir(t, dir, "s200\nn0\n!while ! test -e ../go; do sleep 0.02; done; cat\n")
	p := start(t, vigilImpl(), "/", dir)
	input := lines(0, 12)
	p.write(input)
	testenv.WaitFor(t, wait, "the waiting warning", func() bool {
		return strings.Contains(p.stderr.String(), "svlogd: warning: processor still running, waiting: "+dir+"\n")
	})
	os.WriteFile(filepath.Join(tmp, "go"), nil, 0644)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := allLogged(dir); got != input {
		t.Errorf("logged %q; want %q", got, input)
	}
}

// TestRemovedCurrent: lines after current (or the whole directory) was
// removed land in a new current instead of an unlinked file.
func TestRemovedCurrent(t *testing.T) {
	for _, what := range []string{"current", "directory"} {
		t.Run(what, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			mkdir(t, dir, "")
			p := start(t, vigilImpl(), "/", dir)
			cur := filepath.Join(dir, "current")
			p.write("before\n")
			testenv.WaitFor(t, wait, "before", func() bool { return readFile(cur) == "before\n" })
			if what == "current" {
				os.Remove(cur)
			} else {
				os.RemoveAll(dir)
			}
			p.write("after\n")
			testenv.WaitFor(t, wait, "after in a new current", func() bool { return readFile(cur) == "after\n" })
			p.wait()
		})
	}
}

// TestDiskFull: on a tiny tmpfs that fills up, svlogd reports the write
// error once, holds the writer back, and once space is freed every line
// arrives, in order.
func TestDiskFull(t *testing.T) {
	testenv.RequireRoot(t, "mounts a tmpfs")
	mnt := t.TempDir()
	if out, err := runCmd("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { runCmd("umount", "-l", mnt) })
	filler := filepath.Join(mnt, "filler")
	os.WriteFile(filler, make([]byte, 200<<10), 0644)
	dir := filepath.Join(mnt, "log")
	mkdir(t, dir, "s20000\nn0\n")
	p := start(t, vigilImpl(), "/", dir)
	input := lines(0, 2000) // about 110 kB: more than is free
	written := make(chan struct{})
	go func() { p.in.Write([]byte(input)); close(written) }()
	want := "svlogd: pausing: unable to write to current: " + dir + ": out of disk space\n"
	testenv.WaitFor(t, wait, "the disk-full message", func() bool { return strings.Contains(p.stderr.String(), want) })
	os.Remove(filler)
	select {
	case <-written:
	case <-time.After(wait):
		t.Fatalf("the writer is still held back; stderr:\n%s", p.stderr)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := p.stderr.String(); got != want {
		t.Errorf("stderr %q; want the message once: %q", got, want)
	}
	if got := allLogged(dir); got != input {
		t.Errorf("logged %d bytes; want all %d in order", len(got), len(input))
	}
}

// TestDiskFullDeletesOld: with N < n, a full disk deletes the oldest files
// while more than N are left, as runit does.
func TestDiskFullDeletesOld(t *testing.T) {
	testenv.RequireRoot(t, "mounts a tmpfs")
	mnt := t.TempDir()
	if out, err := runCmd("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", mnt); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { runCmd("umount", "-l", mnt) })
	dir := filepath.Join(mnt, "log")
	mkdir(t, dir, "s16000\nn100\nN2\n")
	input := lines(0, 4000)
	stderr, code := runOnce(t, vigilImpl(), "/", input, dir)
	if code != 0 || !strings.Contains(stderr, "svlogd: warning: out of disk space, delete: "+dir+"/@") {
		t.Errorf("exit %d, stderr %q; want exit 0 and the delete warning", code, stderr)
	}
	if got := allLogged(dir); !strings.HasSuffix(input, got) || len(got) < 20000 {
		t.Errorf("kept %d bytes; want the newest part of the input", len(got))
	}
}
