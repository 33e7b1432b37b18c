package svlogd

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-init/vigil/internal/errstr"
	"golang.org/x/sys/unix"
)

// termLinger bounds how long svlogd, told to stop in the middle of a line,
// keeps reading for the rest of it.
const termLinger = time.Second

// logger is one svlogd process: its options, directories and the line
// being read.
type logger struct {
	opt     options
	stderr  io.Writer
	errFile *os.File // the processors' stderr
	dirs    []*logdir

	wakeR, wakeW    int
	term, hup, alrm atomic.Bool

	clock   clock
	readAt  time.Time // when the bytes being fed were read
	stamper stamper
	stamp   []byte // the line's timestamp and its space

	inLine   bool   // the line has begun
	overflow bool   // the line is longer than -l; the rest streams to the files
	line     []byte // its first -l bytes, replaced as -r/-R say
	repl     *[256]byte
	hist     []byte // runit's line buffer as earlier lines left it, when a pattern needs it
	scratch  []byte
}

func run(opt options, stdin io.Reader, stdout, stderr io.Writer) int {
	l := &logger{opt: opt, stderr: stderr, errFile: os.Stderr, stamper: stamper{kind: opt.stamp}}
	if f, ok := stderr.(*os.File); ok {
		l.errFile = f
	}
	if opt.repl != 0 {
		var t [256]byte
		for c := range t {
			t[c] = byte(c)
			if c < 32 || c > 126 {
				t[c] = opt.repl
			}
		}
		for i := 0; i < len(opt.replace); i++ {
			t[opt.replace[i]] = opt.repl
		}
		l.repl = &t
	}

	infd, closeIn := inputFd(stdin)
	defer closeIn()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		io.WriteString(stderr, "svlogd: fatal: unable to create pipe: "+errstr.Of(err)+"\n")
		return 111
	}
	l.wakeR, l.wakeW = p[0], p[1]
	defer unix.Close(l.wakeR)
	defer unix.Close(l.wakeW)

	// SIGPIPE is caught so that a gone reader of stderr or stdout is an
	// EPIPE, not the Go runtime's exit.
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, syscall.SIGHUP, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGPIPE)
	defer func() { signal.Stop(sigc); close(sigc) }()
	go func() {
		for s := range sigc {
			switch s {
			case syscall.SIGHUP:
				l.hup.Store(true)
			case syscall.SIGALRM:
				l.alrm.Store(true)
			case syscall.SIGTERM:
				l.term.Store(true)
			default:
				continue
			}
			l.wakeup()
		}
	}()

	for _, name := range opt.dirs {
		d := &logdir{name: name, fddir: -1, fdcur: -1, fdlock: -1, outfd: -1, udpfd: -1, procCh: make(chan int, 1)}
		if name == "-" {
			d.stdout = true
			if f, ok := stdout.(*os.File); ok {
				d.outfd = fdOf(f)
			} else {
				d.out = stdout
			}
		}
		l.dirs = append(l.dirs, d)
	}
	if !l.reopen() {
		return 111
	}

	// Input is read -b bytes at a time (runit's buffer), and everything
	// read is written before the next read: a KILL loses at most one
	// buffer of input, the bytes read and the start of a line not yet
	// ended together.
	buf := make([]byte, opt.buflen)
	fds := []unix.PollFd{{Fd: int32(infd), Events: unix.POLLIN}, {Fd: int32(l.wakeR), Events: unix.POLLIN}}
	var termAt time.Time
	more := false // the last read filled the buffer: read again before polling
	reads := 0
	for {
		for _, d := range l.dirs {
			l.flush(d)
		}
		now := l.clock.now()
		for _, d := range l.dirs {
			l.pollProcessor(d, now)
		}
		if l.alrm.Swap(false) {
			l.info("sigalarm received.")
			for _, d := range l.dirs {
				l.rotate(d)
			}
		}
		if termAt.IsZero() && l.term.Load() {
			l.info("sigterm received.")
			termAt = now.Add(termLinger)
		}
		if !termAt.IsZero() && (!l.inLine || !now.Before(termAt)) {
			break
		}
		if l.hup.Swap(false) {
			l.info("sighangup received.")
			if !l.reopen() {
				return 111
			}
		}
		now = l.clock.now()
		deadline := now.Add(2744 * time.Second)
		for _, d := range l.dirs {
			if d.tmax != 0 && d.isOpen() {
				if d.trotate.Before(now) {
					l.rotate(d)
				}
				if d.trotate.Before(deadline) {
					deadline = d.trotate
				}
			}
			if !d.restartAt.IsZero() && d.restartAt.Before(deadline) {
				deadline = d.restartAt
			}
		}
		if !termAt.IsZero() && termAt.Before(deadline) {
			deadline = termAt
		}
		if !more {
			timeout := int((deadline.Sub(l.clock.now()) + time.Millisecond - 1) / time.Millisecond)
			fds[0].Revents, fds[1].Revents = 0, 0
			if _, err := unix.Poll(fds, max(timeout, 0)); err != nil && err != unix.EINTR {
				l.warn("unable to poll standard input", "", err)
				break
			}
			if fds[1].Revents != 0 {
				var junk [64]byte
				for {
					if n, _ := unix.Read(l.wakeR, junk[:]); n <= 0 {
						break
					}
				}
			}
			if fds[0].Revents == 0 {
				continue
			}
		}
		// After a wait, and every 256 reads of a stream that never
		// pauses, make sure current is still in place before writing.
		if reads++; !more || reads%256 == 0 {
			for _, d := range l.dirs {
				d.checked = false
			}
		}
		size := len(buf) - l.held()
		if !termAt.IsZero() {
			size = 1 // read no further than the end of the line
		}
		n, err := unix.Read(infd, buf[:size])
		more = n == size && size > 1
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			l.warn("unable to read standard input", "", err)
			break
		}
		if n <= 0 {
			break
		}
		l.readAt = l.clock.now()
		l.feed(buf[:n])
	}
	// runit drops a last line without a newline; vigil keeps it.
	l.finishLine()
	for _, d := range l.dirs {
		l.flush(d)
	}
	for _, d := range l.dirs {
		l.waitProcessor(d)
		l.close(d)
	}
	return 0
}

