package main

// Supervision trees of every peer, started the same way on the same
// services: vigil's runsvdir, runit's runsvdir and runsv, s6's s6-svscan
// and s6-supervise, and supervisord. Each runs from a private copy of its
// binaries and shared libraries, so that pages shared with other copies on
// the machine do not flatter anyone.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// supNames are the supervisors in the order they are run and shown.
var supNames = []string{"vigil", "runit", "s6", "supervisord"}

// supTree is one running supervision tree.
type supTree struct {
	name  string
	cmd   *exec.Cmd
	root  string // everything of this run: private binaries, services, marks
	svdir string
	marks string
}

// supAvailable says which supervisors can run here, and why the others
// cannot.
func supAvailable(e *Env) (ok []string, why map[string]string) {
	why = map[string]string{}
	for _, name := range supNames {
		if err := supCheck(e, name); err != nil {
			why[name] = err.Error()
			fmt.Fprintf(e.Log, "bench: %s skipped: %v\n", name, err)
			continue
		}
		ok = append(ok, name)
	}
	return ok, why
}

func supCheck(e *Env, name string) error {
	switch name {
	case "runit":
		if e.Peer("runsvdir") == "" || e.Peer("runsv") == "" {
			return errors.New("Debian's runit is not unpacked; run scripts/peers.sh")
		}
	case "s6":
		if e.Peer("s6-svscan") == "" || e.Peer("s6-supervise") == "" {
			return errors.New("Debian's s6 is not unpacked; run scripts/peers.sh")
		}
		// s6-svscan runs /usr/bin/s6-supervise by that path: lay the
		// unpacked binaries over /usr/bin in a private mount namespace.
		out, err := exec.Command("unshare", "-m", "sh", "-c", `mount -t overlay overlay -o lowerdir="$1":/usr/bin /usr/bin && test -x /usr/bin/s6-supervise`, "sh", filepath.Dir(e.Peer("s6-supervise"))).CombinedOutput()
		if err != nil {
			return fmt.Errorf("s6 needs its binaries at /usr/bin, laid there by an overlay mount in a private mount namespace (root): %v: %s", err, strings.TrimSpace(string(out)))
		}
	case "supervisord":
		if e.Peer("supervisord") == "" {
			return errors.New("Debian's supervisor is not unpacked; run scripts/peers.sh")
		}
		if _, err := os.Stat("/usr/bin/python3"); err != nil {
			return fmt.Errorf("supervisord is Python and needs the system's /usr/bin/python3: %v", err)
		}
	}
	return nil
}

// supRaiseFiles raises the descriptor limit that the supervisors inherit:
// supervisord needs three pipes a program, vigil four descriptors a service.
func supRaiseFiles() uint64 {
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	want := unix.Rlimit{Cur: 65536, Max: 65536}
	if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) == nil {
		return want.Cur
	}
	lim.Cur = lim.Max
	unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// supServices makes services first..first+n-1 under svdir, each with run
// a hard link to the pause program (marking itself up in $MARKS).
func supServices(svdir, pause string, first, n int) error {
	for i := first; i < first+n; i++ {
		d := filepath.Join(svdir, fmt.Sprintf("s%05d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Link(pause, filepath.Join(d, "run")); err != nil {
			if err := copyFile(pause, filepath.Join(d, "run")); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, fi.Mode().Perm())
}

// privateCopy copies bins into dir/bin and every shared library they load
// (but the dynamic loader) into dir/lib. It returns dir/bin, dir/lib.
func privateCopy(dir string, env []string, bins ...string) (string, string, error) {
	bin, lib := filepath.Join(dir, "bin"), filepath.Join(dir, "lib")
	for _, d := range []string{bin, lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", err
		}
	}
	for _, b := range bins {
		if err := copyFile(b, filepath.Join(bin, filepath.Base(b))); err != nil {
			return "", "", fmt.Errorf("private copy of %s: %w", b, err)
		}
		ldd := exec.Command("ldd", b)
		ldd.Env = env
		out, _ := ldd.Output() // a static binary: "not a dynamic executable"
		for _, line := range strings.Split(string(out), "\n") {
			_, rest, ok := strings.Cut(line, "=> ")
			if !ok {
				continue
			}
			so := strings.Fields(rest)
			if len(so) == 0 || !filepath.IsAbs(so[0]) {
				continue
			}
			if err := copyFile(so[0], filepath.Join(lib, filepath.Base(so[0]))); err != nil {
				return "", "", fmt.Errorf("private copy of %s: %w", so[0], err)
			}
		}
	}
	return bin, lib, nil
}

// supStart starts the named supervisor on svdir (made by the caller under
// root), its services marking themselves in marks.
func supStart(e *Env, name, root, svdir, marks string, n int) (*supTree, error) {
	priv := filepath.Join(root, "priv")
	env := append(os.Environ(), "MARKS="+marks)
	var cmd *exec.Cmd
	switch name {
	case "vigil":
		bin, _, err := privateCopy(priv, env, e.Vigil)
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(filepath.Join(bin, filepath.Base(e.Vigil)), "runsvdir", svdir)
		env = append(env, "VIGIL_GRACE=3s")
	case "runit":
		bin, lib, err := privateCopy(priv, env, e.Peer("runsvdir"), e.Peer("runsv"))
		if err != nil {
			return nil, err
		}
		// runsvdir runs runsv from PATH.
		cmd = exec.Command(filepath.Join(bin, "runsvdir"), svdir)
		env = append(env, "PATH="+bin+":"+os.Getenv("PATH"), "LD_LIBRARY_PATH="+lib)
	case "s6":
		libs := filepath.Join(e.Peers, "usr/lib/x86_64-linux-gnu")
		bin, lib, err := privateCopy(priv, append(env, "LD_LIBRARY_PATH="+libs), e.Peer("s6-svscan"), e.Peer("s6-supervise"))
		if err != nil {
			return nil, err
		}
		// One process, exec'd by unshare and then sh: the pid is
		// s6-svscan's. -c: room for more than the default 1000 services.
		cmd = exec.Command("unshare", "-m", "sh", "-c",
			`mount -t overlay overlay -o lowerdir="$1":/usr/bin /usr/bin && exec /usr/bin/s6-svscan -c "$2" "$3"`,
			"sh", bin, strconv.Itoa(n+100), svdir)
		env = append(env, "LD_LIBRARY_PATH="+lib)
	case "supervisord":
		python, err := filepath.EvalSymlinks("/usr/bin/python3")
		if err != nil {
			return nil, err
		}
		bin, lib, err := privateCopy(priv, env, python)
		if err != nil {
			return nil, err
		}
		conf := filepath.Join(root, "supervisord.conf")
		if err := supervisordConf(conf, root, svdir, n); err != nil {
			return nil, err
		}
		cmd = exec.Command(filepath.Join(bin, filepath.Base(python)), e.Peer("supervisord"), "-n", "-c", conf)
		env = append(env, "PYTHONHOME=/usr", "PYTHONDONTWRITEBYTECODE=1",
			"PYTHONPATH="+filepath.Join(e.Peers, "usr/lib/python3/dist-packages"), "LD_LIBRARY_PATH="+lib)
	default:
		return nil, fmt.Errorf("unknown supervisor %q", name)
	}
	cmd.Dir = root
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &supTree{name: name, cmd: cmd, root: root, svdir: svdir, marks: marks}, nil
}

// supervisordConf writes a configuration with one program per service,
// started at once and never logged to a file (the others log nowhere
// either).
func supervisordConf(path, root, svdir string, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nchildlogdir=%s\nloglevel=warn\nminfds=%d\nminprocs=%d\n\n",
		root, root, root, min(4*n+256, int(supRaiseFiles())), 200)
	ents, err := os.ReadDir(svdir)
	if err != nil {
		return err
	}
	for _, ent := range ents {
		d := filepath.Join(svdir, ent.Name())
		fmt.Fprintf(&b, "[program:%s]\ncommand=%s/run\ndirectory=%s\nstartsecs=0\nautorestart=true\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n", ent.Name(), d, d)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// supLaunch makes n services under root, starts the supervisor and waits
// until every service runs. It returns the time from the start of the
// supervisor to the last service's mark.
func supLaunch(e *Env, name, pause, root string, n int) (*supTree, time.Duration, error) {
	svdir, marks := filepath.Join(root, "sv"), filepath.Join(root, "marks")
	if err := os.MkdirAll(marks, 0o755); err != nil {
		return nil, 0, err
	}
	if err := supServices(svdir, pause, 0, n); err != nil {
		return nil, 0, err
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, marks, unix.IN_CREATE); err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	s, err := supStart(e, name, root, svdir, marks, n)
	if err != nil {
		return nil, 0, err
	}
	seen := 0
	for seen < n {
		if time.Since(t0) > 3*time.Minute {
			s.stop()
			return nil, 0, fmt.Errorf("%s: only %d of %d services running after 3 minutes", name, seen, n)
		}
		if s.exited() {
			return nil, 0, fmt.Errorf("%s exited with %d of %d services running", name, seen, n)
		}
		k, err := engineInotifyCount(in, time.Second)
		if err != nil {
			s.stop()
			return nil, 0, err
		}
		seen += k
	}
	return s, time.Since(t0), nil
}

func (s *supTree) exited() bool {
	return syscall.Kill(s.cmd.Process.Pid, 0) != nil || procState(s.cmd.Process.Pid) == "Z"
}

func procState(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if i := strings.LastIndexByte(string(b), ')'); i > 0 {
		if f := strings.Fields(string(b[i+1:])); len(f) > 0 {
			return f[0]
		}
	}
	return ""
}

// supPerService are the processes that supervise one service each.
var supPerService = map[string]bool{"runsv": true, "s6-supervise": true}

// tree is the supervisor's processes: its own and, for runit and s6, the
// one-per-service supervisors it started. The services are not counted.
func (s *supTree) tree() []int {
	top := s.cmd.Process.Pid
	pids := []int{top}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		open, end := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(top) && supPerService[string(b[open+1:end])] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pssKiB is the proportional set size of pids, in KiB.
func pssKiB(pids ...int) int {
	total := 0
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				k, _ := strconv.Atoi(f[1])
				total += k
			}
		}
	}
	return total
}

// switches is the context switches, voluntary and not, of every thread
// of pids so far.
func switches(pids []int) int64 {
	_, _, sw := initProcStats(pids)
	return sw
}

// stop ends the tree and every process left under its root.
func (s *supTree) stop() {
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	sig := syscall.SIGTERM
	if s.name == "runit" {
		sig = syscall.SIGHUP // runsvdir's TERM leaves the runsv running
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	sweep(s.root)
}

// sweep kills every process whose working directory is under root: the
// services and what a supervisor left.
func sweep(root string) {
	for range 100 {
		left := 0
		ents, _ := os.ReadDir("/proc")
		for _, ent := range ents {
			pid, err := strconv.Atoi(ent.Name())
			if err != nil {
				continue
			}
			if cwd, err := os.Readlink("/proc/" + ent.Name() + "/cwd"); err == nil && strings.HasPrefix(cwd, root+"/") {
				syscall.Kill(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
