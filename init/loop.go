package pid1

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
)

// afterKill is how long init waits, once everything got KILL, for the
// kernel to deliver it before giving up on processes stuck in the kernel.
const afterKill = 2 * time.Second

// loop serves signals and exits until everything is gone.
func (p *initProc) loop() int {
	var engineDone <-chan struct{}
	if p.engine != nil {
		engineDone = p.engine.Done()
	}
	var killTimer, hardTimer <-chan time.Time
	var armed time.Time // the killAt the timers were set for
	for {
		if p.stopping {
			// Armed once the shutdown begins, and again when a second
			// TERM moves the deadline to now.
			if !p.killAt.Equal(armed) {
				armed = p.killAt
				killTimer = time.After(time.Until(armed))
				hardTimer = time.After(time.Until(armed.Add(afterKill)))
			}
			if p.mainDone && engineDone == nil && !p.rp.Reap() {
				return p.finish()
			}
		}
		select {
		case sig := <-p.sigc:
			p.onSignal(sig)
		case x := <-p.exits:
			p.mainExited(x)
		case x := <-p.ended:
			p.essentialEnded(x)
		case <-engineDone:
			engineDone = nil
		case <-killTimer:
			killTimer = nil // a nil channel is never ready
			p.killEverything()
		case <-hardTimer:
			p.warnf("processes left after KILL; exiting anyway")
			return p.finish()
		}
	}
}

func (p *initProc) onSignal(sig os.Signal) {
	switch sig {
	case unix.SIGCHLD:
		p.rp.Reap()
		if p.stopping && time.Now().Before(p.killAt) {
			// A process that exited during the shutdown (a service's
			// run, the main command) may have left children, now
			// reparented to vigil: they get TERM too, or they would
			// hold the shutdown up until the KILL at the deadline.
			p.termOrphans()
		}
	case unix.SIGTERM, unix.SIGINT:
		if p.stopping {
			// A second request does not wait out the grace period.
			p.infof("%v again: killing everything now", sig)
			p.killAt = time.Now()
			p.killEverything()
			return
		}
		p.infof("%v: shutting down", sig)
		p.beginShutdown(sig)
	default:
		if !slices.Contains(forwarded, sig) {
			// PIPE, TSTP, TTIN, TTOU and the fault signals are caught
			// only to be dropped: the kernel drops them for tini.
			p.debugf("dropping %v", sig)
			return
		}
		if p.main != nil && !p.mainDone {
			p.debugf("forwarding %v to %d", sig, p.main.Pid)
			p.main.Signal(sig)
		} else if sig == unix.SIGALRM && p.engine != nil {
			p.engine.Rescan()
		}
	}
}

// startMain runs the main command in the image's working directory, in its
// own process group, in the foreground of the terminal if vigil has one.
func (p *initProc) startMain() {
	argv := p.opts.Command
	path, err := lookPath(argv[0], p.cwd)
	if err != nil {
		p.cannotRun(argv[0], err)
		return
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if p.ownsTerminal() {
		sys.Foreground = true
		sys.Ctty = 0
		p.mainTTY = true
	}
	attr := &os.ProcAttr{
		Dir:   p.cwd,
		Files: []*os.File{p.stdin, p.stdout, p.stderr},
		Sys:   sys,
	}
	exited := func(x reaper.Exit) { p.exits <- x }
	proc, err := p.rp.StartProcess(path, argv, attr, exited)
	if errors.Is(err, syscall.ENOEXEC) {
		// A script without "#!": execvp, and so tini and every shell,
		// hands it to /bin/sh, if there is one.
		sh, shErr := p.rp.StartProcess("/bin/sh", append([]string{"/bin/sh", path}, argv[1:]...), attr, exited)
		if shErr == nil {
			proc, err = sh, nil
		}
	}
	if err != nil {
		p.cannotRun(argv[0], err)
		return
	}
	p.main = proc
	p.debugf("main command %q is pid %d", argv[0], proc.Pid)
}

// cannotRun ends the container as a shell would: 127 for a command that
// is not there, 126 for one that cannot be executed.
func (p *initProc) cannotRun(name string, err error) {
	p.code = 126
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		p.code = 127
	}
	p.errorf("unable to run %s: %s", name, errstr.Describe(err))
	p.terminated(mainTermination(name, p.code))
	p.mainDone = true
	p.beginShutdown(nil)
}

