package pid1

import (
	"bytes"
	"os"
	"strconv"
)

// orphans lists vigil's children that it did not start: processes that
// were reparented to it when their parent exited. It reads /proc; without
// /proc the list is empty, and at the end of the grace period KILL still
// reaches them through kill(-1) when vigil is PID 1.
func (p *initProc) orphans() []int {
	dir, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	var list []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == p.self {
			continue
		}
		if parentOf(pid) == p.self && !p.rp.Owns(pid) {
			list = append(list, pid)
		}
	}
	return list
}

// parentOf reads the parent pid from /proc/PID/stat, whose second field
// (the command name, in parentheses) may itself hold spaces and ')'.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(string(fields[1]))
	return ppid
}
