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
	if s, ok := text(errno); ok {
		return s
	}
	return errno.Error()
}

// text is runit's text for errno. A switch, not a map: a map literal is
// built at package initialisation, which every applet would pay for
// whether or not it ever prints an error.
func text(errno syscall.Errno) (string, bool) {
	switch errno {
	case syscall.EINTR:
		return "interrupted system call", true
	case syscall.ENOMEM:
		return "out of memory", true
	case syscall.ENOENT:
		return "file does not exist", true
	case syscall.ETXTBSY:
		return "text busy", true
	case syscall.EIO:
		return "input/output error", true
	case syscall.EEXIST:
		return "file already exists", true
	case syscall.ETIMEDOUT:
		return "timed out", true
	case syscall.EINPROGRESS:
		return "operation in progress", true
	case syscall.EAGAIN:
		return "temporary failure", true
	case syscall.EPIPE:
		return "broken pipe", true
	case syscall.EPERM:
		return "permission denied", true
	case syscall.EACCES:
		return "access denied", true
	case syscall.ENXIO:
		return "device not configured", true
	case syscall.ESRCH:
		return "no such process", true
	case syscall.EBADF:
		return "file descriptor not open", true
	case syscall.ECHILD:
		return "no child processes", true
	case syscall.EFAULT:
		return "bad address", true
	case syscall.EBUSY:
		return "device busy", true
	case syscall.EXDEV:
		return "cross-device link", true
	case syscall.ENODEV:
		return "device does not support operation", true
	case syscall.ENOTDIR:
		return "not a directory", true
	case syscall.EISDIR:
		return "is a directory", true
	case syscall.EINVAL:
		return "invalid argument", true
	case syscall.ENFILE:
		return "system cannot open more files", true
	case syscall.EMFILE:
		return "process cannot open more files", true
	case syscall.ENOTTY:
		return "not a tty", true
	case syscall.EFBIG:
		return "file too big", true
	case syscall.ENOSPC:
		return "out of disk space", true
	case syscall.ESPIPE:
		return "unseekable descriptor", true
	case syscall.EROFS:
		return "read-only file system", true
	case syscall.EMLINK:
		return "too many links", true
	case syscall.ENAMETOOLONG:
		return "file name too long", true
	case syscall.ENOTEMPTY:
		return "directory not empty", true
	case syscall.ELOOP:
		return "symbolic link loop", true
	case syscall.ECONNREFUSED:
		return "connection refused", true
	case syscall.EHOSTUNREACH:
		return "host unreachable", true
	case syscall.ENETUNREACH:
		return "network unreachable", true
	case syscall.EADDRINUSE:
		return "address in use", true
	case syscall.ENOEXEC:
		return "exec format error", true
	case syscall.EDQUOT:
		return "disk quota exceeded", true
	}
	return "", false
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
