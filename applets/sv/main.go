// Package sv is runit's sv, with BusyBox's svc and svok.
package sv

import "io"

// Main is sv.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }

// SvcMain is svc.
func SvcMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }

// SvokMain is svok.
func SvokMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 111 }
