// Package runsvdir is runit's runsvdir, a front end to the supervision engine.
package runsvdir

import "io"

// Main is runsvdir.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }
