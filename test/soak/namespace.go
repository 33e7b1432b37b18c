package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nsRefused says why PID namespaces cannot be made here, or "" when they can.
func nsRefused() string {
	if _, err := exec.LookPath("unshare"); err != nil {
		return "unshare (util-linux) is not installed"
	}
	out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("unshare --pid --fork --mount-proc: %v: %s (run as root)", err, bytes.TrimSpace(out))
	}
	return ""
}

// initNS is vigil running as PID 1 of its own PID namespace, seen from
// outside: host pids, and the namespace's identity to tell its processes.
type initNS struct {
	cmd   *exec.Cmd // unshare, whose child is vigil
	pid   int       // vigil's pid on the host
	ns    string    // readlink of /proc/pid/ns/pid
	done  chan struct{}
	state *os.ProcessState
}

// startInit runs vigil through unshare(1) and finds its host pid, the
// child unshare forks into the new namespace.
func startInit(vigil string, args, env []string, stdout, stderr *os.File) (*initNS, error) {
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", vigil}, args...)
	cmd := exec.Command("unshare", argv...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A process group of its own: a service's `kill 0` that escaped its
	// own group reaches vigil, not the soak.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting unshare %s: %w", vigil, err)
	}
	n := &initNS{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		n.state = cmd.ProcessState
		close(n.done)
	}()
	u := cmd.Process.Pid
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", u, u))
		if f := strings.Fields(string(b)); len(f) > 0 {
			n.pid, _ = strconv.Atoi(f[0])
			// The child is vigil once it has exec'd; before, it is unshare.
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", n.pid)); exe != "" && exe != mustReadlink(fmt.Sprintf("/proc/%d/exe", u)) {
				break
			}
		}
		select {
		case <-n.done:
			return nil, fmt.Errorf("unshare %s exited before vigil started: %v", vigil, n.state)
		default:
		}
		if time.Now().After(deadline) {
			n.kill()
			return nil, errors.New("vigil did not start in its namespace within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var err error
	if n.ns, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", n.pid)); err != nil {
		n.kill()
		return nil, fmt.Errorf("reading vigil's pid namespace: %w", err)
	}
	return n, nil
}

func mustReadlink(p string) string {
	s, _ := os.Readlink(p)
	return s
}

func (n *initNS) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

// proc is one process of the namespace.
type proc struct {
	pid   int // on the host
	nspid int // in vigil's namespace
	ppid  int // host pid of the parent
	sid   int // host pid of the session leader
	state byte
	comm  string
	args  string
}

func (p proc) String() string {
	return fmt.Sprintf("pid %d (%d in the namespace) ppid %d sid %d state %c %q", p.pid, p.nspid, p.ppid, p.sid, p.state, p.args)
}

// scan lists the processes of vigil's namespace, keyed by host pid.
// Processes that exit while being read are left out.
func (n *initNS) scan() map[int]proc {
	ents, _ := os.ReadDir("/proc")
	procs := make(map[int]proc)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		if ns, _ := os.Readlink(dir + "/ns/pid"); ns != n.ns {
			continue
		}
		p, ok := readProc(dir)
		if !ok {
			continue
		}
		p.pid = pid
		procs[pid] = p
	}
	return procs
}

// readProc reads state, parent, session and pids from /proc/PID.
func readProc(dir string) (proc, bool) {
	var p proc
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return p, false
	}
	// comm is in parentheses and may hold anything; the fields follow the
	// last ')'.
	i, j := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if i < 0 || j < i {
		return p, false
	}
	p.comm = string(stat[i+1 : j])
	f := strings.Fields(string(stat[j+1:]))
	if len(f) < 4 {
		return p, false
	}
	p.state = f[0][0]
	p.ppid, _ = strconv.Atoi(f[1])
	p.sid, _ = strconv.Atoi(f[3])
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return p, false
	}
	for _, ln := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(ln, "NSpid:"); ok {
			ids := strings.Fields(v)
			if len(ids) > 0 {
				p.nspid, _ = strconv.Atoi(ids[len(ids)-1])
			}
		}
	}
	args, _ := os.ReadFile(dir + "/cmdline")
	p.args = strings.TrimSpace(string(bytes.ReplaceAll(args, []byte{0}, []byte{' '})))
	if p.args == "" {
		p.args = "[" + p.comm + "]"
	}
	return p, true
}

// usage is vigil's resident memory in kB and its open descriptors.
type usage struct {
	rssKB int
	fds   int
	links []string // what each descriptor refers to, sorted
}

func (n *initNS) usage() (usage, error) {
	var u usage
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.pid))
	if err != nil {
		return u, fmt.Errorf("reading vigil's status: %w", err)
	}
	for _, ln := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(ln, "VmRSS:"); ok {
			u.rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", n.pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return u, fmt.Errorf("reading vigil's descriptors: %w", err)
	}
	u.fds = len(ents)
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		u.links = append(u.links, fdKind(l))
	}
	return u, nil
}

// fdKind is a descriptor's target without the inode numbers that differ
// between two otherwise equal sets (pipe:[123] is a pipe).
func fdKind(link string) string {
	if i := strings.Index(link, ":["); i > 0 && strings.HasSuffix(link, "]") {
		return link[:i]
	}
	return link
}
