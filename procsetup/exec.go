package procsetup

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec applies s to the current process in runit's order and replaces
// the process with the program. It returns only on failure, with an
// *Error; the process may then be half set up and should exit.
//
// The order is chpst's: setsid, envdir, chroot (then cwd), nice, env
// UID/GID, user and groups, lock, closing stdio, limits, exec.
// process.json's extras fit in where they must: oom_score_adj, umask,
// hard rlimits and the bounding set before the user change (they need
// privilege), the other capability sets and no_new_privs after it.
//
// Nice values, capabilities and no_new_privs belong to one thread, and the
// thread that calls execve becomes the program, so Exec locks itself to
// its thread for good; so do the uid, gid and groups (creds.go).
func (s *Spec) Exec() error {
	if len(s.Args) == 0 {
		return s.fail("args", "no program to run", nil)
	}
	runtime.LockOSThread()

	base := s.Env
	if base == nil {
		base = os.Environ()
	}
	var changes []string

	if s.Setsid {
		unix.Setsid() // as runit: failure (already a leader) is fine
	}
	if s.EnvDir != nil {
		c, err := s.readEnvDir()
		if err != nil {
			return err
		}
		changes = c
	}
	if s.Chroot != nil {
		if err := syscall.Chdir(*s.Chroot); err != nil {
			return s.fail("", "unable to change directory: "+*s.Chroot, err)
		}
		if err := syscall.Chroot("."); err != nil {
			return s.fail("", "unable to change root directory", err)
		}
	}
	if s.Cwd != "" {
		if err := syscall.Chdir(s.Cwd); err != nil {
			return s.fail("cwd", "unable to change directory: "+s.Cwd, err)
		}
	}
	if s.Nice != 0 {
		if err := nice(int32(s.Nice)); err != nil {
			return s.fail("", "unable to set nice level", err)
		}
	}
	if s.EnvUser != nil {
		uid, gids, err := s.resolve(s.EnvUser)
		if err != nil {
			return err
		}
		changes = append(changes,
			"GID="+strconv.FormatUint(uint64(gids[0]), 10),
			"UID="+strconv.FormatUint(uint64(uid), 10))
	}

	if s.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*s.OOMScoreAdj)), 0); err != nil {
			return s.fail("oomScoreAdj", "unable to write /proc/self/oom_score_adj", err)
		}
	}
	if s.Umask != nil {
		syscall.Umask(int(*s.Umask))
	}
	argv := s.Args
	if s.Argv0 != nil {
		argv = append([]string{*s.Argv0}, s.Args[1:]...)
	}
	env := mergeEnv(base, changes)
	paths := execPaths(s.Args[0], base)
	if s.limitsMemory() {
		warmExec(paths, argv, env)
	}
	for i, r := range s.Rlimits {
		if !r.SoftOnly {
			if err := s.setRlimit(i, r); err != nil {
				return err
			}
		}
	}
	if s.Capabilities != nil {
		st, err := readCaps()
		if err != nil {
			return s.fail("capabilities", "unable to read vigil's capabilities", err)
		}
		if err := s.checkCaps(st); err != nil {
			return err
		}
		if err := s.dropBounding(st); err != nil {
			return err
		}
	}
	if s.User != nil {
		if err := s.setUser(); err != nil {
			return err
		}
	}
	if s.Lock != nil {
		if err := s.lock(); err != nil {
			return err
		}
	}
	for fd, name := range [3]string{"stdin", "stdout", "stderr"} {
		if s.Close[fd] {
			if err := unix.Close(fd); err != nil {
				return s.fail("", "unable to close "+name, err)
			}
		}
	}
	for i, r := range s.Rlimits {
		if r.SoftOnly {
			if err := s.setRlimit(i, r); err != nil {
				return err
			}
		}
	}
	if s.Capabilities != nil {
		if err := s.setCaps(); err != nil {
			return err
		}
	}
	if s.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return s.fail("noNewPrivileges", "unable to set no_new_privs", err)
		}
	}

	err := pathExec(paths, argv, env)
	return s.fail("args", "unable to run: "+argv[0], err)
}

// nice is glibc's nice(3) on this thread: Linux keeps nice per thread.
func nice(inc int32) error {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return err
	}
	cur := int32(20 - prio) // the raw syscall returns 20-nice
	if err := unix.Setpriority(unix.PRIO_PROCESS, 0, int(cur+inc)); err != nil {
		if err == unix.EACCES {
			err = unix.EPERM
		}
		return err
	}
	return nil
}

