package sv

import (
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/getopt"
	"github.com/vigil-init/vigil/services/supervise"
)

// svcFlags are daemontools' svc flags in the order BusyBox applies them,
// whatever their order on the command line.
const svcFlags = "udopchaitkx"

// SvcMain is svc -udopchaitkx service...: for each flag given, in
// svcFlags' order, sv's command of that letter on every service, without
// waiting. It stops with 1 at the first letter that fails anywhere, as
// BusyBox's svc does. Names are resolved as sv resolves them.
func SvcMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	r := newRun([]string{"sv"}, stdin, stdout, stderr)
	r.prog = "svc"
	var set [len(svcFlags)]bool
	any := false
	g := getopt.Getopt{Args: args[min(1, len(args)):], Opts: svcFlags, DashDashOnly: true}
	for g.Next() {
		set[strings.IndexByte(svcFlags, g.Opt)], any = true, true
	}
	if err := g.Err(); err != nil {
		r.errf("svc: %v\n", err)
		return svcUsage(r)
	}
	names := g.Rest()
	if !any || len(names) == 0 {
		return svcUsage(r)
	}
	for k := range svcFlags {
		if !set[k] {
			continue
		}
		if r.exec(command{act: actControl, acts: svcFlags[k : k+1]}, names) != 0 {
			return 1
		}
	}
	return 0
}

func svcUsage(r *run) int {
	r.errf("usage: svc -%s service ...\n\n", svcFlags)
	return 100
}

// SvokMain is svok service: exit 0 when a supervisor holds the service's
// supervise/ok open, 100 when the FIFO has no reader or does not exist,
// 111 with a message otherwise. It opens ok without blocking, so a FIFO
// left behind by a dead supervisor gives 100 at once (BusyBox's svok
// hangs there). The name is resolved as sv resolves it, SVDIR included.
func SvokMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	r := newRun([]string{"sv"}, stdin, stdout, stderr)
	if len(args) < 2 {
		r.errf("usage: svok service\n\n")
		return 100
	}
	name := args[1]
	dir := r.resolve(name)
	if err := chdirErr(dir); err != nil {
		r.fail(name, false, "unable to change to service directory", err)
		return 111
	}
	switch err := supervise.Alive(supervise.Locate(dir)); {
	case err == nil:
		return 0
	case err == supervise.ErrNotRunning || err == unix.ENOENT:
		return 100
	default:
		r.warn(name, false, "unable to open supervise/ok", err)
		return 111
	}
}
