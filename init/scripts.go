package pid1

import (
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/reaper"
)

// scripts lists the executable files of dir in lexical order, skipping
// dot-files. A missing dir has none.
func (p *initProc) scripts(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			p.warnf("unable to read %s: %s", dir, errstr.Describe(err))
		}
		return nil
	}
	var list []string
	for _, ent := range entries {
		name := ent.Name()
		if name[0] == '.' {
			continue
		}
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if unix.Access(path, unix.X_OK) != nil {
			p.warnf("%s is not executable; skipped", path)
			continue
		}
		list = append(list, path)
	}
	slices.Sort(list)
	return list
}

// startupScripts runs the start-up scripts one after the other, before any
// service. A failing script stops the container with its exit code, unless
// VIGIL_INIT_FAIL=continue. TERM or INT meanwhile stop the script and the
// container. It reports whether start-up may go on.
func (p *initProc) startupScripts() bool {
	for _, path := range p.scripts(p.opts.InitDir) {
		p.infof("running %s", path)
		code, sig := p.runScript(path, time.Time{})
		if sig != nil {
			p.stopping = true
			if len(p.opts.Command) > 0 {
				p.code = 128 + int(sig.(unix.Signal))
			}
			return false
		}
		if code != 0 {
			if p.opts.InitContinue {
				p.warnf("%s exited %d; going on (VIGIL_INIT_FAIL=continue)", path, code)
				continue
			}
			p.errorf("%s exited %d; stopping", path, code)
			p.code = code
			p.stopping = true
			return false
		}
	}
	return true
}

// runScript runs path and waits for it while serving signals. With a
// deadline, the script is killed when it passes. It returns the exit code,
// or the signal (TERM or INT) that interrupted the wait.
func (p *initProc) runScript(path string, deadline time.Time) (int, os.Signal) {
	done := make(chan reaper.Exit, 1)
	proc, err := p.rp.StartProcess(path, []string{path}, &os.ProcAttr{
		Dir:   "/",
		Files: []*os.File{p.stdin, p.stdout, p.stderr},
	}, func(x reaper.Exit) { done <- x })
	if err != nil {
		p.errorf("unable to run %s: %s", path, errstr.Describe(err))
		return 126, nil
	}
	defer proc.Release()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		timeout = time.After(time.Until(deadline))
	}
	var interrupted os.Signal
	for {
		select {
		case x := <-done:
			return x.Code(), interrupted
		case <-timeout:
			p.warnf("%s still running at the deadline; killed", path)
			proc.Signal(unix.SIGKILL)
			timeout = nil
		case sig := <-p.sigc:
			switch sig {
			case unix.SIGCHLD:
				p.rp.Reap()
			case unix.SIGTERM, unix.SIGINT:
				if interrupted == nil {
					interrupted = sig
					proc.Signal(unix.SIGTERM)
					proc.Signal(unix.SIGCONT)
					timeout = time.After(p.opts.Grace)
				}
			}
		}
	}
}

// finish runs the shutdown scripts within what is left of the time
// allowed, waits for the prefixed output to drain, and returns the exit
// code: the one a service asked for, else the main command's, else 0 (or
// the failing start-up script's).
func (p *initProc) finish() int {
	deadline := p.killAt.Add(afterKill)
	if deadline.Before(time.Now().Add(time.Second)) {
		deadline = time.Now().Add(time.Second)
	}
	for _, path := range p.scripts(p.opts.ShutdownDir) {
		p.infof("running %s", path)
		p.runScript(path, deadline)
	}
	if p.prefix != nil {
		p.prefix.wait(time.Until(deadline))
	}
	if code, ok := readExitCode(); ok {
		p.infof("exit code %d requested in %s", code, exitCodeFile())
		return code
	}
	return p.code
}
