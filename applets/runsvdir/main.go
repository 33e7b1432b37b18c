// Package runsvdir is runit's runsvdir: it supervises every service in a
// directory, through vigil's engine, in this one process.
package runsvdir

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/faultsig"
	"github.com/vigil-init/vigil/internal/tai64n"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
)

// Main is runsvdir [-P] dir [log]. Unlike runit's, SIGTERM (and INT, but
// for PID 1) stops every service (TERM, CONT, KILL after VIGIL_GRACE)
// before exiting 0; SIGHUP
// does the same and exits 111, as runit's does without waiting.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// runit names itself by argv[0] in the usage line: "usage: /sbin/runsvdir [-P] dir".
	prog := "runsvdir"
	if len(args) > 0 && args[0] != "" {
		prog = args[0]
	}
	if len(args) > 0 {
		args = args[1:]
	}
	setsid := false
	// Like runit, look only at the first argument for an option.
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		switch args[0][1] {
		case 'P':
			setsid = true
			args = args[1:]
		case '-':
			args = args[1:]
		}
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s [-P] dir\n\n", prog)
		return 1
	}
	dir := args[0]
	if len(args) > 1 {
		if len(args[1]) < 7 {
			fmt.Fprintf(stderr, "runsvdir %s: warning: log must have at least seven characters.\n", dir)
			fmt.Fprintf(stderr, "runsvdir %s: warning: log service disabled.\n", dir)
		} else if err := serveProcTitle(args[1]); err != nil {
			fmt.Fprintf(stderr, "runsvdir %s: warning: %v.\n", dir, err)
			fmt.Fprintf(stderr, "runsvdir %s: warning: log service disabled.\n", dir)
		}
	}
	grace, err := services.ParseGrace(os.Getenv("VIGIL_GRACE"))
	if err != nil {
		fmt.Fprintf(stderr, "runsvdir %s: fatal: VIGIL_GRACE: %v\n", dir, err)
		return 100
	}

	sigc := make(chan os.Signal, 32)
	signal.Notify(sigc, unix.SIGCHLD, unix.SIGTERM, unix.SIGHUP, unix.SIGALRM)
	// runsvdir is often PID 1, where the kernel drops every signal that a
	// C runsvdir has no handler for. Go would take the fault signals for
	// a crash, and as PID 1 INT and QUIT for an exit: ask for them, and
	// drop them.
	drop := faultsig.List
	if os.Getpid() == 1 {
		drop = slices.Concat(drop, []os.Signal{unix.SIGINT, unix.SIGQUIT})
	} else if !signal.Ignored(unix.SIGINT) {
		// Elsewhere INT (Ctrl-C) is TERM: a C runsvdir dies and leaves
		// its runsvs supervising; here the services would be left
		// unsupervised, so they are stopped instead.
		signal.Notify(sigc, unix.SIGINT)
	}
	signal.Notify(make(chan os.Signal, 1), drop...)
	rp := reaper.New()
	in, out, errf := services.StdFiles(stdin, stdout, stderr)
	e, err := services.New(services.Config{Reaper: rp, Stdin: in, Stdout: out, Stderr: errf, Messages: stderr, Prog: "runsvdir", Setsid: setsid})
	if err == nil {
		err = e.Watch(dir)
	}
	if err != nil {
		fmt.Fprintf(stderr, "runsvdir %s: fatal: %v\n", dir, err)
		return 100
	}
	go e.Run()
	code := 0
	// The one timer of the grace period, armed by the first TERM or HUP.
	var killTimer <-chan time.Time
	var deadline time.Time // zero: a grace of 0 never kills
	stop := func() {
		if killTimer == nil && grace > 0 {
			deadline = time.Now().Add(grace)
			killTimer = time.After(grace)
		}
		e.Shutdown(deadline)
	}
	for {
		select {
		case sig := <-sigc:
			switch sig {
			case unix.SIGCHLD:
				rp.Reap()
			case unix.SIGALRM:
				e.Rescan()
				markRescan(dir)
			case unix.SIGHUP:
				code = 111
				stop()
			case unix.SIGTERM, unix.SIGINT:
				stop()
			}
		case <-killTimer:
			e.KillAll()
		case <-e.Done():
			return code
		}
	}
}

// markRescan writes the time of a forced rescan to DIR/.forced-rescan, as
// Debian's runsvdir does on SIGALRM (its tests look for the file): a
// TAI64N label, no newline. The scan skips dot-files.
func markRescan(dir string) {
	fd, err := unix.Open(filepath.Join(dir, ".forced-rescan"), unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return // as Debian's: the rescan is what matters
	}
	unix.Write(fd, []byte(tai64n.Format(time.Now())))
	unix.Close(fd)
}
