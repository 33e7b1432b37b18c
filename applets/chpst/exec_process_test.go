package chpst

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/procsetup"
)

// service makes a world-readable service directory holding process.json.
func service(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "process.json"), []byte(body), 0644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// execProcess runs vigil's exec-process ./process.json in dir, as the
// engine does.
func execProcess(t *testing.T, bin, dir string, env []string, cred *syscall.Credential) result {
	t.Helper()
	r := run{path: bin, argv: []string{"vigil", "./process.json"}, dir: dir, cred: cred,
		env: append(append([]string{}, env...), "VIGIL_TEST_APPLET=exec-process")}
	return r.do(t)
}

func TestExecProcess(t *testing.T) {
	testenv.RequireRoot(t, "process.json sets users, groups, oom_score_adj and capabilities")
	work := t.TempDir()
	env := []string{"PATH=/usr/bin:/bin", "INHERITED=yes"}
	script := `echo "$GREETING ${INHERITED-unset}"; pwd; id; umask; ulimit -Sn; ulimit -Hn; ulimit -c; cat /proc/self/oom_score_adj; ` +
		`grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status`
	for _, tc := range []struct {
		name, json string
		want       string
	}{
		{"every field", `{
			"args": ["sh", "-c", ` + quoteJSON(script) + `],
			"env": ["PATH=/usr/bin:/bin", "GREETING=hello"],
			"cwd": ` + quoteJSON(work) + `,
			"user": {"uid": 65534, "gid": 65534, "additionalGids": [1, 2], "umask": 23},
			"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4000, "soft": 3000}, {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
			"noNewPrivileges": true,
			"oomScoreAdj": 123,
			"capabilities": {
				"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
				"permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"],
				"ambient": ["CAP_NET_BIND_SERVICE"]
			}
		}`, "hello unset\n" + work + "\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup),1(daemon),2(bin)\n0027\n3000\n4000\n0\n123\n" +
			"CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000400\nCapAmb:\t0000000000000400\nNoNewPrivs:\t1\n"},
		{"env and user inherited", `{"args": ["sh", "-c", "echo $INHERITED; id -u; pwd"]}`, "yes\n0\nSERVICE\n"},
		{"PATH from env", `{"args": ["echo", "found"], "env": ["PATH=/nonexistent:/usr/bin:/bin"]}`, "found\n"},
		{"no PATH: /bin:/usr/bin", `{"args": ["echo", "found"], "env": ["A=1"]}`, "found\n"},
		{"root keeps no supplementary groups", `{"args": ["id", "-G"], "user": {"uid": 0, "gid": 0}}`, "0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := service(t, tc.json)
			got := execProcess(t, self(t), dir, env, &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{4, 5}})
			want := result{stdout: strings.ReplaceAll(tc.want, "SERVICE", dir)}
			if got != want {
				t.Errorf("got %+v;\nwant %+v", got, want)
			}
		})
	}
}

func quoteJSON(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// TestExecProcessNoShell runs a process.json service in a root that holds
// nothing but a static busybox and vigil: no /bin/sh, no PATH in vigil's
// environment.
func TestExecProcessNoShell(t *testing.T) {
	testenv.RequireRoot(t, "chroot")
	busybox := testenv.Peer(t, "busybox")
	if !static(self(t)) {
		t.Skip("the test binary is dynamically linked; it cannot run in an empty root")
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "svc"} {
		if err := os.Mkdir(filepath.Join(root, d), 0755); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyFile(busybox, filepath.Join(root, "bin", "busybox")); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(self(t), filepath.Join(root, "vigil")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "bin", "sh")); !os.IsNotExist(err) {
		t.Fatalf("the root has a /bin/sh: %v", err)
	}
	for _, tc := range []struct {
		name, json string
		want       result
	}{
		{"PATH from env", `{"args": ["busybox", "echo", "hello without a shell"], "env": ["PATH=/bin"], "cwd": "/svc"}`,
			result{stdout: "hello without a shell\n"}},
		{"default PATH", `{"args": ["busybox", "pwd"], "env": []}`, result{stdout: "/svc\n"}},
		{"absolute path, user", `{"args": ["/bin/busybox", "id"], "user": {"uid": 1000, "gid": 1000}}`,
			result{stdout: "uid=1000 gid=1000 groups=1000\n"}},
		{"there is no shell", `{"args": ["sh", "-c", "echo"], "env": ["PATH=/bin"]}`,
			result{stderr: "exec-process: fatal: process.json: args: unable to run: sh: file does not exist\n", code: 111}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(root, "svc", "process.json"), []byte(tc.json), 0644); err != nil {
				t.Fatal(err)
			}
			r := run{path: "/vigil", argv: []string{"vigil", "./process.json"}, dir: "/svc", root: root,
				env: []string{"VIGIL_TEST_APPLET=exec-process"}}
			got := r.do(t)
			if got != tc.want {
				t.Errorf("got %+v;\nwant %+v", got, tc.want)
			}
		})
	}
}

