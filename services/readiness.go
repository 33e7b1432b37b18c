package services

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/reaper"
)

// readiness is the source that tells when one start of run is ready:
// a newline on notification-fd, READY=1 on the service's NOTIFY_SOCKET,
// or ./check passing. A restart gets a fresh one.
type readiness struct {
	s *service
	// notification-fd: the engine's end, a raw non-blocking fd (-1 for
	// none: an *os.File would make it blocking again at each Fd()), and
	// run's end until it is started.
	pipeR int
	pipeW *os.File
	buf   []byte

	check      *os.Process
	checkTimer *time.Timer
	checkKill  *time.Timer
	delay      time.Duration
	done       bool
}

// The engine polls ./check after a start every 20 ms at first, doubling
// up to a second, then to a tenth of the time run has been waiting (so
// readiness is seen within 10% of the start-up time), at most every 30 s;
// it kills a check that runs longer than checkHang.
const (
	checkFirst   = 20 * time.Millisecond
	checkMax     = time.Second
	checkSlowest = 30 * time.Second
	checkHang    = 10 * time.Second
)

// prepareReadiness makes what run needs before it starts: the pipe of
// notification-fd, the socket of notification-socket. Nil for a service
// that is ready as soon as it runs.
func (s *service) prepareReadiness() *readiness {
	switch s.pol.readySource() {
	case "fd":
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			s.e.warnf(s.name, "unable to create the notification-fd pipe: %s", errstr.Of(err))
			return nil
		}
		unix.SetNonblock(p[0], true)
		return &readiness{s: s, pipeR: p[0], pipeW: os.NewFile(uintptr(p[1]), "notification-fd")}
	case "socket":
		if s.sock == nil {
			sock, err := openNotifySocket(s.main.sup.Path)
			if err != nil {
				s.e.warnf(s.name, "%s", errstr.Describe(err))
				return nil
			}
			s.sock = sock
			s.e.handlers[sock.fd] = s.notified
			s.e.poll(sock.fd)
		}
		s.sock.receive() // what an earlier start said is not about this one
		return &readiness{s: s, pipeR: -1}
	case "check":
		return &readiness{s: s, pipeR: -1}
	}
	return nil
}

// attach hands run its end of the source.
func (rd *readiness) attach(attr *os.ProcAttr) {
	if rd == nil {
		return
	}
	s := rd.s
	if rd.pipeW != nil {
		n := s.pol.notifyFD
		files := make([]*os.File, n+1)
		copy(files, attr.Files)
		files[n] = rd.pipeW
		attr.Files = files
	}
	if s.sock != nil && s.pol.readySource() == "socket" {
		// vigil's own NOTIFY_SOCKET (podman --sdnotify, a vigil under
		// systemd) is its manager's, not the service's.
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") })
		attr.Env = append(env, "NOTIFY_SOCKET="+s.sock.addr)
	}
}

// started closes the engine's copy of run's end, once run has it.
func (rd *readiness) started() {
	if rd != nil && rd.pipeW != nil {
		rd.pipeW.Close()
		rd.pipeW = nil
	}
}

// abandon gives up a source whose run never started.
func (rd *readiness) abandon() {
	if rd != nil && rd.pipeR >= 0 {
		unix.Close(rd.pipeR)
		rd.pipeR = -1
	}
}

// watchReadiness starts listening to rd for the run just started; false
// means there is nothing to wait for: run is ready now.
func (s *service) watchReadiness(rd *readiness) bool {
	if rd == nil {
		return false
	}
	s.rd = rd
	switch {
	case rd.pipeR >= 0:
		fd := rd.pipeR
		s.e.handlers[fd] = rd.readFD
		if err := s.e.poll(fd); err != nil {
			s.e.warnf(s.name, "%s", err)
		}
	case s.pol.readySource() == "check":
		rd.delay = checkFirst
		rd.scheduleCheck()
	}
	return true
}

