package procsetup

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resolve returns the uid and the group list (primary first) of a, looking
// names up in the current root's /etc/passwd and /etc/group, with runit's
// syntax and messages. field names the process.json field for errors.
func (s *Spec) resolve(a *Account) (uid uint32, gids []uint32, err error) {
	if a.Numeric {
		gids = append([]uint32{a.GID}, a.Groups...)
		return a.UID, gids, nil
	}
	name := a.Name
	if a.Strict {
		u, lerr := lookupUser(name)
		if lerr != nil {
			return 0, nil, s.fail("", "unable to get password file entry", lerr)
		}
		if u == nil {
			return 0, nil, s.fail("", "unknown account: "+name, nil)
		}
		return u.uid, []uint32{u.gid}, nil
	}
	if strings.HasPrefix(name, ":") {
		uid, gids, ok := parseIDs(name[1:])
		if !ok {
			return 0, nil, s.fail("", "invalid uid/gids: "+name[1:], nil)
		}
		return uid, gids, nil
	}
	unknown := s.fail("", "unknown user/group: "+name, nil)
	user, groups, hasGroups := strings.Cut(name, ":")
	u, lerr := lookupUser(user)
	if lerr != nil {
		return 0, nil, s.fail("", "unable to get password/group file entry", lerr)
	}
	if u == nil {
		return 0, nil, unknown
	}
	if !hasGroups {
		return u.uid, []uint32{u.gid}, nil
	}
	// At most 60 groups; runit ignores the rest.
	for i := 0; i < 60; i++ {
		g, more, _ := strings.Cut(groups, ":")
		gid, found, lerr := lookupGroup(g)
		if lerr != nil {
			return 0, nil, s.fail("", "unable to get password/group file entry", lerr)
		}
		if !found {
			return 0, nil, unknown
		}
		gids = append(gids, gid)
		if !strings.Contains(groups, ":") {
			break
		}
		groups = more
	}
	return u.uid, gids, nil
}

// parseIDs parses runit's "uid:gid[:gid...]" (after the leading ':'),
// with scan_ulong's leniency: an empty number is 0, values wrap.
func parseIDs(s string) (uid uint32, gids []uint32, ok bool) {
	n, rest := scanPrefix(s)
	if !strings.HasPrefix(rest, ":") {
		return 0, nil, false
	}
	uid, rest = uint32(n), rest[1:]
	for i := 0; i < 60; i++ {
		n, rest = scanPrefix(rest)
		gids = append(gids, uint32(n))
		if !strings.HasPrefix(rest, ":") {
			break
		}
		rest = rest[1:]
	}
	if rest != "" {
		return 0, nil, false
	}
	return uid, gids, true
}

func scanPrefix(s string) (uint64, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	v, _ := scanUlong(s[:i])
	return v, s[i:]
}

type passwd struct{ uid, gid uint32 }

// lookupUser is getpwnam on the files database: nil when there is no
// such user, an error when /etc/passwd cannot be read (a scratch image
// has none: give such a service numeric ids).
func lookupUser(name string) (*passwd, error) {
	var found *passwd
	err := scanDB("/etc/passwd", name, func(f []string) bool {
		if len(f) < 4 {
			return false
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return false
		}
		found = &passwd{uint32(uid), uint32(gid)}
		return true
	})
	return found, err
}

// lookupGroup is getgrnam on the files database.
func lookupGroup(name string) (gid uint32, found bool, err error) {
	err = scanDB("/etc/group", name, func(f []string) bool {
		if len(f) < 3 {
			return false
		}
		g, perr := strconv.ParseUint(f[2], 10, 32)
		if perr != nil {
			return false
		}
		gid, found = uint32(g), true
		return true
	})
	return gid, found, err
}

// scanDB calls match with the ':'-separated fields of each line of file
// whose first field is name, until match returns true.
func scanDB(file, name string, match func([]string) bool) error {
	if name == "" {
		return nil
	}
	// A missing file is an error, not an unknown name: glibc's getpwnam
	// reports ENOENT, and runit's "unable to get password/group file
	// entry: file does not exist" says what is wrong in a bare chroot.
	// unix.Open, not os.Open: an *os.File would set up the runtime's
	// poller (epoll_create1 and two epoll_ctl) for a file it cannot poll.
	fd, err := unix.Open(file, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: file, Err: err}
	}
	defer unix.Close(fd)
	sc := bufio.NewScanner(fdReader(fd))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+":") {
			continue
		}
		if match(strings.Split(line, ":")) {
			return nil
		}
	}
	return sc.Err()
}

// fdReader reads a descriptor with read(2), retrying EINTR.
type fdReader int

func (fd fdReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), b)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