// setUser replaces the groups (never keeping the old supplementary list),
// then sets gid and uid. With capabilities to keep, PR_SET_KEEPCAPS on
// this thread keeps the permitted set across the uid change.
func (s *Spec) setUser() error {
	uid, gids, err := s.resolve(s.User)
	if err != nil {
		return err
	}
	keep := s.Capabilities != nil
	if keep {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return s.fail("capabilities", "unable to keep capabilities", err)
		}
	}
	if err := setThreadGroups(gids); err != nil {
		return s.fail("user.additionalGids", "unable to setgroups", err)
	}
	if err := setThreadGID(gids[0]); err != nil {
		return s.fail("user.gid", "unable to setgid", err)
	}
	if err := setThreadUID(uid); err != nil {
		return s.fail("user.uid", "unable to setuid", err)
	}
	if keep {
		unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0)
	}
	return nil
}

// lock takes chpst's lock: the descriptor is not close-on-exec, so the
// program holds the lock while it runs.
func (s *Spec) lock() error {
	name := *s.Lock
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_APPEND|unix.O_CREAT, 0600)
	if err != nil {
		return s.fail("", "unable to open lock: "+name, err)
	}
	how := unix.LOCK_EX
	if !s.LockWait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return s.fail("", "unable to lock: "+name, err)
	}
	return nil
}

// setRlimit sets one limit. chpst's (SoftOnly) set the soft limit only,
// capped at the hard limit. syscall.Setrlimit, not unix.Setrlimit: Go
// raised its own RLIMIT_NOFILE at start and syscall.Exec puts the
// original back unless syscall.Setrlimit set RLIMIT_NOFILE since.
func (s *Spec) setRlimit(i int, r Rlimit) error {
	field := func() string { return "rlimits[" + strconv.Itoa(i) + "]" }
	var lim syscall.Rlimit
	if r.SoftOnly {
		if err := syscall.Getrlimit(r.Resource, &lim); err != nil {
			return s.fail(field(), "unable to getrlimit()", err)
		}
		if int64(r.Soft) < 0 || r.Soft > lim.Max {
			lim.Cur = lim.Max
		} else {
			lim.Cur = r.Soft
		}
	} else {
		lim = syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
	}
	if err := syscall.Setrlimit(r.Resource, &lim); err != nil {
		if s.Origin != "" {
			return s.fail(field(), "unable to set "+r.Name, err)
		}
		return s.fail("", "unable to setrlimit()", err)
	}
	return nil
}

// execPaths is where runit's pathexec_run looks for file: a name with a
// slash as is, else in each PATH entry of search (default /bin:/usr/bin;
// an empty entry is ".").
func execPaths(file string, search []string) []string {
	if strings.Contains(file, "/") {
		return []string{file}
	}
	path, ok := getenv(search, "PATH")
	if !ok {
		path = "/bin:/usr/bin"
	}
	var paths []string
	for dir := range strings.SplitSeq(path, ":") {
		if dir == "" {
			dir = "."
		}
		paths = append(paths, dir+"/"+file)
	}
	return paths
}

// pathExec is runit's pathexec_run on execPaths' list: each is tried,
// going on past "not found", "access denied", "permission denied" and
// "is a directory". There is no fallback to /bin/sh.
//
// A path that does not exist is passed over after a stat, not an execve:
// each execve copies the whole environment first, and an envdir value of
// 200 MB would cost 200 MB more for every PATH entry tried.
func pathExec(paths, argv, env []string) error {
	var saved, err error
	for i, full := range paths {
		var st unix.Stat_t
		err = unix.ENOENT
		if len(paths) == 1 || unix.Stat(full, &st) != unix.ENOENT {
			err = syscall.Exec(full, argv, env)
		}
		if err != syscall.ENOENT {
			saved = err
			if err != syscall.EACCES && err != syscall.EPERM && err != syscall.EISDIR {
				return err
			}
		}
		if i == len(paths)-1 && saved != nil {
			return saved
		}
	}
	return err
}

// warmExec makes, once, the allocations that pathExec will make, and
// collects them, before any resource limit is set. A Go program reserves
// far more address space than it uses (1.2 GB here), so after chpst -m
// 300000000 sets RLIMIT_AS below that, any allocation that needs a new
// mapping fails, and the runtime dies of it ("fatal error: runtime:
// cannot allocate memory") instead of running the program. After the
// collection, pathExec's allocations reuse what this one freed; and the
// memory profiler, which records a sampled allocation's stack in memory
// of its own, samples no more.
//
// Only the limits on memory call for it; chpst -o and the others do not.
func warmExec(paths, argv, env []string) {
	runtime.MemProfileRate = 0
	for _, p := range paths {
		syscall.BytePtrFromString(p)
		syscall.BytePtrFromString(p)
	}
	syscall.SlicePtrFromStrings(argv)
	syscall.SlicePtrFromStrings(env)
	runtime.GC()
}

// limitsMemory reports whether s sets a limit that a Go allocation can run
// into: the address space, the data segment or the stack.
func (s *Spec) limitsMemory() bool {
	for _, r := range s.Rlimits {
		switch r.Resource {
		case unix.RLIMIT_AS, unix.RLIMIT_DATA, unix.RLIMIT_STACK:
			return true
		}
	}
	return false
}
