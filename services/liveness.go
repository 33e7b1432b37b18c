package services

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/reaper"
)

// liveness runs a ready service's periodic check: ./check, check-tcp or
// check-http, every check-interval; check-failures failures in a row make
// it unhealthy, and it is restarted.
type liveness struct {
	timer    *time.Timer
	proc     *os.Process
	kill     *time.Timer
	failures int
	gen      int // which arming a result belongs to
}

// armLiveness schedules the next check of s, if it has any.
func (s *service) armLiveness() {
	p := &s.pol
	if p.checkInterval <= 0 || s.phase != phReady || s.live.timer != nil {
		return
	}
	gen := s.live.gen
	s.live.timer = time.AfterFunc(p.checkInterval, func() {
		s.e.post(func() {
			s.live.timer = nil
			if s.live.gen == gen && s.phase == phReady {
				s.runLiveness(gen)
			}
		})
	})
}

// stopLiveness cancels checks when run stops being ready.
func (s *service) stopLiveness() {
	s.live.gen++
	if s.live.timer != nil {
		s.live.timer.Stop()
		s.live.timer = nil
	}
	if s.live.proc != nil {
		s.live.proc.Signal(unix.SIGKILL)
		s.live.kill.Stop()
		s.live.proc = nil // its exit is still reaped, and ignored
	}
	s.live.failures = 0
}

func (s *service) runLiveness(gen int) {
	p := &s.pol
	done := func(err error) {
		s.e.post(func() { s.livenessResult(gen, err) })
	}
	switch {
	case p.checkTCP != "":
		go func() {
			c, err := net.DialTimeout("tcp", p.checkTCP, p.checkTimeout)
			if err == nil {
				c.Close()
			}
			done(err)
		}()
	case p.checkHTTP != "":
		go func() { done(httpCheck(p.checkHTTP, p.checkTimeout)) }()
	default:
		attr := &os.ProcAttr{
			Dir:   s.dir,
			Files: []*os.File{s.e.cfg.Stdin, nil, s.errf}, // stdout closed, as runit's sv runs it
			Sys:   &syscall.SysProcAttr{Setsid: s.e.cfg.Setsid},
		}
		var proc *os.Process
		proc, err := s.e.cfg.Reaper.StartProcess("./check", []string{"./check"}, attr, func(x reaper.Exit) {
			s.e.post(func() {
				proc.Release()
				if s.live.proc != proc {
					return // a check of an earlier life of run
				}
				s.live.proc = nil
				s.live.kill.Stop()
				var err error
				if !x.Status.Exited() || x.Status.ExitStatus() != 0 {
					err = fmt.Errorf("./check exited with %d", x.Code())
				}
				s.livenessResult(gen, err)
			})
		})
		if err != nil {
			s.livenessResult(gen, fmt.Errorf("unable to run ./check: %w", err))
			return
		}
		s.live.proc = proc
		s.live.kill = time.AfterFunc(p.checkTimeout, func() { proc.Signal(unix.SIGKILL) })
	}
}

func (s *service) livenessResult(gen int, err error) {
	if gen != s.live.gen || s.phase != phReady {
		return
	}
	if err == nil {
		s.live.failures = 0
		if s.sick {
			s.sick = false
			s.extDirty = true
			s.main.write(false)
			s.e.eventf(s, 1, "", "healthy again")
		}
		s.armLiveness()
		return
	}
	s.live.failures++
	if s.live.failures < s.pol.checkFailures {
		s.armLiveness()
		return
	}
	s.sick = true
	s.extDirty = true
	s.main.write(false)
	s.e.changed = true
	s.e.eventf(s, 1, "", "unhealthy: %d checks failed in a row (last: %v): restarting", s.live.failures, err)
	s.live.failures = 0
	s.transition(evStop, reaper.Exit{})
}

// httpCheck GETs rawURL and passes below status 400. It speaks just
// enough HTTP/1.0 for a probe, so the engine needs no HTTP client.
func httpCheck(rawURL string, timeout time.Duration) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	c, err := net.DialTimeout("tcp", host, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	path := u.RequestURI()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vigil-check\r\n\r\n", path, u.Host); err != nil {
		return err
	}
	line, err := bufio.NewReaderSize(c, 512).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", rawURL, err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return fmt.Errorf("not an HTTP answer from %s: %q", rawURL, strings.TrimSpace(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code >= 400 {
		return fmt.Errorf("%s answered %s", rawURL, strings.Join(f[1:], " "))
	}
	return nil
}
