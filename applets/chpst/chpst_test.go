package chpst

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"golang.org/x/sys/unix"
)

// The test binary doubles as vigil's chpst: with VIGIL_TEST_APPLET set it
// runs Main with its own argv[0] (chpst, envdir, ...) or ExecProcessMain.
func TestMain(m *testing.M) {
	if applet := os.Getenv("VIGIL_TEST_APPLET"); applet != "" {
		os.Unsetenv("VIGIL_TEST_APPLET") // keeps the order of the rest
		if applet == "exec-process" {
			os.Exit(ExecProcessMain(append([]string{"exec-process"}, os.Args[1:]...), os.Stdin, os.Stdout, os.Stderr))
		}
		os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	stdout, stderr string
	code           int
}

// baseEnv is the whole environment of every compared run, so that `env`
// prints the same through both.
var baseEnv = []string{"PATH=/usr/bin:/bin", "HOME=/root", "EMPTY=was set", "TRAIL=old"}

type run struct {
	path  string   // the binary
	argv  []string // argv[0] is the name it is called by
	env   []string
	dir   string
	cred  *syscall.Credential
	root  string // chroot to run in
	stdin string
}

func (r run) do(t *testing.T) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.path)
	cmd.Args = r.argv
	cmd.Env = r.env
	cmd.Dir = r.dir
	cmd.Stdin = strings.NewReader(r.stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred, Chroot: r.root}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %q: %v", r.argv, err)
	}
	return result{out.String(), errb.String(), code}
}

// vigil runs the test binary as vigil's applet name with args.
func vigil(t *testing.T, applet string, argv []string, env []string) run {
	return run{path: self(t), argv: argv, env: append(append([]string{}, env...), "VIGIL_TEST_APPLET="+applet)}
}

// TestCompareWithRunit runs each invocation through Debian's chpst and
// through vigil's, as root, and wants the same stdout, stderr and exit
// code.
func TestCompareWithRunit(t *testing.T) {
	testenv.RequireRoot(t, "chpst -u, -n -5, chroot and locks need root")
	peer := testenv.Peer(t, "chpst")
	busybox := testenv.Peer(t, "busybox")
	dir := t.TempDir()
	mustWrite := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0644); err != nil {
			t.Fatal(err)
		}
	}
	// envdir edge cases
	for name, body := range map[string]string{
		"env/PLAIN": "value\nsecond\n", "env/TRAIL": "x \t \n", "env/CR": "x\r\n",
		"env/NUL": "a\x00b\nc", "env/EMPTY": "", "env/NL": "\n", "env/.hidden": "h", "env/A=B": "v",
		"nulenv/X": "\x00\x00", "subenv/OK": "1", "subenv/SUB/x": "",
	} {
		mustWrite(name, body)
	}
	// a root with a static busybox and its own users, and no shell
	root := filepath.Join(dir, "root")
	mustWrite("root/etc/passwd", "root:x:0:0::/:/bin/busybox\napp:x:1234:1234::/:/bin/busybox\n")
	mustWrite("root/etc/group", "root:x:0:\napp:x:1234:\nextra:x:4321:\n")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(busybox, filepath.Join(root, "bin", "busybox")); err != nil {
		t.Fatal(err)
	}
	// a root with nothing in it
	if err := os.Mkdir(filepath.Join(dir, "bare"), 0755); err != nil {
		t.Fatal(err)
	}
	// a lock someone else holds
	held := filepath.Join(dir, "held.lock")
	hfd, err := unix.Open(held, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(hfd)
	if err := unix.Flock(hfd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	free := filepath.Join(dir, "free.lock")
	status := `grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status`
	session := `set -- $(cat /proc/$$/stat); [ "$6" = "$$" ] && echo session leader || echo not a session leader`
	withGroups := &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{1, 2, 3}}

	for _, tc := range []struct {
		name string
		argv []string
		cred *syscall.Credential
	}{
		// usage and options
		{"no args", []string{"chpst"}, nil},
		{"version", []string{"chpst", "-V"}, nil},
		{"illegal option", []string{"chpst", "-C", "/", "true"}, nil},
		{"missing argument", []string{"chpst", "-u"}, nil},
		{"two locks", []string{"chpst", "-l", "a", "-L", "b", "true"}, nil},
		{"not a number", []string{"chpst", "-o", "12x", "true"}, nil},
		{"negative limit", []string{"chpst", "-o", "-1", "true"}, nil},
		{"bad nice", []string{"chpst", "-n", "x", "true"}, nil},
		{"exit code", []string{"chpst", "sh", "-c", "exit 7"}, nil},
		{"no such program", []string{"chpst", "no-such-program-x"}, nil},
		{"no such path", []string{"chpst", "/nonexistent/prog"}, nil},
		{"argv0", []string{"chpst", "-b", "renamed", "sh", "-c", `tr '\0' ' ' </proc/$$/cmdline`}, nil},
		{"argv0 no such program", []string{"chpst", "-b", "renamed", "no-such-program-x"}, nil},
		{"setsid", []string{"chpst", "-P", "sh", "-c", session}, nil},
		{"no setsid", []string{"chpst", "sh", "-c", session}, nil},
		{"close stdio", []string{"chpst", "-012", "true"}, nil},
		{"close stdin", []string{"chpst", "-0", "sh", "-c", "cat; echo cat said $?"}, nil},
		{"close stdout", []string{"chpst", "-1", "sh", "-c", "echo out; echo err >&2"}, nil},
		{"close stderr", []string{"chpst", "-2", "sh", "-c", "echo out; echo err >&2"}, nil},
		// users and groups
		{"user nobody", []string{"chpst", "-u", "nobody", "sh", "-c", status}, withGroups},
		{"user with groups", []string{"chpst", "-u", "nobody:daemon:bin", "id"}, nil},
		{"numeric ids", []string{"chpst", "-u", ":1234:5678:91", "sh", "-c", status}, withGroups},
		{"numeric uid only", []string{"chpst", "-u", ":1234", "id"}, nil},
		{"numeric empty gid", []string{"chpst", "-u", ":1234:", "id"}, nil},
		{"numeric not a number", []string{"chpst", "-u", ":12x:3", "id"}, nil},
		{"unknown user", []string{"chpst", "-u", "no-such-user-x", "id"}, nil},
		{"unknown group", []string{"chpst", "-u", "nobody:no-such-group-x", "id"}, nil},
		{"groups replaced for root", []string{"chpst", "-u", "root", "id", "-G"}, withGroups},
		{"env uid gid", []string{"chpst", "-U", "nobody:daemon", "env"}, nil},
		{"env uid gid numeric", []string{"chpst", "-U", ":7:8", "env"}, nil},
		{"unknown env user", []string{"chpst", "-U", "no-such-user-x", "env"}, nil},
		// limits, each read back
		{"-o", []string{"chpst", "-o", "1024", "sh", "-c", "ulimit -Sn; ulimit -Hn"}, nil},
		{"-o above hard", []string{"chpst", "-o", "99999999999", "sh", "-c", "ulimit -Sn"}, nil},
		{"-o wraps to -1", []string{"chpst", "-o", "18446744073709551615", "sh", "-c", "ulimit -Sn"}, nil},
		{"-m", []string{"chpst", "-m", "300000000", "cat", "/proc/self/limits"}, nil},
		{"-d", []string{"chpst", "-d", "300000000", "cat", "/proc/self/limits"}, nil},
		{"-p", []string{"chpst", "-p", "77", "cat", "/proc/self/limits"}, nil},
		{"-f", []string{"chpst", "-f", "1000000", "cat", "/proc/self/limits"}, nil},
		{"-c", []string{"chpst", "-c", "0", "cat", "/proc/self/limits"}, nil},
		{"-r", []string{"chpst", "-r", "5000000", "cat", "/proc/self/limits"}, nil},
		{"-t", []string{"chpst", "-t", "30", "cat", "/proc/self/limits"}, nil},
		{"all limits as nobody", []string{"chpst", "-u", "nobody", "-m", "300000000", "-d", "200000000", "-o", "99", "-p", "50", "-f", "1000", "-c", "0", "-r", "9", "-t", "5", "cat", "/proc/self/limits"}, nil},
		{"softlimit", []string{"softlimit", "-a", "300000000", "-c", "0", "-d", "200000000", "-f", "1000", "-l", "65536", "-o", "99", "-p", "50", "-r", "9", "-s", "8000000", "-t", "5", "cat", "/proc/self/limits"}, nil},
		{"softlimit -m and =", []string{"softlimit", "-m", "300000000", "-o", "=", "cat", "/proc/self/limits"}, nil},
		{"softlimit bad number", []string{"softlimit", "-o", "x", "true"}, nil},
		{"softlimit usage", []string{"softlimit"}, nil},
		// nice
		{"nice +5", []string{"chpst", "-n", "5", "nice"}, nil},
		{"nice -5", []string{"chpst", "-n", "-5", "nice"}, nil},
		{"nice +3 as nobody", []string{"chpst", "-n", "+3", "-u", "nobody", "nice"}, nil},
		// envdir
		{"-e", []string{"chpst", "-e", "env", "env"}, nil},
		{"envdir", []string{"envdir", "env", "env"}, nil},
		{"envdir NUL only", []string{"envdir", "nulenv", "env"}, nil},
		{"-e skips a subdirectory", []string{"chpst", "-e", "subenv", "env"}, nil},
		{"-v -e warns on a subdirectory", []string{"chpst", "-v", "-e", "subenv", "env"}, nil},
		{"envdir with a subdirectory", []string{"envdir", "subenv", "env"}, nil},
		{"envdir missing", []string{"envdir", "no-such-dir", "env"}, nil},
		{"-e missing", []string{"chpst", "-e", "no-such-dir", "env"}, nil},
		{"-e on a file", []string{"chpst", "-e", "env/PLAIN", "env"}, nil},
		{"envdir usage", []string{"envdir", "env"}, nil},
		{"denvdir", []string{"denvdir", "env", "env"}, nil},
		{"ddenvdir is chpst", []string{"ddenvdir", "env", "env"}, nil},
		{"envdir, -U and -u", []string{"chpst", "-e", "env", "-U", "daemon", "-u", "nobody", "env"}, nil},
		// chroot
		{"chroot and user inside", []string{"chpst", "-/", "root", "-u", "app:app:extra", "/bin/busybox", "id"}, nil},
		{"chroot, no program inside", []string{"chpst", "-/", "root", "id"}, nil},
		{"chroot missing", []string{"chpst", "-/", "no-such-root", "id"}, nil},
		{"chroot user unknown inside", []string{"chpst", "-/", "root", "-u", "nobody", "/bin/busybox", "id"}, nil},
		{"chroot without /etc/passwd", []string{"chpst", "-/", "bare", "-u", "nobody", "/bin/true"}, nil},
		// an empty argument is a name that fails, never a missing option
		{"empty user", []string{"chpst", "-u", "", "id"}, nil},
		{"empty env user", []string{"chpst", "-U", "", "env"}, nil},
		{"setuidgid empty", []string{"setuidgid", "", "id"}, nil},
		{"envuidgid empty", []string{"envuidgid", "", "env"}, nil},
		{"empty envdir", []string{"chpst", "-e", "", "env"}, nil},
		{"envdir empty", []string{"envdir", "", "env"}, nil},
		{"empty root", []string{"chpst", "-/", "", "true"}, nil},
		{"empty lock", []string{"chpst", "-l", "", "echo", "locked"}, nil},
		{"setlock empty", []string{"setlock", "", "echo", "locked"}, nil},
		{"empty argv0", []string{"chpst", "-b", "", "sh", "-c", `echo "[$0]"`}, nil},
		// locks
		{"-L held", []string{"chpst", "-L", held, "true"}, nil},
		{"-L free", []string{"chpst", "-L", free, "echo", "locked"}, nil},
		{"-l free", []string{"chpst", "-l", free, "echo", "locked"}, nil},
		{"lock unopenable", []string{"chpst", "-u", "nobody", "-L", filepath.Join(dir, "root", "lock"), "true"}, nil},
		{"setlock held", []string{"setlock", held, "true"}, nil},
		{"setlock -x held", []string{"setlock", "-x", held, "true"}, nil},
		{"setlock -x no program", []string{"setlock", "-x", free, "no-such-program-x"}, nil},
		{"setlock no program", []string{"setlock", free, "no-such-program-x"}, nil},
		{"setlock usage", []string{"setlock", "-z", "f", "true"}, nil},
		// the other daemontools names
		{"setuidgid", []string{"setuidgid", "nobody", "id"}, withGroups},
		{"setuidgid with group", []string{"setuidgid", "nobody:daemon", "id"}, nil},
		{"setuidgid unknown", []string{"setuidgid", "no-such-user-x", "id"}, nil},
		{"setuidgid usage", []string{"setuidgid", "nobody"}, nil},
		{"envuidgid", []string{"envuidgid", "daemon", "env"}, nil},
		{"envuidgid unknown", []string{"envuidgid", "no-such-user-x", "env"}, nil},
		{"pgrphack", []string{"pgrphack", "sh", "-c", session}, nil},
		{"pgrphack usage", []string{"pgrphack"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := run{path: peer, argv: tc.argv, env: baseEnv, dir: dir, cred: tc.cred}
			want := p.do(t)
			t.Logf("Debian: %+v", want)
			v := vigil(t, "chpst", tc.argv, baseEnv)
			v.dir, v.cred = dir, tc.cred
			got := v.do(t)
			if got != want {
				t.Errorf("%q\n got %+v;\nwant %+v (Debian's chpst)", tc.argv, got, want)
			}
		})
	}
}

// TestOpenFilesLimit: Go raises its own soft RLIMIT_NOFILE at start; the
// program must get the limit chpst was given, or the one -o asks for.
func TestOpenFilesLimit(t *testing.T) {
	peer := testenv.Peer(t, "chpst")
	var hard syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard); err != nil {
		t.Fatal(err)
	}
	if hard.Max < 1000 {
		t.Skipf("hard RLIMIT_NOFILE %d is too low to test", hard.Max)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "600"},                                    // restored to what it was
		{[]string{"-o", "500"}, "500"},                  // what -o asked for
		{[]string{"-p", "100"}, "600"},                  // another limit leaves it alone
		{[]string{"-o", "99999999999"}, utoa(hard.Max)}, // capped at the hard limit
	} {
		// Debian's chpst lowers the soft limit to 600, then runs vigil's.
		argv := append([]string{"chpst", "-o", "600", "-b", "chpst", self(t)}, tc.args...)
		argv = append(argv, "sh", "-c", "ulimit -Sn")
		r := run{path: peer, argv: argv, env: append(append([]string{}, baseEnv...), "VIGIL_TEST_APPLET=chpst")}
		got := r.do(t)
		if strings.TrimSpace(got.stdout) != tc.want || got.code != 0 {
			t.Errorf("chpst %q: soft RLIMIT_NOFILE %q (exit %d, %q); want %s", tc.args, got.stdout, got.code, got.stderr, tc.want)
		}
	}
}

