//go:build linux && (386 || arm)

package procsetup

import "golang.org/x/sys/unix"

// On 386 and arm the calls without the 32 suffix take 16-bit ids.
const (
	sysSetgroups = unix.SYS_SETGROUPS32
	sysSetgid    = unix.SYS_SETGID32
	sysSetuid    = unix.SYS_SETUID32
)