// readFD reads notification-fd: the first newline is readiness, end of
// file before one means the service will never say it (said once).
func (rd *readiness) readFD() {
	s := rd.s
	var b [512]byte
	for rd.pipeR >= 0 {
		n, err := unix.Read(rd.pipeR, b[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if n <= 0 {
			if !s.noted["no newline"] {
				s.note("no newline")
				s.e.warnf(s.name, "notification-fd %d closed before a newline: up, but never ready", s.pol.notifyFD)
			}
			rd.closeFD()
			return
		}
		if bytes.IndexByte(b[:n], '\n') >= 0 {
			rd.closeFD()
			if s.rd == rd {
				s.transition(evReady, reaper.Exit{})
			}
			return
		}
	}
}

func (rd *readiness) closeFD() {
	if rd.pipeR < 0 {
		return
	}
	fd := rd.pipeR
	rd.s.e.unpoll(fd)
	delete(rd.s.e.handlers, fd)
	unix.Close(fd)
	rd.pipeR = -1
}

// notified serves the service's NOTIFY_SOCKET.
func (s *service) notified() {
	m, ok := s.sock.receive()
	if !ok {
		return
	}
	if m.hasState {
		s.notifyStatus = m.status
	}
	if m.ready && s.rd != nil && s.phase == phRunning {
		s.transition(evReady, reaper.Exit{})
	}
}

func (rd *readiness) scheduleCheck() {
	s := rd.s
	rd.checkTimer = time.AfterFunc(rd.delay, func() {
		s.e.post(func() {
			rd.checkTimer = nil
			if s.rd == rd && !rd.done {
				rd.runCheck()
			}
		})
	})
	waited := s.e.now().Sub(s.main.st.Since)
	rd.delay = min(2*rd.delay, max(checkMax, waited/10), checkSlowest)
}

// runCheck runs ./check once; its exit 0 makes run ready.
func (rd *readiness) runCheck() {
	s := rd.s
	attr := &os.ProcAttr{
		Dir:   s.dir,
		Files: []*os.File{s.e.cfg.Stdin, nil, s.errf}, // stdout closed, as runit's sv runs it
		Sys:   &syscall.SysProcAttr{Setsid: s.e.cfg.Setsid},
	}
	proc, err := s.e.cfg.Reaper.StartProcess("./check", []string{"./check"}, attr, func(x reaper.Exit) {
		s.e.post(func() { rd.checked(x) })
	})
	if err != nil {
		if !s.noted["check"] {
			s.note("check")
			s.e.warnf(s.name, "unable to run ./check: %s", errstr.Of(err))
		}
		rd.scheduleCheck()
		return
	}
	rd.check = proc
	rd.checkKill = time.AfterFunc(checkHang, func() { proc.Signal(unix.SIGKILL) })
}

func (rd *readiness) checked(x reaper.Exit) {
	rd.check.Release()
	rd.check = nil
	rd.checkKill.Stop()
	s := rd.s
	if rd.done || s.rd != rd {
		return
	}
	if x.Status.Exited() && x.Status.ExitStatus() == 0 {
		rd.done = true
		s.transition(evReady, reaper.Exit{})
		return
	}
	rd.scheduleCheck()
}

// stopReadiness drops the source of the run that ended.
func (s *service) stopReadiness() {
	rd := s.rd
	if rd == nil {
		return
	}
	s.rd = nil
	rd.done = true
	rd.closeFD()
	if rd.checkTimer != nil {
		rd.checkTimer.Stop()
	}
	if rd.check != nil {
		rd.check.Signal(unix.SIGKILL)
	}
}

// closeSocket gives up the service's NOTIFY_SOCKET when it goes.
func (s *service) closeSocket() {
	if s.sock != nil {
		s.e.unpoll(s.sock.fd)
		delete(s.e.handlers, s.sock.fd)
		s.sock.close()
		s.sock = nil
	}
}
