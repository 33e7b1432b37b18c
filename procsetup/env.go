package procsetup

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
)

// readEnvDir reads an envdir the way runit's chpst does and returns the
// changes for mergeEnv, in directory order: "NAME=value" sets, "NAME"
// unsets. For each entry not starting with '.': only the first line is
// kept, trailing spaces and tabs are removed, NULs become newlines, and
// an empty file unsets the variable. A subdirectory is skipped unless
// strict (envdir), where it is fatal.
//
// One deliberate difference: runit leaves its read buffer untouched for a
// file that vanished or is a dangling symlink, so that entry silently
// gets the previous file's value (or is unset when there was none),
// depending on directory order. vigil always unsets it.
func (s *Spec) readEnvDir() ([]string, error) {
	dir := *s.EnvDir
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		// runit chdirs, then opens "."; tell the two failures apart.
		if err == unix.EACCES && unix.Access(dir, unix.X_OK) == nil {
			return nil, s.fail("", "unable to open directory: "+dir, err)
		}
		return nil, s.fail("", "unable to switch to directory: "+dir, err)
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	ents, err := f.ReadDir(-1) // directory order, as readdir(3)
	if err != nil {
		return nil, s.fail("", "unable to read directory: "+dir, err)
	}
	var changes []string
	for _, e := range ents {
		name := e.Name()
		if name[0] == '.' {
			continue
		}
		entry, set, err := readEntry(fd, name)
		if err != nil {
			if errors.Is(err, unix.EISDIR) && !s.EnvDirStrict {
				if s.Verbose && s.Warn != nil {
					s.Warn("unable to read " + dir + "/" + name + ": " + errstr.Of(err))
				}
				continue
			}
			return nil, s.fail("", "unable to read "+dir+"/"+name, err)
		}
		if !set {
			changes = append(changes, name)
			continue
		}
		changes = append(changes, entry)
	}
	return changes, nil
}

// firstRead is how much of an envdir file is read before its first line
// is known to be long; most values end within it.
const firstRead = 64 << 10

// readEntry returns "NAME=value" for the envdir file name, or set false
// when it unsets the variable (an empty or vanished file). It reads no
// further than the first newline, and holds one copy of the value: the
// bytes are read into the buffer that becomes the string, sized from the
// file's length once the line is known to be long, so that a file of
// 200 MB costs 200 MB, not several times that.
func readEntry(dirfd int, name string) (entry string, set bool, err error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return "", false, nil
		}
		return "", false, err
	}
	defer unix.Close(fd)
	var size int64
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		size = st.Size
	}
	head := len(name) + 1
	buf := make([]byte, head, head+int(min(size, firstRead))+1)
	copy(buf, name)
	buf[len(name)] = '='
	empty := true
	for {
		if len(buf) == cap(buf) {
			// No newline in what was read: make room for the whole file
			// (as its size says; doubling when it grew or has no size),
			// so that the value is copied at most once, while it is small.
			want := head + int(size) + 1
			if want <= cap(buf) {
				want = 2 * cap(buf)
			}
			grown := make([]byte, len(buf), want)
			copy(grown, buf)
			buf = grown
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", false, err
		}
		if n <= 0 {
			break
		}
		empty = false
		read := buf[len(buf) : len(buf)+n]
		if i := bytes.IndexByte(read, '\n'); i >= 0 {
			buf = buf[:len(buf)+i] // only the first line counts
			break
		}
		buf = buf[:len(buf)+n]
	}
	if empty {
		return "", false, nil
	}
	val := buf[head:]
	for len(val) > 0 && (val[len(val)-1] == ' ' || val[len(val)-1] == '\t') {
		val = val[:len(val)-1]
	}
	for i, c := range val {
		if c == 0 {
			val[i] = '\n'
		}
	}
	buf = buf[:head+len(val)]
	if len(buf) < cap(buf)/2 {
		// A short line in a big buffer: keep only the line.
		return string(buf), true, nil
	}
	// The buffer is never written again: it becomes the string without
	// the copy string(buf) would make.
	return unsafe.String(&buf[0], len(buf)), true, nil
}

// mergeEnv applies changes to base exactly as runit's pathexec_env_run:
// a changed variable's first entry is replaced by the last entry (so the
// order is runit's), then "NAME=value" is appended; "NAME" only removes.
func mergeEnv(base, changes []string) []string {
	if len(changes) == 0 {
		return base
	}
	e := make([]string, len(base), len(base)+len(changes))
	copy(e, base)
	for _, c := range changes {
		name, _, set := strings.Cut(c, "=")
		for t := range e {
			if len(e[t]) > len(name) && e[t][len(name)] == '=' && e[t][:len(name)] == name {
				e[t] = e[len(e)-1]
				e = e[:len(e)-1]
				break
			}
		}
		if set {
			e = append(e, c)
		}
	}
	return e
}

// getenv is runit's env_get: the first NAME= entry.
func getenv(env []string, name string) (string, bool) {
	for _, kv := range env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}