// reopen is runit's logdirs_reopen: close and open every directory; false
// (after the fatal message) when none works.
func (l *logger) reopen() bool {
	now := time.Now()
	ok := false
	var first *logdir
	for _, d := range l.dirs {
		l.close(d)
		if d.stdout {
			continue
		}
		if l.open(d, now) {
			ok = true
			if first == nil {
				first = d
			}
		}
	}
	for _, d := range l.dirs {
		if d.stdout && !d.dead {
			d.config = config{}
			if first != nil {
				d.prefix = first.prefix
				for _, in := range first.inst {
					if in.op == '+' || in.op == '-' {
						d.inst = append(d.inst, in)
					}
				}
			}
			ok = true
		}
	}
	if !ok {
		io.WriteString(l.stderr, "svlogd: fatal: no functional log directories.\n")
	}
	for _, d := range l.dirs {
		if d.plus && l.hist == nil {
			l.hist = make([]byte, min(l.opt.linemax, 1<<20))
		}
	}
	return ok
}

// feed processes one chunk of input.
func (l *logger) feed(b []byte) {
	lm := int(min(l.opt.linemax, 1<<40))
	for len(b) > 0 {
		if l.overflow {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				l.putSelected(b)
				return
			}
			l.putSelected(b[:i])
			l.endLine()
			b = b[i+1:]
			continue
		}
		if !l.inLine {
			l.startLine()
		}
		seg := b
		if room := lm - len(l.line); len(seg) > room {
			seg = seg[:room]
		}
		if i := bytes.IndexByte(seg, '\n'); i >= 0 {
			ln := b[:i]
			if len(l.line) > 0 || l.repl != nil {
				l.appendLine(ln)
				ln = l.line
			}
			l.dispatch(ln, false)
			l.endLine()
			b = b[i+1:]
			continue
		}
		l.appendLine(seg)
		b = b[len(seg):]
		if len(l.line) == lm {
			// runit decides on the first -l bytes; the rest of the line
			// goes to the files unchanged.
			l.dispatch(l.line, true)
			l.overflow = true
		}
	}
}

func (l *logger) startLine() {
	l.inLine = true
	if l.opt.stamp != 0 {
		l.stamp = l.stamper.next(l.stamp[:0], l.readAt)
	}
}

// held is how many bytes of input svlogd holds unwritten between reads:
// the start of a line shorter than -l, kept until its end decides where
// it goes.
func (l *logger) held() int {
	if l.inLine && !l.overflow {
		return len(l.line)
	}
	return 0
}

func (l *logger) appendLine(b []byte) {
	if l.repl == nil {
		l.line = append(l.line, b...)
		return
	}
	for _, c := range b {
		l.line = append(l.line, l.repl[c])
	}
}

