// Package chpst is runit's chpst and its daemontools names (envdir,
// envuidgid, setuidgid, softlimit, setlock, pgrphack), and exec-process,
// which runs a service described by an OCI process.json without a shell.
// Both parse into a procsetup.Spec and replace themselves with the program.
package chpst

import (
	"io"

	"github.com/vigil-init/vigil/procsetup"
)

// Main is chpst, envdir, envuidgid, setuidgid, softlimit, setlock and
// pgrphack, chosen by args[0] as runit does (one leading 'd' stripped).
// It returns only on failure: 100 for usage, 111 for trouble (0 for
// setlock -x), having replaced the process with the program otherwise.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	spec, err := procsetup.ParseChpst(args)
	if err != nil {
		io.WriteString(stderr, err.Error())
		return 100
	}
	spec.Warn = func(msg string) { io.WriteString(stderr, "chpst: warning: "+msg+"\n") }
	err = spec.Exec()
	if spec.QuietFail {
		return 0
	}
	io.WriteString(stderr, "chpst: fatal: "+err.Error()+"\n")
	return 111
}

// ExecProcessMain is how the engine starts a service that has a
// process.json and no run script: args = ["exec-process", "process.json"],
// run in the service directory. It loads the file, applies it and
// replaces itself with the program; on bad input it exits 111 with a
// message naming the file and the field.
func ExecProcessMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		io.WriteString(stderr, "usage: exec-process process.json\n")
		return 100
	}
	spec, err := procsetup.LoadProcessJSON(args[1])
	if err == nil {
		err = spec.Exec()
	}
	io.WriteString(stderr, "exec-process: fatal: "+err.Error()+"\n")
	return 111
}
