// Package errstr renders errors the way runit's programs print them: djb's
// short errno texts ("file does not exist", "access denied") instead of
// strerror's, so that vigil's messages read exactly like runit's.
package errstr

import (
	"errors"
	"strings"
	"syscall"
)

// Of returns runit's text for err's errno, or err's own text when it wraps
// no errno.
func Of(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	if s, ok := texts[errno]; ok {
		return s
	}
	return errno.Error()
}

var texts = map[syscall.Errno]string{
	syscall.EINTR:        "interrupted system call",
	syscall.ENOMEM:       "out of memory",
	syscall.ENOENT:       "file does not exist",
	syscall.ETXTBSY:      "text busy",
	syscall.EIO:          "input/output error",
	syscall.EEXIST:       "file already exists",
	syscall.ETIMEDOUT:    "timed out",
	syscall.EINPROGRESS:  "operation in progress",
	syscall.EAGAIN:       "temporary failure",
	syscall.EPIPE:        "broken pipe",
	syscall.EPERM:        "permission denied",
	syscall.EACCES:       "access denied",
	syscall.ENXIO:        "device not configured",
	syscall.ESRCH:        "no such process",
	syscall.EBADF:        "file descriptor not open",
	syscall.ECHILD:       "no child processes",
	syscall.EFAULT:       "bad address",
	syscall.EBUSY:        "device busy",
	syscall.EXDEV:        "cross-device link",
	syscall.ENODEV:       "device does not support operation",
	syscall.ENOTDIR:      "not a directory",
	syscall.EISDIR:       "is a directory",
	syscall.EINVAL:       "invalid argument",
	syscall.ENFILE:       "system cannot open more files",
	syscall.EMFILE:       "process cannot open more files",
	syscall.ENOTTY:       "not a tty",
	syscall.EFBIG:        "file too big",
	syscall.ENOSPC:       "out of disk space",
	syscall.ESPIPE:       "unseekable descriptor",
	syscall.EROFS:        "read-only file system",
	syscall.EMLINK:       "too many links",
	syscall.ENAMETOOLONG: "file name too long",
	syscall.ENOTEMPTY:    "directory not empty",
	syscall.ELOOP:        "symbolic link loop",
	syscall.ECONNREFUSED: "connection refused",
	syscall.EHOSTUNREACH: "host unreachable",
	syscall.ENETUNREACH:  "network unreachable",
	syscall.EADDRINUSE:   "address in use",
	syscall.ENOEXEC:      "exec format error",
	syscall.EDQUOT:       "disk quota exceeded",
}

// Describe is err's message with a wrapped errno's text replaced by
// runit's: "unable to open supervise/lock: access denied".
func Describe(err error) string {
	msg := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) && strings.HasSuffix(msg, errno.Error()) {
		return strings.TrimSuffix(msg, errno.Error()) + Of(errno)
	}
	return msg
}
