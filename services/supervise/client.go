package supervise

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DefaultRunDir holds supervise directories that cannot live in their
// service directory (read-only root, foreign owner). VIGIL_RUNDIR overrides.
const DefaultRunDir = "/run/vigil"

// RunDir returns the runtime directory in use.
func RunDir() string {
	if d := os.Getenv("VIGIL_RUNDIR"); d != "" {
		return d
	}
	return DefaultRunDir
}

// RuntimePath is where the state of the service in svcDir goes when svcDir
// cannot hold supervise/: RunDir/supervise/ followed by the service
// directory's canonical absolute path, so that supervisor and clients agree
// whichever symlink they came through.
func RuntimePath(svcDir string) (string, error) {
	abs, err := filepath.Abs(svcDir)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return filepath.Join(RunDir(), "supervise", abs), nil
}

// Locate returns the supervise directory of the service in svcDir:
// svcDir/supervise when it exists, else its runtime path when that exists,
// else svcDir/supervise (so that errors name the usual place).
func Locate(svcDir string) string {
	path := filepath.Join(svcDir, "supervise")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if alt, err := RuntimePath(svcDir); err == nil {
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return path
}

// ErrNotRunning means the FIFO exists but no supervisor holds it open.
var ErrNotRunning = errors.New("runsv not running")

// Alive reports whether a supervisor holds supervise/ok open for reading,
// the test daemontools' svok and runit's sv use. It never blocks. The error
// is ErrNotRunning when the FIFO has no reader, else what open returned.
func Alive(superviseDir string) error {
	fd, err := unix.Open(filepath.Join(superviseDir, "ok"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENXIO {
		return ErrNotRunning
	}
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// Send writes cmd to supervise/control in one write without blocking.
func Send(superviseDir string, cmd []byte) error {
	fd, err := unix.Open(filepath.Join(superviseDir, "control"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENXIO {
		return ErrNotRunning
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, cmd)
	if err == nil && n != len(cmd) {
		err = errors.New("partial write")
	}
	return err
}

// ReadStatus reads and decodes supervise/status. A failure to open or to
// read it is an *os.PathError whose Op says which; a file that is not a
// status is ErrBadFormat.
func ReadStatus(superviseDir string) (Status, error) {
	path := filepath.Join(superviseDir, "status")
	var buf [StatusLen + 1]byte
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return Status{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Status{}, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return Parse(buf[:n])
}