func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

// TestLockWaits: -l and setlock -n wait for a held lock, then run the
// program; the program holds the lock while it runs.
func TestLockWaits(t *testing.T) {
	peer := testenv.Peer(t, "chpst")
	for _, argv := range [][]string{
		{"chpst", "-l", "LOCK", "cat"},
		{"setlock", "-n", "LOCK", "cat"},
	} {
		for _, impl := range []string{"runit", "vigil"} {
			t.Run(impl+" "+strings.Join(argv, " "), func(t *testing.T) {
				lockfile := filepath.Join(t.TempDir(), "lock")
				args := append([]string{}, argv...)
				args[2] = lockfile
				fd, err := unix.Open(lockfile, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0600)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(peer)
				cmd.Env = baseEnv
				if impl == "vigil" {
					cmd = exec.Command(self(t))
					cmd.Env = append(append([]string{}, baseEnv...), "VIGIL_TEST_APPLET=chpst")
				}
				cmd.Args = args
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				defer func() {
					stdin.Close()
					cmd.Process.Kill()
					<-done
				}()
				pid := strconv.Itoa(cmd.Process.Pid)
				testenv.WaitFor(t, 10*time.Second, "the lock waiter in /proc/locks", func() bool {
					return blockedOnLock(pid)
				})
				select {
				case err := <-done:
					t.Fatalf("%q exited while the lock was held: %v, %q", args, err, out.String())
				default:
				}
				unix.Flock(fd, unix.LOCK_UN)
				// The program (cat, after exec) now holds the lock.
				testenv.WaitFor(t, 10*time.Second, "the program to run", func() bool {
					comm, _ := os.ReadFile("/proc/" + pid + "/comm")
					return string(comm) == "cat\n"
				})
				if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
					t.Errorf("flock while %q runs: %v; want %v", args, err, unix.EWOULDBLOCK)
				}
				stdin.Close()
				if err := <-done; err != nil {
					t.Errorf("%q: %v, %q", args, err, out.String())
				}
				done <- nil
				if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
					t.Errorf("flock after the program exited: %v; want the lock free", err)
				}
			})
		}
	}
}

func blockedOnLock(pid string) bool {
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[1] == "->" && f[5] == pid {
			return true
		}
	}
	return false
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0755)
}