// ownsTerminal reports whether stdin is vigil's controlling terminal with
// vigil's process group in the foreground, so it can hand it to the main
// command (docker run -it).
func (p *initProc) ownsTerminal() bool {
	fg, err := unix.IoctlGetInt(int(p.stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// takeTerminal makes vigil's process group the terminal's foreground
// group again. vigil is in the background when it calls tcsetpgrp, so the
// kernel sends SIGTTOU to its group and restarts the call, forever, unless
// SIGTTOU is blocked or ignored: vigil catches it (ignoring it would be
// inherited), so the calling thread blocks it for the call. Without this,
// vigil run from a job-control shell spun at 100% CPU after its main
// command exited.
func (p *initProc) takeTerminal() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ttou, old unix.Sigset_t
	ttou.Val[(unix.SIGTTOU-1)/64] |= 1 << ((uint(unix.SIGTTOU) - 1) % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old); err != nil {
		return
	}
	unix.IoctlSetPointerInt(int(p.stdin.Fd()), unix.TIOCSPGRP, unix.Getpgrp())
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
}

func (p *initProc) mainExited(x reaper.Exit) {
	p.main.Release()
	p.mainDone = true
	code := x.Code()
	p.infof("main command exited with %d", code)
	if p.endedBy == nil {
		p.code = p.mainExitCode(code)
		if p.code != 0 && !p.stopping {
			p.terminated(mainTermination(p.opts.Command[0], p.code))
		}
	}
	if p.mainTTY {
		// Take the terminal back, so nothing left in the background is
		// stopped for touching it while services shut down.
		p.takeTerminal()
	}
	p.beginShutdown(nil)
}

// essentialEnded stops the container for an essential service that ended
// by itself: its code is the container's, whatever the main command's.
func (p *initProc) essentialEnded(x services.Ended) {
	if p.endedBy != nil || p.stopping {
		return
	}
	p.endedBy = &x
	p.code = x.Code
	t := endedTermination(x)
	if p.prefix != nil {
		t.Stderr = p.prefix.stderrTail(x.Service, 100*time.Millisecond)
	}
	p.terminated(t)
	p.beginShutdown(nil)
}

// beginShutdown sends every process its stop signal at once: TERM and
// CONT to the main command, 'x' to every service (loggers follow their
// service), TERM and CONT to processes that were reparented to vigil.
func (p *initProc) beginShutdown(sig os.Signal) {
	if p.stopping {
		return
	}
	p.stopping = true
	p.stopSig = sig
	p.killAt = time.Now().Add(p.opts.Grace)
	if p.main != nil && !p.mainDone {
		p.main.Signal(unix.SIGTERM)
		p.main.Signal(unix.SIGCONT)
	}
	if p.engine != nil {
		p.engine.Shutdown(p.killAt)
	}
	p.termOrphans()
}

// termOrphans sends TERM and CONT once to each process reparented to vigil.
func (p *initProc) termOrphans() {
	if p.termed == nil {
		p.termed = make(map[int]bool)
	}
	for _, pid := range p.orphans() {
		if !p.termed[pid] {
			p.termed[pid] = true
			unix.Kill(pid, unix.SIGTERM)
			unix.Kill(pid, unix.SIGCONT)
		}
	}
}

// killEverything ends the grace period.
func (p *initProc) killEverything() {
	if p.main != nil && !p.mainDone {
		p.warnf("grace period over: killing the main command (pid %d)", p.main.Pid)
		p.main.Signal(unix.SIGKILL)
	}
	if p.engine != nil {
		p.engine.KillAll()
	}
	if p.self == 1 {
		// In a PID namespace this reaches every process but init.
		unix.Kill(-1, unix.SIGKILL)
		return
	}
	for _, pid := range p.orphans() {
		unix.Kill(pid, unix.SIGKILL)
	}
}
