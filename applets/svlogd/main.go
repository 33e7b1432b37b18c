// Package svlogd is runit's svlogd.
package svlogd

import "io"

// Main is svlogd.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }
