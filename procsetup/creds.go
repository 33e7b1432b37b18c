package procsetup

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The user change is made on the calling thread alone. Linux keeps
// credentials per thread, and the thread that calls execve is the one
// whose credentials the program starts with; Exec locks itself to that
// thread before it changes anything. Go's syscall.Setuid, Setgid and
// Setgroups instead stop the world and signal every thread of the runtime
// to make the same call (AllThreadsSyscall): three rounds of a tgkill and
// a futex wake for each of five or so threads, which execve ends a moment
// later anyway. The other threads never run the process's code again: the
// program replaces them, or Exec fails and chpst exits.

// setThreadGroups is setgroups(2) on this thread.
func setThreadGroups(gids []uint32) error {
	var p unsafe.Pointer
	if len(gids) > 0 {
		p = unsafe.Pointer(&gids[0])
	}
	_, _, e := unix.RawSyscall(sysSetgroups, uintptr(len(gids)), uintptr(p), 0)
	return errnoErr(e)
}

// setThreadGID is setgid(2) on this thread.
func setThreadGID(gid uint32) error {
	_, _, e := unix.RawSyscall(sysSetgid, uintptr(gid), 0, 0)
	return errnoErr(e)
}

// setThreadUID is setuid(2) on this thread.
func setThreadUID(uid uint32) error {
	_, _, e := unix.RawSyscall(sysSetuid, uintptr(uid), 0, 0)
	return errnoErr(e)
}

func errnoErr(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}
