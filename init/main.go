// Package pid1 is vigil as a container's init.
package pid1

import "io"

// Main is vigil's init mode.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }
