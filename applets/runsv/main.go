// Package runsv is runit's runsv, a front end to the supervision engine.
package runsv

import "io"

// Main is runsv.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }
