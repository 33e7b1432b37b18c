// Package runsv is runit's runsv: it supervises one service directory and
// its logger, through vigil's engine.
package runsv

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
)

// Main is runsv DIR. It exits 0 after 'x' or SIGTERM once the service and
// its logger are down, 1 on usage, 111 on a fatal error.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		// runit names itself by argv[0]: "usage: /sbin/runsv dir".
		fmt.Fprintf(stderr, "usage: %s dir\n\n", progname(args))
		return 1
	}
	dir := args[1]
	sigc := make(chan os.Signal, 32)
	signal.Notify(sigc, unix.SIGCHLD, unix.SIGTERM)

	rp := reaper.New()
	in, out, errf := services.StdFiles(stdin, stdout, stderr)
	e, err := services.New(services.Config{Reaper: rp, Stdin: in, Stdout: out, Stderr: errf, Messages: stderr, Prog: "runsv"})
	if err == nil {
		err = e.Add(dir, dir)
	}
	if err != nil {
		fmt.Fprintf(stderr, "runsv %s: fatal: %s\n", dir, errstr.Describe(err))
		return 111
	}
	go e.Run()
	for {
		select {
		case sig := <-sigc:
			if sig == unix.SIGCHLD {
				rp.Reap()
			} else {
				e.Shutdown(time.Time{}) // TERM is 'x': wait for the service, however long
			}
		case <-e.Done():
			return 0
		}
	}
}

// progname is the name runsv was called by, as runit's usage line shows it.
func progname(args []string) string {
	if len(args) > 0 && args[0] != "" {
		return args[0]
	}
	return "runsv"
}
