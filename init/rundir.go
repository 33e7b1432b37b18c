package pid1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/errstr"
	"github.com/vigil-init/vigil/services/supervise"
)

// runDirHint is what to change when services cannot keep their state.
const runDirHint = "add --tmpfs /run to docker run (or a writable volume at " + supervise.DefaultRunDir +
	"), or set VIGIL_RUNDIR to a writable directory"

// checkSupervisable tells, before the engine starts, whether the services
// of SvDir can hold their supervise/ directories: in the service directory
// or, where that is read-only (docker run --read-only), under $VIGIL_RUNDIR.
// When none can, it returns the error that ends the container (111); when
// some cannot, it warns once, in one line. Either way it names what to add,
// instead of the engine's warning per service, after which the container
// would run with nothing supervised.
func (p *initProc) checkSupervisable() error {
	total, stuck, err := unsupervisable(p.opts.SvDir)
	if len(stuck) == 0 {
		return nil
	}
	why := fmt.Sprintf("%s and %v", readOnlyWhat(stuck), err)
	if len(stuck) == total {
		return fmt.Errorf("no service in %s can be supervised: %s; %s", p.opts.SvDir, why, runDirHint)
	}
	p.warnf("%d of %d services in %s cannot be supervised (%s): %s; %s",
		len(stuck), total, p.opts.SvDir, strings.Join(stuck, ", "), why, runDirHint)
	return nil
}

func readOnlyWhat(stuck []string) string {
	if len(stuck) == 1 {
		return "its directory is read-only"
	}
	return "their directories are read-only"
}

// unsupervisable counts the services in svdir (the directories runsvdir
// would supervise) and lists those whose supervise/ (or log/supervise/)
// can be made neither in place nor under the runtime directory, with the
// reason of the first. An unreadable svdir lists none: the engine says why.
func unsupervisable(svdir string) (total int, stuck []string, why error) {
	entries, err := os.ReadDir(svdir)
	if err != nil {
		return 0, nil, nil
	}
	for _, ent := range entries {
		name := ent.Name()
		dir := filepath.Join(svdir, name)
		if strings.HasPrefix(name, ".") {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		total++
		err := canHoldSupervise(dir)
		if err == nil {
			if st, serr := os.Stat(filepath.Join(dir, "log")); serr == nil && st.IsDir() {
				err = canHoldSupervise(filepath.Join(dir, "log"))
			}
		}
		if err != nil {
			stuck = append(stuck, name)
			if why == nil {
				why = err
			}
		}
	}
	return total, stuck, why
}

// canHoldSupervise follows the choice supervise.Open makes for svcDir: an
// existing writable supervise/, else a new one in svcDir, else one under
// the runtime directory. It returns nil where Open would fail for another
// reason (a supervise/ that is not a directory...): the engine reports
// those itself, and they are not the runtime directory's fault.
func canHoldSupervise(svcDir string) error {
	path := filepath.Join(svcDir, "supervise")
	if _, err := os.Lstat(path); err == nil {
		st, err := os.Stat(path)
		if err != nil || !st.IsDir() {
			return nil // a dangling symlink, made by Open, or not a directory
		}
		if unix.Access(path, unix.W_OK) == nil {
			return nil
		}
	} else {
		err := unix.Access(svcDir, unix.W_OK)
		if err == nil || !isDenied(err) {
			return nil
		}
	}
	alt, err := supervise.RuntimePath(svcDir)
	if err != nil {
		return nil
	}
	return canMake(alt, filepath.Clean(supervise.RunDir()))
}

// canMake reports whether os.MkdirAll(dir) would succeed, without making
// anything: dir is writable if it exists, else its nearest existing
// ancestor is. Messages name top (the runtime directory) rather than dir
// when what is in the way is top or above it.
func canMake(dir, top string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		// Under a file, stat says ENOTDIR: that file is found going up.
		missing := errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR)
		if err != nil && (!missing || d == filepath.Dir(d)) {
			return fmt.Errorf("%s cannot be created (%s: %s)", dir, d, errstr.Of(err))
		}
		if err != nil {
			continue
		}
		name := dir
		if !strings.HasPrefix(d, top+"/") {
			name = top
		}
		if !st.IsDir() {
			return fmt.Errorf("%s cannot be created (%s is not a directory)", name, d)
		}
		if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil {
			if d == name {
				return fmt.Errorf("%s is not writable (%s)", name, errstr.Of(err))
			}
			return fmt.Errorf("%s cannot be created (%s: %s)", name, d, errstr.Of(err))
		}
		return nil
	}
}

func isDenied(err error) bool {
	return err == unix.EROFS || err == unix.EACCES || err == unix.EPERM
}
