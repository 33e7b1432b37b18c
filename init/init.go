package pid1

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

// initProc is the state of init mode. Everything but the reaper's
// callbacks runs on the goroutine of loop.
type initProc struct {
	opts   Options
	sigc   chan os.Signal
	stdin  *os.File
	stdout *os.File
	stderr *os.File
	cwd    string // the image's working directory, kept for the main command
	self   int

	rp      *reaper.Reaper
	engine  *services.Engine
	prefix  *prefixer
	main    *os.Process
	mainTTY bool
	exits   chan reaper.Exit // the main command's exit
	ended   chan services.Ended
	endedBy *services.Ended // the essential service that ends the container

	code     int  // exit code so far
	mainDone bool // the main command has exited (or never ran)
	stopping bool
	stopSig  os.Signal
	killAt   time.Time
	termed   map[int]bool // orphans sent TERM during the shutdown
}

func run(opts Options, sigc chan os.Signal, stdin, stdout, stderr *os.File) int {
	p := &initProc{
		opts: opts, sigc: sigc, stdin: stdin, stdout: stdout, stderr: stderr,
		self:     os.Getpid(),
		rp:       reaper.New(),
		exits:    make(chan reaper.Exit, 4),
		ended:    make(chan services.Ended, 1),
		mainDone: len(opts.Command) == 0,
	}
	p.rp.OnOrphan = func(e reaper.Exit) { p.debugf("reaped orphan %d (status %d)", e.Pid, e.Code()) }
	if p.self != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			p.warnf("not PID 1 and unable to become a child subreaper: %v; orphans will not be reaped", err)
		} else {
			p.noticef("not PID 1 (pid %d): registered as child subreaper", p.self)
		}
	}
	// Services and scripts can find their init to ask it to stop.
	os.Setenv("VIGIL_PID", strconv.Itoa(p.self))
	// A service asks for the exit code by writing $VIGIL_RUNDIR/exitcode:
	// the variable must be set, and the directory exist, for it to work
	// when VIGIL_RUNDIR is not in the container's environment (the
	// default /run/vigil) or names a directory not made yet.
	os.Setenv("VIGIL_RUNDIR", supervise.RunDir())
	os.MkdirAll(supervise.RunDir(), 0o755)
	os.Remove(exitCodeFile())
	if wd, err := os.Getwd(); err == nil {
		p.cwd = wd
	}
	if abs, err := filepath.Abs(opts.SvDir); err == nil {
		p.opts.SvDir = abs
	}
	// Do not keep the image's working directory busy; the main command
	// still starts in it.
	unix.Chdir("/")

	if !p.startupScripts() {
		return p.finish()
	}
	if err := p.startServices(); err != nil {
		p.errorf("%v", err)
		p.code = 111
		p.mainDone = true // the main command is not started
		p.beginShutdown(nil)
		return p.loop()
	}
	if len(opts.Command) > 0 {
		p.startMain()
	}
	if p.engine == nil && len(opts.Command) == 0 {
		p.noticef("no command and no %s: reaping zombies until TERM or INT", opts.SvDir)
	}
	return p.loop()
}

// startServices supervises SvDir in-process when it is a directory.
func (p *initProc) startServices() error {
	st, err := os.Stat(p.opts.SvDir)
	if (err != nil || !st.IsDir()) && p.opts.HTTP != "" {
		p.warnf("no service directory %s: no HTTP endpoint on %s", p.opts.SvDir, p.opts.HTTP)
	}
	if err == nil && !st.IsDir() {
		p.warnf("%s is not a directory: no services", p.opts.SvDir)
		return nil
	}
	if err != nil {
		if len(p.opts.Command) == 0 || p.opts.Verbosity > 1 {
			p.infof("%s: no service directory", p.opts.SvDir)
		}
		return nil
	}
	if err := p.checkSupervisable(); err != nil {
		return err
	}
	devnull, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		devnull = p.stdin
	}
	cfg := services.Config{
		Reaper: p.rp,
		// Services must not compete with the main command for the
		// terminal's input.
		Stdin:    devnull,
		Stdout:   p.stdout,
		Stderr:   p.stderr,
		Messages: p.stderr,
		Prog:     "vigil",
		// Each service in its own session and group, as s6-supervise
		// does: a service's `kill 0` (trap 'kill 0' EXIT) stays inside
		// it instead of stopping the whole container, and what a crashed
		// run leaves behind is stopped with it.
		Setsid:    true,
		Leftovers: true,
		Publish:   p.publishing(),
		OOMKilled: oomKilled(),
		// Exits and give-ups at the default verbosity, starts and
		// asked-for stops at -vv.
		Verbosity: min(p.opts.Verbosity, 1) + p.opts.Verbosity/3,
		OnEssential: func(x services.Ended) {
			select {
			case p.ended <- x:
			default: // the first one ends the container
			}
		},
	}
	if p.opts.Prefix {
		p.prefix = newPrefixer(p.stdout, p.stderr)
		cfg.Output = p.prefix.output
	}
	e, err := services.New(cfg)
	if err != nil {
		return fmt.Errorf("unable to start the engine: %w", err)
	}
	if err := e.Watch(p.opts.SvDir); err != nil {
		return err
	}
	p.engine = e
	if err := p.startEndpoint(e); err != nil {
		return err
	}
	go e.Run()
	return nil
}

// exitCodeFile is where a service asks for the container's exit code:
// write the number there, then send TERM to $VIGIL_PID.
func exitCodeFile() string {
	return filepath.Join(supervise.RunDir(), "exitcode")
}

func readExitCode() (int, bool) {
	b, err := os.ReadFile(exitCodeFile())
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 255 {
		return 0, false
	}
	return n, true
}
