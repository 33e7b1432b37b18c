// Package faultsig names the signals a fault raises. A Go program that has
// not asked for them takes one sent with kill for its own crash and dies
// with a stack dump; a process that must outlive a stray kill (an init, a
// supervisor) asks for them and drops them. Faults of its own still crash
// it, as they should.
package faultsig

import (
	"os"

	"golang.org/x/sys/unix"
)

// List is ABRT, ILL, TRAP, SYS, BUS, FPE and SEGV, and STKFLT where the
// architecture has it.
var List = []os.Signal{
	unix.SIGABRT, unix.SIGILL, unix.SIGTRAP, unix.SIGSYS,
	unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV,
}
