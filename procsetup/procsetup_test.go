package procsetup

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"chpst", "chpst"},
		{"/usr/bin/envdir", "envdir"},
		{"denvdir", "envdir"},
		{"ddenvdir", "denvdir"}, // only one 'd' goes
		{"dsetlock", "setlock"},
		{"./softlimit", "softlimit"},
		{"", ""},
	} {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseChpst(t *testing.T) {
	nofile := func(v uint64) Rlimit {
		return Rlimit{Resource: syscall.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: v, SoftOnly: true}
	}
	for _, tc := range []struct {
		args []string
		want Spec
	}{
		{[]string{"chpst", "-u", "app", "-o", "4096", "-e", "./env", "server"},
			Spec{User: &Account{Name: "app"}, EnvDir: str("./env"), Rlimits: []Rlimit{nofile(4096)}, Args: []string{"server"}}},
		{[]string{"chpst", "-unobody", "-vP012", "-b", "x", "-n", "-3", "--", "-prog"},
			Spec{User: &Account{Name: "nobody"}, Verbose: true, Setsid: true, Close: [3]bool{true, true, true}, Argv0: str("x"), Nice: -3, Args: []string{"-prog"}}},
		{[]string{"chpst", "-n+4", "-L", "f", "-", "a"}, Spec{Nice: 4, Lock: str("f"), Args: []string{"-", "a"}}},
		{[]string{"chpst", "-l", "f", "-/", "/r", "-U", ":1:2", "p"}, Spec{Lock: str("f"), LockWait: true, Chroot: str("/r"), EnvUser: &Account{Name: ":1:2"}, Args: []string{"p"}}},
		{[]string{"chpst", "-o", "", "p"}, Spec{Rlimits: []Rlimit{nofile(0)}, Args: []string{"p"}}},
		// scan_ulong wraps, as runit's does.
		{[]string{"chpst", "-o", "18446744073709551616", "p"}, Spec{Rlimits: []Rlimit{nofile(0)}, Args: []string{"p"}}},
		{[]string{"envdir", "d", "p", "a"}, Spec{EnvDir: str("d"), EnvDirStrict: true, Args: []string{"p", "a"}}},
		{[]string{"/x/denvdir", "-d", "p"}, Spec{EnvDir: str("-d"), EnvDirStrict: true, Args: []string{"p"}}},
		{[]string{"setuidgid", "nobody", "id"}, Spec{User: &Account{Name: "nobody", Strict: true}, Args: []string{"id"}}},
		{[]string{"envuidgid", "nobody", "id"}, Spec{EnvUser: &Account{Name: "nobody", Strict: true}, Args: []string{"id"}}},
		{[]string{"pgrphack", "id"}, Spec{Setsid: true, Args: []string{"id"}}},
		{[]string{"setlock", "f", "id"}, Spec{Lock: str("f"), Args: []string{"id"}}},
		{[]string{"setlock", "-nx", "f", "id"}, Spec{Lock: str("f"), LockWait: true, QuietFail: true, Args: []string{"id"}}},
		{[]string{"setlock", "-nxNX", "f", "id"}, Spec{Lock: str("f"), Args: []string{"id"}}},
		{[]string{"softlimit", "-o", "=", "id"}, Spec{Rlimits: []Rlimit{nofile(math.MaxUint64)}, Args: []string{"id"}}},
	} {
		got, err := ParseChpst(tc.args)
		if err != nil {
			t.Errorf("ParseChpst(%q): %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("ParseChpst(%q)\n got %+v;\nwant %+v", tc.args, *got, tc.want)
		}
	}
}

// TestChpstLimitOrder checks runit's order of limits and that -m sets four.
func TestChpstLimitOrder(t *testing.T) {
	s, err := ParseChpst([]string{"chpst", "-t", "9", "-o", "5", "-m", "100", "-d", "7", "p"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range s.Rlimits {
		got = append(got, r.Name+"="+utoaU(r.Soft))
	}
	want := []string{"RLIMIT_DATA=7", "RLIMIT_STACK=100", "RLIMIT_MEMLOCK=100", "RLIMIT_AS=100", "RLIMIT_NOFILE=5", "RLIMIT_CPU=9"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("limits %q; want %q", got, want)
	}
}

func TestParseChpstUsage(t *testing.T) {
	main := "usage: chpst" + usageMain + "\n\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"chpst"}, main},
		{[]string{"chpst", "--"}, main},
		{[]string{"chpst", "-V"}, versionID + main},
		{[]string{"chpst", "-x", "p"}, "chpst: illegal option -- x\n" + main},
		{[]string{"/bin/dchpst", "-C", "/", "p"}, "dchpst: illegal option -- C\n" + main},
		{[]string{"chpst", "-u"}, "chpst: option requires an argument -- u\n" + main},
		{[]string{"chpst", "-o", "abc", "p"}, main},
		{[]string{"chpst", "-o", "-1", "p"}, main},
		{[]string{"chpst", "-n", "--3", "p"}, main},
		{[]string{"chpst", "-l", "a", "-L", "b", "p"}, main},
		{[]string{"envdir", "d"}, "usage: envdir dir child\n\n"},
		{[]string{"setuidgid", "nobody"}, "usage: setuidgid account child\n\n"},
		{[]string{"envuidgid"}, "usage: envuidgid account child\n\n"},
		{[]string{"pgrphack"}, "usage: pgrphack child\n\n"},
		{[]string{"setlock", "f"}, "usage: setlock" + usageSetlock + "\n\n"},
		{[]string{"setlock", "-z", "f", "p"}, "setlock: illegal option -- z\nusage: setlock" + usageSetlock + "\n\n"},
		{[]string{"softlimit"}, "usage: softlimit" + usageSoftlimit + "\n\n"},
		{[]string{"softlimit", "-z", "1", "p"}, "softlimit: illegal option -- z\nusage: softlimit" + usageSoftlimit + "\n\n"},
		// runit's quirk: a bad number gets chpst's usage under softlimit's name.
		{[]string{"softlimit", "-o", "x", "p"}, "usage: softlimit" + usageMain + "\n\n"},
	} {
		_, err := ParseChpst(tc.args)
		var u *UsageError
		if !errors.As(err, &u) {
			t.Errorf("ParseChpst(%q) = %v; want a usage error", tc.args, err)
			continue
		}
		if u.Text != tc.want {
			t.Errorf("ParseChpst(%q) usage\n got %q;\nwant %q", tc.args, u.Text, tc.want)
		}
	}
}

func TestParseIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		uid  uint32
		gids []uint32
		ok   bool
	}{
		{"12:34:56", 12, []uint32{34, 56}, true},
		{"1234:", 1234, []uint32{0}, true},
		{"1::5", 1, []uint32{0, 5}, true},
		{"4294967296:1", 0, []uint32{1}, true},
		{"1234", 0, nil, false},
		{"", 0, nil, false},
		{"12x:3", 0, nil, false},
		{"12:3x", 0, nil, false},
	} {
		uid, gids, ok := parseIDs(tc.in)
		if ok != tc.ok || uid != tc.uid || !reflect.DeepEqual(gids, tc.gids) {
			t.Errorf("parseIDs(%q) = %d, %v, %v; want %d, %v, %v", tc.in, uid, gids, ok, tc.uid, tc.gids, tc.ok)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	for _, tc := range []struct {
		base, changes, want []string
	}{
		{[]string{"A=1", "B=2"}, nil, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2", "C=3"}, []string{"A=9"}, []string{"C=3", "B=2", "A=9"}},
		{[]string{"A=1", "B=2", "C=3"}, []string{"B"}, []string{"A=1", "C=3"}},
		{[]string{"AB=1", "A=2"}, []string{"A=x", "Z"}, []string{"AB=1", "A=x"}},
		{[]string{"A=1"}, []string{"A=B=v"}, []string{"A=B=v"}},
	} {
		if got := mergeEnv(tc.base, tc.changes); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("mergeEnv(%q, %q) = %q; want %q", tc.base, tc.changes, got, tc.want)
		}
	}
}

func TestReadEnvDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"PLAIN": "value\nsecond line\n",
		"TRAIL": "x \t \n",
		"CR":    "x\r\n",
		"NUL":   "a\x00b\nc", // BusyBox crashes here; runit turns NUL into newline
		"EMPTY": "",
		"NL":    "\n",
		".hide": "h",
		"LONG":  strings.Repeat("y", 1000),
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/nonexistent", filepath.Join(dir, "DANGLING")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PLAIN": "PLAIN=value", "TRAIL": "TRAIL=x", "CR": "CR=x\r", "NUL": "NUL=a\nb",
		"EMPTY": "EMPTY", "NL": "NL=", "LONG": "LONG=" + strings.Repeat("y", 1000), "DANGLING": "DANGLING",
	}
	s := &Spec{EnvDir: &dir}
	changes, err := s.readEnvDir()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		n, _, _ := strings.Cut(c, "=")
		got[n] = c
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("envdir changes %q; want %q", got, want)
	}

	// A subdirectory: skipped with a warning under -v, fatal for envdir.
	if err := os.Mkdir(filepath.Join(dir, "SUB"), 0755); err != nil {
		t.Fatal(err)
	}
	var warned []string
	s = &Spec{EnvDir: &dir, Verbose: true, Warn: func(m string) { warned = append(warned, m) }}
	if _, err := s.readEnvDir(); err != nil {
		t.Errorf("chpst -e with a subdirectory: %v; want it skipped", err)
	}
	if w := "unable to read " + dir + "/SUB: is a directory"; !reflect.DeepEqual(warned, []string{w}) {
		t.Errorf("warnings %q; want %q", warned, w)
	}
	s = &Spec{EnvDir: &dir, EnvDirStrict: true}
	_, err = s.readEnvDir()
	if got, want := errString(err), "unable to read "+dir+"/SUB: is a directory"; got != want {
		t.Errorf("envdir with a subdirectory: %q; want %q", got, want)
	}

	s = &Spec{EnvDir: str(filepath.Join(dir, "missing"))}
	_, err = s.readEnvDir()
	if got, want := errString(err), "unable to switch to directory: "+*s.EnvDir+": file does not exist"; got != want {
		t.Errorf("missing envdir: %q; want %q", got, want)
	}
	s = &Spec{EnvDir: str(filepath.Join(dir, "PLAIN"))}
	_, err = s.readEnvDir()
	if got, want := errString(err), "unable to switch to directory: "+*s.EnvDir+": not a directory"; got != want {
		t.Errorf("envdir on a file: %q; want %q", got, want)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestResolve(t *testing.T) {
	s := &Spec{}
	for _, tc := range []struct {
		acct Account
		uid  uint32
		gids []uint32
		err  string
	}{
		{Account{Name: "root"}, 0, []uint32{0}, ""},
		{Account{Name: "root:root:root"}, 0, []uint32{0, 0}, ""},
		{Account{Name: ":7:8:9"}, 7, []uint32{8, 9}, ""},
		{Account{Name: ":7"}, 0, nil, "invalid uid/gids: 7"},
		{Account{Name: "no-such-user-x"}, 0, nil, "unknown user/group: no-such-user-x"},
		{Account{Name: "root:no-such-group-x"}, 0, nil, "unknown user/group: root:no-such-group-x"},
		{Account{Name: "root:"}, 0, nil, "unknown user/group: root:"},
		{Account{Name: "root:root", Strict: true}, 0, nil, "unknown account: root:root"},
		{Account{Numeric: true, UID: 5, GID: 6, Groups: []uint32{7}}, 5, []uint32{6, 7}, ""},
	} {
		uid, gids, err := s.resolve(&tc.acct)
		if tc.err != "" {
			if got := errString(err); got != tc.err {
				t.Errorf("resolve(%+v) error %q; want %q", tc.acct, got, tc.err)
			}
			continue
		}
		if err != nil || uid != tc.uid || !reflect.DeepEqual(gids, tc.gids) {
			t.Errorf("resolve(%+v) = %d, %v, %v; want %d, %v", tc.acct, uid, gids, err, tc.uid, tc.gids)
		}
	}
}

// str is a pointer to a copy of v, for the Spec fields that tell an empty
// value from none.
func str(v string) *string { return &v }
