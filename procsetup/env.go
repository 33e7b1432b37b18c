package procsetup

import (
	"bytes"
	"errors"
	"os"
	"strings"

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
		val, err := readFirstLine(fd, name)
		if err != nil {
			if errors.Is(err, unix.EISDIR) && !s.EnvDirStrict {
				if s.Verbose && s.Warn != nil {
					s.Warn("unable to read " + dir + "/" + name + ": " + errstr.Of(err))
				}
				continue
			}
			return nil, s.fail("", "unable to read "+dir+"/"+name, err)
		}
		if val == nil {
			changes = append(changes, name)
			continue
		}
		changes = append(changes, name+"="+string(val))
	}
	return changes, nil
}

// readFirstLine returns the value an envdir file gives, or nil when it
// unsets the variable (an empty or vanished file).
func readFirstLine(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return nil, nil
		}
		return nil, err
	}
	defer unix.Close(fd)
	var buf []byte
	chunk := make([]byte, 256)
	for {
		n, err := unix.Read(fd, chunk)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		buf = append(buf, chunk[:n]...)
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			break // only the first line counts
		}
	}
	if len(buf) == 0 {
		return nil, nil
	}
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	}
	for len(buf) > 0 && (buf[len(buf)-1] == ' ' || buf[len(buf)-1] == '\t') {
		buf = buf[:len(buf)-1]
	}
	for i, c := range buf {
		if c == 0 {
			buf[i] = '\n'
		}
	}
	return append([]byte{}, buf...), nil
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
