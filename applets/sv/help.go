package sv

import "strings"

// helpText follows the usage line in sv --help: one line per command.
// runit prints the usage line alone; the commands are in its man page.
const helpText = `
Commands (only the first letter of these counts):
  status          print the state of each service (and of its log)
  up              start it; restart it whenever it exits
  down            stop it (TERM, then CONT); do not restart it
  once            start it if it is down; do not restart it
  pause           send STOP
  cont            send CONT
  hup             send HUP
  alarm           send ALRM
  interrupt       send INT
  quit            send QUIT
  1               send USR1
  2               send USR2
  term            send TERM
  kill            send KILL
  exit            stop it and its log; then its supervisor exits
Commands that wait for their result, up to -w sec (default $SVWAIT, or 7):
  start           up; done when it runs (and is ready, if it reports readiness)
  stop            down; done when it is down
  reload          hup
  restart         term, cont, up; done when a new process runs (and is ready)
  shutdown        exit; done when its supervisor has exited
  try-restart     term, cont; done when a new process runs (and is ready)
  check           send nothing; done when up (and ready) or down, as it wants
  force-stop      stop; kill it at the deadline
  force-reload    try-restart; kill it at the deadline
  force-restart   restart; kill it at the deadline
  force-shutdown  shutdown; kill it at the deadline
Options:
  -v              wait for the result of the other commands too
  -w sec          wait up to sec seconds; implies -v
  -V              print the version
  -h, --help      print this help
A service is a name under $SVDIR (default /etc/service/), or a path that
starts with / or . or ends in /. Under vigil's supervisor a status line may
end in: ready Ns, not ready, unhealthy, failed, waiting for NAME...
`

// wantsHelp reports whether the options before the command ask for help
// with --help. (getopt handles -h; it drops any word starting with "--" as
// the end of the options, as djb's does, so --help must be found first.)
// The words are read as getopt reads them: -w takes the rest of its word
// or, if none, the next word, which is therefore not an option.
func wantsHelp(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--help":
			return true
		case len(a) < 2 || a[0] != '-' || strings.HasPrefix(a, "--"):
			return false
		}
		if w := strings.IndexByte(a[1:], 'w'); w >= 0 && w+2 == len(a) {
			i++ // -w's argument is the next word
		}
	}
	return false
}

// help prints the usage line and the commands on stdout: asked for, help
// is output, not an error.
func (r *run) help() int {
	if r.lsb {
		r.outs("usage: " + r.prog + " [-w sec] command\n")
	} else {
		r.outs("usage: " + r.prog + " [-v] [-w sec] command service ...\n")
	}
	r.outs(helpText)
	r.flush()
	return 0
}
