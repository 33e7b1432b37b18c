package pid1

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// defaultPath is execvp's search path when PATH is not set.
const defaultPath = "/bin:/usr/bin"

// lookPath finds the main command as execvp would from dir, the image's
// working directory, which vigil itself has left for /: a name with a
// slash, and a relative PATH entry ("", ".", "bin"), are taken from dir.
// A file found but not executable is an error only if nothing later in
// PATH is executable, as with execvp.
func lookPath(file, dir string) (string, error) {
	if file == "" {
		return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
	}
	if strings.Contains(file, "/") {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		return file, executable(file)
	}
	path, ok := os.LookupEnv("PATH")
	if !ok {
		path = defaultPath
	}
	dirs := filepath.SplitList(path)
	if path == "" {
		dirs = []string{""} // PATH= is one empty entry: the directory
	}
	var denied error
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, fs.ErrPermission) && denied == nil {
			denied = &exec.Error{Name: file, Err: err}
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

// executable reports why path cannot be run, if it cannot: missing, a
// directory, or not executable by vigil's effective user.
func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS) != nil {
		return &fs.PathError{Op: "exec", Path: path, Err: fs.ErrPermission}
	}
	return nil
}