// dispatch sends a line (its first -l bytes; full when it has that many)
// to stderr, UDP and the files, as each directory's config selects.
func (l *logger) dispatch(line []byte, full bool) {
	var stale byte
	if l.hist != nil {
		if len(line) < len(l.hist) {
			stale = l.hist[len(line)]
		}
		defer copy(l.hist, line)
	}
	// First every directory's selection and stderr copy, then the
	// writes: runit writes at the end of the line, so a rotation this
	// line causes is reported after the line's copies on stderr.
	for _, d := range l.dirs {
		d.sel = false
		if !d.isOpen() {
			continue
		}
		m, e := byte('+'), byte('E')
		if len(d.inst) > 0 {
			m, e = d.match(line, stale)
		}
		if e == 'e' {
			msg := l.message(d, line, full)
			l.stderr.Write(msg)
		}
		d.sel = m == '+'
	}
	for _, d := range l.dirs {
		if !d.sel {
			continue
		}
		d.sel = false
		if d.udp != nil {
			l.sendUDP(d, line, full)
		}
		if !d.udponly {
			d.sel = true
			l.put(d, l.stamp)
			l.put(d, d.prefix)
			l.put(d, line)
		}
	}
}

// message is a line as stderr and UDP get it: stamp, prefix, the line cut
// at -l with "..." then, and a newline.
func (l *logger) message(d *logdir, line []byte, full bool) []byte {
	b := append(l.scratch[:0], l.stamp...)
	b = append(b, d.prefix...)
	b = append(b, line...)
	if full {
		b = append(b, "..."...)
	}
	b = append(b, '\n')
	l.scratch = b
	return b
}

func (l *logger) sendUDP(d *logdir, line []byte, full bool) {
	if d.udpfd < 0 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			l.put(d, []byte("warning: no udp socket available: "))
			l.put(d, l.stamp)
			l.put(d, d.prefix)
			l.put(d, line)
			l.put(d, []byte{'\n'})
			l.lineEnd(d)
			return
		}
		d.udpfd = fd
	}
	msg := l.message(d, line, full)
	if err := unix.Sendto(d.udpfd, msg, 0, d.udp); err != nil {
		l.put(d, []byte("warning: failure sending through udp: "))
		l.put(d, msg)
		l.lineEnd(d)
	}
}

func (l *logger) putSelected(b []byte) {
	for _, d := range l.dirs {
		if d.sel {
			l.put(d, b)
		}
	}
}

func (l *logger) endLine() {
	for _, d := range l.dirs {
		if d.sel {
			l.put(d, []byte{'\n'})
			l.lineEnd(d)
			d.sel = false
		}
	}
	l.inLine, l.overflow = false, false
	l.line = l.line[:0]
}

// finishLine ends a line cut short by end of input or by TERM's deadline,
// adding the newline it lacks.
func (l *logger) finishLine() {
	if !l.inLine {
		return
	}
	if !l.overflow {
		l.dispatch(l.line, false)
	}
	l.endLine()
}

func (l *logger) wakeup() { unix.Write(l.wakeW, []byte{0}) }

func (l *logger) info(parts ...string) {
	if !l.opt.verbose {
		return
	}
	msg := "svlogd: info: "
	for _, p := range parts {
		msg += p
	}
	io.WriteString(l.stderr, msg+"\n")
}

// warn prints runit's "svlogd: warning: WHAT: NAME: ERR".
func (l *logger) warn(what, name string, err error) {
	msg := "svlogd: warning: " + what + ": "
	if name != "" {
		msg += name + ": "
	}
	io.WriteString(l.stderr, msg+errstr.Of(err)+"\n")
}

// warnx prints runit's "svlogd: warning: WHAT: ARG".
func (l *logger) warnx(what, arg string) {
	io.WriteString(l.stderr, "svlogd: warning: "+what+": "+arg+"\n")
}

// inputFd returns the descriptor to read stdin from; a reader that is no
// file is copied through a pipe.
func inputFd(stdin io.Reader) (int, func()) {
	if f, ok := stdin.(*os.File); ok {
		return fdOf(f), func() {}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return -1, func() {}
	}
	go func() { io.Copy(w, stdin); w.Close() }()
	return fdOf(r), func() { r.Close() }
}

// fdOf returns f's descriptor without switching it to blocking mode, as
// (*os.File).Fd would.
func fdOf(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}
