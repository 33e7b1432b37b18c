package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is a supervise directory held by its supervisor: the lock, the
// control FIFO (opened read-write, so it never reports end of file and a
// client's write always finds a reader) and the ok FIFO, whose open read
// end tells clients that a supervisor is alive.
type Dir struct {
	Path    string // the supervise directory itself
	Control int    // nonblocking fd of the control FIFO
	lock    int
	ok      int
	// What stat and pid hold, to replace them only when they change:
	// every replacement allocates an inode and frees one, which file
	// systems such as ext4 make slow when thousands come at once.
	stat, pid       string
	hasStat, hasPid bool
}

// ErrLocked means another supervisor holds the directory's lock.
var ErrLocked = errors.New("unable to lock supervise/lock: temporary failure")

// Open creates and takes the supervise directory of the service in svcDir,
// as runsv does: supervise/ (mode 0700, through a dangling symlink too),
// lock, control, ok. Where svcDir cannot hold it (a read-only root, a
// directory owned by another user) the state goes under RunDir instead,
// where Locate finds it. Open writes no status; a supervisor uses Prepare
// and Ready instead, to write the first status before clients can see it.
func Open(svcDir string) (*Dir, error) {
	d, err := Prepare(svcDir)
	if err == nil {
		err = d.Ready()
	}
	if err != nil {
		if d != nil {
			d.Close()
		}
		return nil, err
	}
	return d, nil
}

// Prepare takes the supervise directory without the ok FIFO: clients still
// see no supervisor, so none can find it alive before its status exists.
func Prepare(svcDir string) (*Dir, error) {
	path, err := makeDir(svcDir)
	if err != nil {
		return nil, err
	}
	d := &Dir{Path: path, Control: -1, lock: -1, ok: -1}
	if err := d.open(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Ready opens the ok FIFO, from which on clients see a live supervisor.
// runsv does it last, after the first status is written.
func (d *Dir) Ready() error {
	var err error
	d.ok, err = openFIFO(filepath.Join(d.Path, "ok"), unix.O_RDONLY)
	return err
}

func makeDir(svcDir string) (string, error) {
	path := filepath.Join(svcDir, "supervise")
	err := unix.Mkdir(path, 0o700)
	switch err {
	case nil:
		return path, nil
	case unix.EEXIST:
		st, serr := os.Stat(path)
		if serr == nil {
			if !st.IsDir() {
				return "", errors.New("supervise exists but is not a directory")
			}
			if err = unix.Access(path, unix.W_OK); err == nil {
				return path, nil
			}
			break // read-only: fall back to the runtime directory
		}
		// A dangling symlink: create its target, once, without parents,
		// relative to the service directory as runsv does.
		target, lerr := os.Readlink(path)
		if lerr != nil {
			return "", fmt.Errorf("unable to stat supervise: %w", serr)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(svcDir, target)
		}
		if merr := unix.Mkdir(target, 0o700); merr != nil && merr != unix.EEXIST {
			return "", fmt.Errorf("unable to mkdir supervise (a symlink to %s): %w", target, merr)
		}
		return path, nil
	}
	if err != unix.EROFS && err != unix.EACCES && err != unix.EPERM {
		return "", fmt.Errorf("unable to mkdir supervise: %w", err)
	}
	alt, aerr := RuntimePath(svcDir)
	if aerr != nil {
		return "", fmt.Errorf("unable to mkdir supervise: %w", err)
	}
	if merr := os.MkdirAll(alt, 0o700); merr != nil {
		return "", fmt.Errorf("unable to mkdir supervise (%w), nor %s: %w", err, alt, merr)
	}
	return alt, nil
}

func (d *Dir) open() error {
	var err error
	d.lock, err = unix.Open(filepath.Join(d.Path, "lock"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("unable to open supervise/lock: %w", err)
	}
	if err := unix.Flock(d.lock, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return ErrLocked
	}
	d.Control, err = openFIFO(filepath.Join(d.Path, "control"), unix.O_RDWR)
	return err
}

func openFIFO(path string, mode int) (int, error) {
	name := "supervise/" + filepath.Base(path)
	_ = unix.Mkfifo(path, 0o600) // it may exist from an earlier run
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return -1, fmt.Errorf("unable to stat %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return -1, fmt.Errorf("%s exists but is not a fifo", name)
	}
	fd, err := unix.Open(path, mode|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("unable to open %s: %w", name, err)
	}
	return fd, nil
}

// Close releases the lock and closes the FIFOs. The status files stay, as
// runit leaves them; clients see through ok that nobody supervises.
func (d *Dir) Close() {
	for _, fd := range []*int{&d.ok, &d.Control, &d.lock} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// Write records s in status, stat and, when withPid is set, pid, each
// through a *.new file renamed into place so readers never see half a file.
//
// The order is runsv's: pid, stat, then status, so that a client that
// sees a pid in status finds the same pid in the pid file (status first
// left a window where status named the new process and pid was stale).
func (d *Dir) Write(s Status, withPid bool) error {
	if pid := s.PidText(); withPid && (!d.hasPid || pid != d.pid) {
		if err := d.replace("pid", []byte(pid)); err != nil {
			return err
		}
		d.pid, d.hasPid = pid, true
	}
	if stat := s.Stat(); !d.hasStat || stat != d.stat {
		if err := d.replace("stat", []byte(stat)); err != nil {
			return err
		}
		d.stat, d.hasStat = stat, true
	}
	b := s.Bytes()
	return d.replace("status", b[:])
}

// Moved tells d that its directory is now at path, whose files may be
// stale: the next Write rewrites them all.
func (d *Dir) Moved(path string) {
	d.Path = path
	d.hasStat, d.hasPid = false, false
}

// replace writes name through name.new. When the directory is no longer
// where it was, it is found again and the write retried.
func (d *Dir) replace(name string, data []byte) error {
	err := d.replaceIn(name, data)
	if errors.Is(err, unix.ENOENT) && d.relocate() {
		err = d.replaceIn(name, data)
	}
	return err
}

// relocate finds the directory again through the lock file, which the
// kernel follows wherever it goes: a service directory moved away while
// supervised (out of runsvdir's sight) still gets its last status, as
// with runsv, which works relative to its own working directory.
func (d *Dir) relocate() bool {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(d.lock))
	if err != nil || d.lock < 0 || strings.HasSuffix(p, " (deleted)") || filepath.Dir(p) == d.Path {
		return false
	}
	d.Path = filepath.Dir(p)
	return true
}

func (d *Dir) replaceIn(name string, data []byte) error {
	tmp := filepath.Join(d.Path, name+".new")
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_TRUNC|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("unable to open supervise/%s.new: %w", name, err)
	}
	n, err := unix.Write(fd, data)
	unix.Close(fd)
	if err != nil || n != len(data) {
		unix.Unlink(tmp)
		if err == nil {
			err = errors.New("partial write")
		}
		return fmt.Errorf("unable to write supervise/%s.new: %w", name, err)
	}
	if err := unix.Rename(tmp, filepath.Join(d.Path, name)); err != nil {
		return fmt.Errorf("unable to rename supervise/%s.new: %w", name, err)
	}
	return nil
}