func static(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// TestExecProcessBadInput: one clear message naming the file and field,
// exit 111.
func TestExecProcessBadInput(t *testing.T) {
	testenv.RequireRoot(t, "runs exec-process as nobody")
	bin := filepath.Join(service(t, "{}"), "vigil")
	if err := copyFile(self(t), bin); err != nil {
		t.Fatal(err)
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	root := &syscall.Credential{Uid: 0, Gid: 0}
	cases := []struct {
		name, json string
		cred       *syscall.Credential
		want       string
	}{
		{"not JSON", "args = [\"x\"]\n", root, "not JSON: line 1, column 1: invalid character 'a' looking for beginning of value"},
		{"empty", "", root, "not JSON: the file is empty"},
		{"unknown field", `{"args": ["true"], "user": {"uid": 1, "groups": [1]}}`, root, `unknown field "groups"`},
		{"empty args", `{"args": []}`, root, "args: must name the program to run"},
		{"uid not a number", `{"args": ["true"], "user": {"uid": "app", "gid": 1}}`, root, "user.uid: want uint32, not JSON string"},
		{"no such program", `{"args": ["no-such-program-x"], "env": ["PATH=/usr/bin:/bin"]}`, root, "args: unable to run: no-such-program-x: file does not exist"},
		{"no such cwd", `{"args": ["true"], "cwd": "/nonexistent"}`, root, "cwd: unable to change directory: /nonexistent: file does not exist"},
		{"capability not held", `{"args": ["true"], "capabilities": {"permitted": ["CAP_NET_ADMIN"]}}`, nobody,
			"capabilities.permitted: the process may not have CAP_NET_ADMIN: not in vigil's permitted set"},
		{"effective beyond permitted", `{"args": ["true"], "capabilities": {"effective": ["CAP_CHOWN"]}}`, root,
			"capabilities.effective: the process may not have CAP_CHOWN: not also in capabilities.permitted"},
		{"unknown capability", `{"args": ["true"], "capabilities": {"ambient": ["CAP_TELEPORT"]}}`, root,
			`capabilities.ambient: unknown capability "CAP_TELEPORT"`},
		{"setgroups not permitted", `{"args": ["true"], "user": {"uid": 1, "gid": 1}}`, nobody,
			"user.additionalGids: unable to setgroups: permission denied"},
	}
	// A capability outside vigil's own bounding set, where there is one.
	if st, err := readBounding(); err == nil {
		for c := 0; c <= 40; c++ {
			if st&(1<<c) == 0 {
				name := procsetup.CapabilityName(c)
				cases = append(cases, struct {
					name, json string
					cred       *syscall.Credential
					want       string
				}{"bounding not held", `{"args": ["true"], "capabilities": {"bounding": ["` + name + `"]}}`, root,
					"capabilities.bounding: the process may not have " + name + ": not in vigil's bounding set"})
				break
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := service(t, tc.json)
			got := execProcess(t, bin, dir, []string{"PATH=/usr/bin:/bin"}, tc.cred)
			want := result{stderr: "exec-process: fatal: process.json: " + tc.want + "\n", code: 111}
			if got != want {
				t.Errorf("got %+v;\nwant %+v", got, want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		got := execProcess(t, bin, t.TempDir(), nil, root)
		want := result{stderr: "exec-process: fatal: process.json: unable to read: file does not exist\n", code: 111}
		if got != want {
			t.Errorf("got %+v;\nwant %+v", got, want)
		}
	})
	t.Run("usage", func(t *testing.T) {
		r := run{path: bin, argv: []string{"vigil"}, env: []string{"VIGIL_TEST_APPLET=exec-process"}}
		got := r.do(t)
		want := result{stderr: "usage: exec-process process.json\n", code: 100}
		if got != want {
			t.Errorf("got %+v;\nwant %+v", got, want)
		}
	})
}

// readBounding is this process's bounding set, which its children inherit.
func readBounding() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, os.ErrNotExist
}
