package services

import (
	"io"
	"os"
)

// StdFiles turns an applet's stdio into the files children inherit: a
// child can only be given an *os.File, so anything else (a test's buffer)
// is replaced by the process's own.
func StdFiles(stdin io.Reader, stdout, stderr io.Writer) (in, out, errf *os.File) {
	in, out, errf = os.Stdin, os.Stdout, os.Stderr
	if f, ok := stdin.(*os.File); ok {
		in = f
	}
	if f, ok := stdout.(*os.File); ok {
		out = f
	}
	if f, ok := stderr.(*os.File); ok {
		errf = f
	}
	return in, out, errf
}
