package svlogd

import (
	"errors"
	"io"
	"os"
	"slices"
	"time"

	"github.com/vigil-init/vigil/internal/errstr"
	"golang.org/x/sys/unix"
)

// logdir is one log directory of the command line, or standard output when
// it was given as "-".
type logdir struct {
	name string
	config

	// stdout is the "-" directory: standard output instead of files, with
	// the selection (+ -) and prefix (p) of the first log directory that
	// opened, and the same timestamps; it never rotates.
	stdout bool
	outfd  int       // standard output's fd, or -1 to use out
	out    io.Writer // standard output when it is no *os.File
	dead   bool      // standard output's reader is gone

	fddir, fdcur, fdlock int  // -1 when closed
	lost                 bool // the directory was removed and is not back yet
	size                 uint64
	trotate              time.Time
	pend                 []byte // written to current as far as size counts, not yet to the kernel
	sel                  bool   // the line being read goes to this dir's files
	checked              bool   // current was found in place since svlogd last waited for input

	proc      *os.Process
	procCh    chan int  // the processor's exit code, -1 when killed
	fnsave    string    // the @….u being processed
	backlog   []string  // @….u files an earlier run left unprocessed, oldest first
	restartAt time.Time // when to restart a failed processor
	failures  int

	udpfd int
}

func (d *logdir) isOpen() bool {
	if d.stdout {
		return !d.dead
	}
	return d.fddir >= 0 || d.lost
}

// flushAt bounds a directory's pending bytes; above it they are written at
// once instead of at the end of the chunk.
const flushAt = 256 << 10

// put appends b to the dir's current file as runit's buffer_pwrite would
// write it: rotating first when current is full, and cutting the write at
// the size limit, so that a line may continue in the next file.
func (l *logger) put(d *logdir, b []byte) {
	if d.sizemax == 0 {
		d.pend = append(d.pend, b...)
		d.size += uint64(len(b))
	}
	for d.sizemax != 0 && len(b) > 0 {
		if d.size >= d.sizemax {
			l.rotate(d)
			if d.size >= d.sizemax { // could not rotate: keep the bytes anyway
				d.pend = append(d.pend, b...)
				d.size += uint64(len(b))
				break
			}
		}
		n := uint64(len(b))
		if room := d.sizemax - d.size; n > room {
			n = room
		}
		d.pend = append(d.pend, b[:n]...)
		d.size += n
		b = b[n:]
	}
	if len(d.pend) >= flushAt {
		l.flush(d)
	}
}

// lineEnd is runit's check after a write that ends in a newline: rotate
// when fewer than len bytes are left (never when s < len, as runit's
// unsigned subtraction wraps).
func (l *logger) lineEnd(d *logdir) {
	if d.sizemax != 0 && d.size >= d.sizemax-l.opt.linemax {
		l.rotate(d)
	}
}

// flush writes the dir's pending bytes, retrying until they are written: a
// line is never dropped, and while svlogd waits the pipe holds the writer
// back.
func (l *logger) flush(d *logdir) {
	if len(d.pend) == 0 {
		return
	}
	if d.stdout {
		l.flushStdout(d)
		d.pend = d.pend[:0]
		return
	}
	if !d.isOpen() {
		d.pend = d.pend[:0]
		return
	}
	b := d.pend
	l.retry("unable to write to current", d.name, func() error {
		if err := l.ensureCurrent(d, len(b)); err != nil {
			return err
		}
		for len(b) > 0 {
			n, err := unix.Write(d.fdcur, b)
			if n > 0 {
				b = b[n:]
			}
			switch {
			case err == nil, err == unix.EINTR, err == unix.EAGAIN:
			case err == unix.ENOSPC && d.nmin < d.nmax && l.deleteOldest(d):
			default:
				return err
			}
		}
		return nil
	})
	d.pend = d.pend[:0]
}

// ensureCurrent makes sure current is still a file in the log directory.
// runit writes on into a removed current (or directory), where nobody will
// ever read the lines; vigil opens a new current, and recreates the
// directory if it went too.
func (l *logger) ensureCurrent(d *logdir, pending int) error {
	if d.fdcur >= 0 && d.checked {
		return nil
	}
	d.checked = true
	if d.fdcur >= 0 {
		var st unix.Stat_t
		if unix.Fstat(d.fdcur, &st) != nil || st.Nlink > 0 {
			return nil
		}
		unix.Close(d.fdcur)
		d.fdcur = -1
		l.warnx("current was removed, opening a new one", d.name)
	}
	var st unix.Stat_t
	if d.lost || unix.Fstat(d.fddir, &st) == nil && st.Nlink == 0 {
		if !d.lost {
			unix.Close(d.fddir)
			unix.Close(d.fdlock)
			d.fddir, d.fdlock, d.lost = -1, -1, true
		}
		fd, lock, err := openDir(d.name)
		if err != nil {
			return err // the lines wait until the directory is back
		}
		d.fddir, d.fdlock, d.lost = fd, lock, false
	}
	fd, err := openCurrent(d.fddir)
	if err != nil {
		return err
	}
	unix.Fchmod(fd, 0644)
	d.fdcur = fd
	d.size = uint64(pending)
	return nil
}

// errCurrentSymlink is why svlogd refuses a current that is a symbolic
// link: runit appends to wherever it points and chmods the target.
var errCurrentSymlink = errors.New("current is a symlink, which svlogd does not follow")

// openCurrent opens (or creates) current for appending, never through a
// symbolic link.
func openCurrent(dirfd int) (int, error) {
	fd, err := unix.Openat(dirfd, "current", unix.O_WRONLY|unix.O_NONBLOCK|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0600)
	if err == unix.ELOOP {
		err = errCurrentSymlink
	}
	return fd, err
}

func (l *logger) flushStdout(d *logdir) {
	if d.dead {
		return
	}
	b := d.pend
	if d.outfd < 0 {
		if _, err := d.out.Write(b); err != nil {
			l.warn("unable to write to standard output", "", err)
			d.dead = true
		}
		return
	}
	l.retry("unable to write to standard output", "", func() error {
		for len(b) > 0 {
			n, err := unix.Write(d.outfd, b)
			if n > 0 {
				b = b[n:]
			}
			switch err {
			case nil, unix.EINTR:
			case unix.EAGAIN:
				unix.Poll([]unix.PollFd{{Fd: int32(d.outfd), Events: unix.POLLOUT}}, 1000)
			case unix.EPIPE, unix.EBADF:
				// Nobody will ever read these lines; the files still get them.
				l.warn("unable to write to standard output", "", err)
				d.dead = true
				return nil
			default:
				return err
			}
		}
		return nil
	})
}

// retry runs f until it succeeds, pausing between tries. Each distinct
// failure is reported once, in runit's "pausing" form.
func (l *logger) retry(what, name string, f func() error) {
	delay := 10 * time.Millisecond
	reported := ""
	for {
		err := f()
		if err == nil {
			return
		}
		msg := "svlogd: pausing: " + what + ": "
		if name != "" {
			msg += name + ": "
		}
		msg += errstr.Of(err) + "\n"
		if msg != reported {
			io.WriteString(l.stderr, msg)
			reported = msg
		}
		time.Sleep(delay)
		if delay *= 2; delay > time.Second {
			delay = time.Second
		}
	}
}

// openDir opens a log directory and takes its lock. A missing directory is
// created.
func openDir(name string) (fd, lock int, err error) {
	fd, err = unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		if os.MkdirAll(name, 0755) == nil {
			fd, err = unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return -1, -1, &stepError{"unable to open log directory", err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		if err == nil {
			err = unix.ENOTDIR
		}
		return -1, -1, &stepError{"unable to change directory", err}
	}
	lock, err = unix.Openat(fd, "lock", unix.O_WRONLY|unix.O_NONBLOCK|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC, 0600)
	if err == nil {
		if err = unix.Flock(lock, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(lock)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, -1, &stepError{"unable to lock directory", err}
	}
	return fd, lock, nil
}

// stepError names the step that failed, as runit's warnings do.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + errstr.Of(e.err) }
func (e *stepError) Unwrap() error { return e.err }

// open is runit's logdir_open: lock, read config, recover or open current.
func (l *logger) open(d *logdir, now time.Time) bool {
	fd, lock, err := openDir(d.name)
	if err != nil {
		var se *stepError
		errors.As(err, &se)
		l.warn(se.step, d.name, se.err)
		return false
	}
	d.fddir, d.fdlock, d.size = fd, lock, 0
	d.config = defaultConfig()
	data, err := readAt(fd, "config")
	switch {
	case err == unix.ENOENT:
	case err != nil:
		// runit then parses whatever the previous config left in its
		// buffer; vigil uses the defaults.
		l.warn("unable to read config", d.name, err)
	default:
		l.info("read: ", d.name, "/config")
		d.config = parseConfig(data, l.warnx)
	}
	if d.tmax != 0 {
		d.trotate = now.Add(time.Duration(d.tmax) * time.Second)
	}

	var st unix.Stat_t
	isNew := true
	err = unix.Fstatat(fd, "current", &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK:
		l.close(d)
		l.warnx("unable to open current", d.name+"/current: "+errCurrentSymlink.Error())
		return false
	case err == nil && st.Size > 0 && st.Mode&unix.S_IXUSR == 0:
		// current was not closed cleanly: keep it as an unprocessed .u.
		// (fnsave names it only while rmoldest looks, which spares it.)
		saved := d.fnsave
		d.fnsave = l.newName(d, 'u')
		l.retry("unable to rename current", d.name, func() error {
			return unix.Renameat(fd, "current", fd, d.fnsave)
		})
		l.rmoldest(d)
		d.fnsave = saved
	case err == nil:
		d.size = uint64(st.Size)
		isNew = false
	case err != unix.ENOENT:
		l.close(d)
		l.warn("unable to stat current", d.name, err)
		return false
	}
	refused := false
	l.retry("unable to open current", d.name, func() error {
		d.fdcur, err = openCurrent(fd)
		refused = err == errCurrentSymlink // made after the look above
		if refused {
			return nil
		}
		return err
	})
	if refused {
		d.fdcur = -1
		l.close(d)
		l.warnx("unable to open current", d.name+"/current: "+errCurrentSymlink.Error())
		return false
	}
	l.retry("unable to set mode of current", d.name, func() error { return unix.Fchmod(d.fdcur, 0644) })
	if isNew {
		l.info("new: ", d.name, "/current")
	} else {
		l.info("append: ", d.name, "/current")
	}
	l.resumeProcessing(d)
	return true
}

// resumeProcessing picks up what an earlier svlogd, killed or crashed,
// left for the processor. runit documents @….u as "not yet processed" but
// never looks at one again after a restart, so its lines never reach the
// processor; vigil runs the processor on each, oldest first, one at a
// time, in the background. Partial outputs (@….t) are deleted, and a run
// that had already succeeded (its @….s is there) is only completed: the
// .u goes and newstate becomes state. Without a processor the files are
// kept as runit keeps them.
func (l *logger) resumeProcessing(d *logdir) {
	d.backlog = d.backlog[:0]
	if d.processor == "" {
		return
	}
	names := l.listOld(d)
	done := make(map[string]bool)
	for _, name := range names {
		if name[26] == 's' {
			done[name[:26]] = true
		}
	}
	for _, name := range names {
		if d.pending(name) {
			continue // a HUP reopened the dir while this one is processed
		}
		switch name[26] {
		case 't':
			if err := unix.Unlinkat(d.fddir, name, 0); err != nil && err != unix.ENOENT {
				l.warn("unable to unlink processor leftover", d.name+"/"+name, err)
			}
		case 'u':
			if !done[name[:26]] {
				d.backlog = append(d.backlog, name)
				continue
			}
			if err := unix.Unlinkat(d.fddir, name, 0); err != nil {
				l.warn("unable to unlink processed", d.name+"/"+name, err)
			}
			if err := unix.Renameat(d.fddir, "newstate", d.fddir, "state"); err != nil && err != unix.ENOENT {
				l.warn("unable to rename state", d.name, err)
			}
			l.info("processed: ", d.name, "/", name[:26]+"s")
		}
	}
	l.nextBacklog(d)
}

// nextBacklog starts the processor on the oldest leftover when none runs.
func (l *logger) nextBacklog(d *logdir) {
	if d.proc != nil || d.fnsave != "" || len(d.backlog) == 0 {
		return
	}
	d.fnsave = d.backlog[0]
	d.backlog = d.backlog[1:]
	l.processorStart(d)
}

func readAt(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	b, err := io.ReadAll(f)
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return b, err
}

// close is runit's logdir_close: flush, fsync, mark current complete (0744)
// and drop the lock.
func (l *logger) close(d *logdir) {
	if d.stdout {
		l.flush(d)
		return
	}
	if d.lost {
		l.flush(d)
	}
	if d.fddir < 0 {
		return
	}
	l.info("close: ", d.name)
	if d.fdcur >= 0 {
		l.flush(d)
		l.retry("unable to fsync current logfile", d.name, func() error { return eintr(unix.Fsync(d.fdcur)) })
		l.retry("unable to set mode of current", d.name, func() error { return unix.Fchmod(d.fdcur, 0744) })
		unix.Close(d.fdcur)
		d.fdcur = -1
	}
	unix.Close(d.fdlock)
	unix.Close(d.fddir)
	d.fddir, d.fdlock = -1, -1
	if d.udpfd >= 0 {
		unix.Close(d.udpfd)
		d.udpfd = -1
	}
}

func eintr(err error) error {
	if err == unix.EINTR {
		return nil
	}
	return err
}

// newName returns a rotated file name that does not exist yet.
func (l *logger) newName(d *logdir, suffix byte) string {
	for {
		name := fileName(time.Now(), suffix)
		var st unix.Stat_t
		if unix.Fstatat(d.fddir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
			return name
		}
	}
}

// rotate is runit's rotate: wait for the processor, rename a non-empty
// current to @….s (or .u for the processor), open a new one, remove the
// oldest file beyond n, start the processor.
func (l *logger) rotate(d *logdir) {
	if d.stdout || d.fddir < 0 {
		d.tmax = 0
		return
	}
	l.waitProcessor(d)
	suffix := byte('s')
	if d.processor != "" {
		suffix = 'u'
	}
	name := l.newName(d, suffix)
	now := time.Now()
	if d.tmax != 0 && d.trotate.Before(now) {
		d.trotate = now.Add(time.Duration(d.tmax) * time.Second)
	}
	if d.size == 0 {
		return
	}
	l.flush(d)
	l.retry("unable to fsync current logfile", d.name, func() error { return eintr(unix.Fsync(d.fdcur)) })
	l.retry("unable to set mode of current", d.name, func() error { return unix.Fchmod(d.fdcur, 0744) })
	unix.Close(d.fdcur)
	d.fdcur = -1
	l.info("rename: ", d.name, "/current ", name, " ", utoa(d.size))
	l.retry("unable to rename current", d.name, func() error {
		return unix.Renameat(d.fddir, "current", d.fddir, name)
	})
	l.retry("unable to create new current", d.name, func() error {
		var err error
		d.fdcur, err = openCurrent(d.fddir)
		return err
	})
	d.size = 0
	l.retry("unable to set mode of current", d.name, func() error { return unix.Fchmod(d.fdcur, 0644) })
	if suffix == 'u' {
		d.fnsave = name
	}
	l.rmoldest(d)
	l.processorStart(d)
}

// listOld returns the names of the rotated files (@ and 27 bytes).
func (l *logger) listOld(d *logdir) []string {
	var names []string
	l.retry("unable to open directory, want rotate", d.name, func() error {
		fd, err := unix.Openat(d.fddir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), d.name)
		all, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			l.warn("unable to read directory", d.name, err)
		}
		names = names[:0]
		for _, n := range all {
			if len(n) == 27 && n[0] == '@' {
				names = append(names, n)
			}
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// pending reports whether name is the input or output of the processor.
func (d *logdir) pending(name string) bool {
	return d.fnsave != "" && name[:26] == d.fnsave[:26]
}

// rmoldest is runit's rmoldest as Debian's svlogd runs it: delete
// processor leftovers (.t), and the single oldest of the other rotated
// files when there are more than n. A .u file still waits for its
// processor: it is neither counted nor deleted, so no unprocessed log is
// lost to the limit.
func (l *logger) rmoldest(d *logdir) {
	n := 0
	oldest := ""
	for _, name := range l.listOld(d) {
		if name[26] == 't' {
			if !d.pending(name) || d.proc == nil {
				if err := unix.Unlinkat(d.fddir, name, 0); err != nil {
					l.warn("unable to unlink processor leftover", name, err)
				}
			}
			continue
		}
		if name[26] == 'u' {
			continue
		}
		n++
		if oldest == "" && !d.pending(name) {
			oldest = name
		}
	}
	if d.nmax != 0 && uint64(n) > d.nmax && oldest != "" {
		l.info("delete: ", d.name, "/", oldest)
		if err := unix.Unlinkat(d.fddir, oldest, 0); err != nil {
			l.warn("unable to unlink oldest logfile", d.name, err)
		}
	}
}

// deleteOldest makes room on a full disk when N < n: it deletes the oldest
// rotated file while more than N are left, and reports whether it did.
func (l *logger) deleteOldest(d *logdir) bool {
	var old []string
	for _, name := range l.listOld(d) {
		if !d.pending(name) {
			old = append(old, name)
		}
	}
	if uint64(len(old)) <= d.nmin || len(old) == 0 {
		return false
	}
	io.WriteString(l.stderr, "svlogd: warning: out of disk space, delete: "+d.name+"/"+old[0]+"\n")
	if err := unix.Unlinkat(d.fddir, old[0], 0); err != nil {
		l.warn("unable to unlink oldest logfile", d.name, err)
		return false
	}
	return true
}

// processorStart runs the processor on d.fnsave: stdin the .u file, stdout
// the .t file, fd 4 state, fd 5 newstate, in the log directory.
func (l *logger) processorStart(d *logdir) {
	if d.processor == "" || d.fnsave == "" || d.fddir < 0 {
		return
	}
	if d.proc != nil {
		l.warnx("processor already running", d.name)
		return
	}
	l.info("processing: ", d.name, "/", d.fnsave)
	var files [6]*os.File
	defer func() {
		for _, f := range files {
			if f != nil && f != l.errFile {
				f.Close()
			}
		}
	}()
	open := func(i int, name string, flags int, what string) bool {
		fd, err := unix.Openat(d.fddir, name, flags|unix.O_CLOEXEC, 0644)
		if err == unix.ENOENT && name == "state" {
			if fd, err = unix.Openat(d.fddir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0644); err == nil {
				unix.Close(fd)
				fd, err = unix.Openat(d.fddir, name, flags|unix.O_CLOEXEC, 0)
			}
		}
		if err != nil {
			l.warn(what, d.name, err)
			if err == unix.ENOENT && i == 0 {
				// The input vanished; nothing is left to process.
				d.fnsave = ""
				l.nextBacklog(d)
				return false
			}
			l.scheduleRestart(d)
			return false
		}
		files[i] = os.NewFile(uintptr(fd), name)
		return true
	}
	t := d.fnsave[:26] + "t"
	if !open(0, d.fnsave, unix.O_RDONLY, "unable to open input for processor") ||
		!open(1, t, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_TRUNC|unix.O_CREAT, "unable to open output for processor") ||
		!open(4, "state", unix.O_RDONLY, "unable to open state for processor") ||
		!open(5, "newstate", unix.O_WRONLY|unix.O_NONBLOCK|unix.O_TRUNC|unix.O_CREAT, "unable to open newstate for processor") {
		return
	}
	files[2] = l.errFile
	p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", d.processor}, &os.ProcAttr{Dir: d.name, Files: files[:]})
	if err != nil {
		l.warn("unable to run processor", d.name, err)
		l.scheduleRestart(d)
		return
	}
	d.proc = p
	ch := d.procCh
	go func() {
		code := -1
		if st, err := p.Wait(); err == nil && st.Exited() {
			code = st.ExitCode()
		}
		ch <- code
		l.wakeup()
	}()
}

func (l *logger) scheduleRestart(d *logdir) {
	d.failures++
	delay := 50 * time.Millisecond << min(d.failures-1, 6)
	d.restartAt = time.Now().Add(min(delay, 3*time.Second))
}

// processorStop is runit's processorstop for an exit code: on success the
// .t file becomes the .s file, the .u file goes and newstate becomes state;
// on failure the processor runs again on the same .u file. runit counts a
// processor killed by a signal as successful and deletes its input; vigil
// counts it as failed.
func (l *logger) processorStop(d *logdir, code int) {
	d.proc = nil
	if d.fddir < 0 || d.fnsave == "" {
		return
	}
	t := d.fnsave[:26] + "t"
	if code != 0 {
		l.warnx("processor failed, restart", d.name)
		unix.Unlinkat(d.fddir, t, 0)
		l.scheduleRestart(d)
		return
	}
	d.failures = 0
	s := d.fnsave[:26] + "s"
	l.retry("unable to rename processed", d.name, func() error { return unix.Renameat(d.fddir, t, d.fddir, s) })
	l.retry("unable to set mode of processed", d.name, func() error { return unix.Fchmodat(d.fddir, s, 0744, 0) })
	if err := unix.Unlinkat(d.fddir, d.fnsave, 0); err != nil {
		io.WriteString(l.stderr, "svlogd: warning: unable to unlink: "+d.name+"/"+d.fnsave+"\n")
	}
	l.retry("unable to rename state", d.name, func() error { return unix.Renameat(d.fddir, "newstate", d.fddir, "state") })
	l.info("processed: ", d.name, "/", s)
	d.fnsave = ""
	l.nextBacklog(d)
}

// pollProcessor handles a processor that has exited, and restarts a failed
// one when its pause is over.
func (l *logger) pollProcessor(d *logdir, now time.Time) {
	if d.proc != nil {
		select {
		case code := <-d.procCh:
			l.processorStop(d, code)
		default:
		}
	}
	if d.proc == nil && !d.restartAt.IsZero() && !now.Before(d.restartAt) {
		d.restartAt = time.Time{}
		l.processorStart(d)
	}
}

// waitProcessor blocks until d's processor has finished its file, as runit
// does before a rotation and at exit; the pipe holds the writer back
// meanwhile.
func (l *logger) waitProcessor(d *logdir) {
	warned := false
	for d.proc != nil || !d.restartAt.IsZero() {
		if d.proc == nil {
			time.Sleep(time.Until(d.restartAt))
			d.restartAt = time.Time{}
			l.processorStart(d)
			continue
		}
		timer := time.NewTimer(2 * time.Second)
		select {
		case code := <-d.procCh:
			l.processorStop(d, code)
		case <-timer.C:
			if !warned {
				l.warnx("processor still running, waiting", d.name)
				warned = true
			}
		}
		timer.Stop()
	}
}
