// Package cgroup finds vigil's own memory cgroup and reads and watches
// its count of OOM kills, so that a service killed by the kernel's OOM
// killer can be told from one killed by a user's KILL. Kubernetes and
// Docker report an OOM kill only when the container's main process dies
// of it; a service under vigil would otherwise die of "signal 9" and
// nothing more.
//
// cgroup v2 counts kills as "oom_kill N" in memory.events, which the
// kernel marks modified (inotify IN_MODIFY) when it changes. cgroup v1
// (kernel 4.13 and later) counts them as "oom_kill N" in
// memory.oom_control, and notifies an eventfd registered through
// cgroup.event_control, which needs that file writable: Docker mounts
// the hierarchy read-only, so there the count can be read but not
// watched, and a caller reads it when a process dies of KILL
// (KillAttributor).
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Cgroup is a memory cgroup's directory in the mounted hierarchy.
type Cgroup struct {
	Dir string
	V2  bool // memory.events (v2) rather than memory.oom_control (v1)
}

// ErrNoMemoryCgroup: no memory controller is mounted where vigil can see it.
var ErrNoMemoryCgroup = errors.New("no memory cgroup mounted")

// Self is the memory cgroup vigil runs in, from /proc/self/cgroup and
// /proc/self/mountinfo.
func Self() (*Cgroup, error) {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return find(cg, mi, exists)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// mount is a cgroup filesystem of mountinfo.
type mount struct {
	root, point string
	v2          bool
	memory      bool // a v1 hierarchy with the memory controller
}

// find resolves the memory cgroup from the two /proc files. v2 wins when
// its directory has memory.events (the memory controller is on there);
// otherwise the v1 memory hierarchy.
func find(procCgroup, mountinfo []byte, exists func(string) bool) (*Cgroup, error) {
	var v2Path, v1Path string
	haveV2, haveV1 := false, false
	for _, line := range strings.Split(string(procCgroup), "\n") {
		// hierarchy-ID:controller-list:cgroup-path; the path may hold ':'.
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && ctrls == "" {
			v2Path, haveV2 = path, true
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "memory" {
				v1Path, haveV1 = path, true
			}
		}
	}
	mounts := parseMountinfo(mountinfo)
	if haveV2 {
		for _, m := range mounts {
			if m.v2 {
				if dir := under(m, v2Path); exists(filepath.Join(dir, "memory.events")) {
					return &Cgroup{Dir: dir, V2: true}, nil
				}
			}
		}
	}
	if haveV1 {
		for _, m := range mounts {
			if m.memory {
				if dir := under(m, v1Path); exists(filepath.Join(dir, "memory.oom_control")) {
					return &Cgroup{Dir: dir}, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("cgroup: %w", ErrNoMemoryCgroup)
}

// under maps a cgroup path to its directory below the mount: the mount
// shows the hierarchy from its root (a container's own cgroup, under
// Docker without a cgroup namespace). A path outside the root (seen
// from another namespace) is the mount point itself.
func under(m mount, path string) string {
	rel, ok := strings.CutPrefix(path, m.root)
	if m.root == "/" {
		rel, ok = path, true
	}
	if !ok || rel != "" && !strings.HasPrefix(rel, "/") {
		return m.point
	}
	return filepath.Join(m.point, rel)
}

// parseMountinfo lists the cgroup mounts: "ID PARENT MAJ:MIN ROOT POINT
// OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS", with octal escapes
// (\040 for a space) in paths.
func parseMountinfo(b []byte) []mount {
	var list []mount
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		fstype := f[sep+1]
		m := mount{root: unescape(f[3]), point: unescape(f[4])}
		switch fstype {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			if sep+3 < len(f) {
				for _, o := range strings.Split(f[sep+3], ",") {
					if o == "memory" {
						m.memory = true
					}
				}
			}
		default:
			continue
		}
		list = append(list, m)
	}
	return list
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// countFile is the file holding the count.
func (c *Cgroup) countFile() string {
	if c.V2 {
		return filepath.Join(c.Dir, "memory.events")
	}
	return filepath.Join(c.Dir, "memory.oom_control")
}

// ErrNoCount: the kernel does not count OOM kills (v1 before 4.13).
var ErrNoCount = errors.New("no oom_kill count")

// OOMKills reads the count of OOM kills in the cgroup (and below it).
func (c *Cgroup) OOMKills() (uint64, error) {
	b, err := os.ReadFile(c.countFile())
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	n, err := parseCount(b)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %w", c.countFile(), err)
	}
	return n, nil
}

// parseCount finds the "oom_kill N" line of memory.events or
// memory.oom_control.
func parseCount(b []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == "oom_kill" {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("oom_kill %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, ErrNoCount
}
