// Package chpst is runit's chpst and its daemontools names.
package chpst

import "io"

// Main is chpst, envdir, envuidgid, setuidgid, softlimit, setlock and pgrphack.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }

// ExecProcessMain replaces itself with the process described by an OCI process.json.
func ExecProcessMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }
