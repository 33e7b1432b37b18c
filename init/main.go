// Package pid1 is vigil as a container's init: it reaps every zombie,
// forwards signals to the main command, runs start-up scripts, supervises
// $SVDIR in-process with the engine, and shuts everything down in order
// within a grace period, exiting with the main command's code.
//
// (Go cannot import a package named init, hence the name.)
package pid1

import (
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/faultsig"
)

// caught is every signal init mode handles. The list is explicit: never
// SIGURG, which the Go runtime sends itself, nor SIGPROF, its profiler's,
// and never signal.Ignore, whose SIG_IGN every service would inherit.
// TSTP, TTIN and TTOU are caught so that init is never stopped; catching
// them leaves children's dispositions at their defaults.
var caught = append(append([]os.Signal{
	unix.SIGCHLD, unix.SIGTERM, unix.SIGINT,
	unix.SIGPIPE, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
}, forwarded...), faultsig.List...)

// forwarded go to the main command.
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
	unix.SIGALRM, unix.SIGCONT, unix.SIGPWR, unix.SIGXCPU, unix.SIGXFSZ,
	unix.SIGVTALRM, unix.SIGIO,
}

// handled is caught, less HUP and INT when vigil was started with them
// ignored (under nohup, or as a script's background job). The Go runtime
// leaves those two ignored until they are asked for; asking would give
// every child their default action instead, so vigil leaves them alone,
// as tini or a plain exec would.
func handled() []os.Signal {
	sigs := make([]os.Signal, 0, len(caught))
	for _, sig := range caught {
		if (sig == unix.SIGHUP || sig == unix.SIGINT) && signal.Ignored(sig) {
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}

// Main is `vigil [options] [--] [command [args...]]`.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// -V and --help alone start nothing, so they need no handlers: each
	// signal.Notify is a round trip to the runtime's signal thread, 27 of
	// them nearly doubled what `vigil -V` costs over a Go program's floor.
	if len(args) == 2 {
		switch args[1] {
		case "-V", "--version":
			return answer(errVersion, stdout)
		case "-h", "--help":
			return answer(errHelp, stdout)
		}
	}
	// Signals first: a Go PID 1 without handlers dies with status 2 on
	// TERM, INT or HUP, and a signal can arrive at any moment.
	sigc := make(chan os.Signal, 128)
	signal.Notify(sigc, handled()...)

	opts, err := parseOptions(args[1:], os.Getenv)
	if err == errHelp || err == errVersion {
		return answer(err, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vigil: %v\n%s", err, usage)
		return 100
	}
	in, _ := stdin.(*os.File)
	out, _ := stdout.(*os.File)
	errf, _ := stderr.(*os.File)
	if in == nil || out == nil || errf == nil {
		fmt.Fprintln(stderr, "vigil: init mode needs real standard files")
		return 111
	}
	return run(opts, sigc, in, out, errf)
}

// answer prints what -h (errHelp) or -V (errVersion) asks for.
func answer(asked error, stdout io.Writer) int {
	if asked == errVersion {
		fmt.Fprintln(stdout, "vigil", version())
	} else {
		fmt.Fprint(stdout, usage)
	}
	return 0
}
