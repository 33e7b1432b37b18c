package procsetup

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func writeJSON(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(p, []byte(body), 0644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadProcessJSON(t *testing.T) {
	p := writeJSON(t, `{
		"args": ["server", "-v"],
		"env": ["PATH=/bin", "A=1"],
		"cwd": "/srv",
		"user": {"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 18},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024}],
		"noNewPrivileges": true,
		"oomScoreAdj": 100,
		"capabilities": {"bounding": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"], "ambient": ["CAP_NET_BIND_SERVICE"]}
	}`)
	got, err := LoadProcessJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	umask, oom := uint32(18), 100
	want := &Spec{
		Origin:          p,
		Args:            []string{"server", "-v"},
		Env:             []string{"PATH=/bin", "A=1"},
		Cwd:             "/srv",
		User:            &Account{Numeric: true, UID: 1000, GID: 1001, Groups: []uint32{5, 6}},
		Umask:           &umask,
		Rlimits:         []Rlimit{{Resource: 7, Name: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}},
		NoNewPrivileges: true,
		OOMScoreAdj:     &oom,
		Capabilities:    &Capabilities{Bounding: 1<<10 | 1<<0, Ambient: 1 << 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadProcessJSON\n got %+v;\nwant %+v", got, want)
	}

	// Without "user" the credentials are left alone; without "env" the
	// environment is inherited.
	got, err = LoadProcessJSON(writeJSON(t, `{"args": ["x"], "cwd": ""}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.User != nil || got.Env != nil {
		t.Errorf("minimal process.json: user %+v, env %q; want both nil", got.User, got.Env)
	}
}

func TestLoadProcessJSONErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{``, "not JSON: the file is empty"},
		{`args: [x]`, "not JSON: line 1, column 1: invalid character 'a' looking for beginning of value"},
		{"{\n  \"args\": [\"x\",]\n}", "not JSON: line 2, column 16: invalid character ']' looking for beginning of value"},
		{`{"args": ["x"]`, "not JSON: unexpected end of file"},
		{`{"args": ["x"]} {}`, "not JSON: more data after the process object"},
		{`{"args": ["x"], "color": "red"}`, `unknown field "color"`},
		{`{"args": ["x"], "user": {"uid": 1, "name": "x"}}`, `unknown field "name"`},
		{`{"args": []}`, "args: must name the program to run"},
		{`{"cwd": "/"}`, "args: must name the program to run"},
		{`{"args": [""]}`, "args: must name the program to run"},
		{`{"args": ["x"], "user": {"uid": "app"}}`, "user.uid: want uint32, not JSON string"},
		{`{"args": ["x"], "user": {"uid": -1}}`, "user.uid: want uint32, not JSON number -1"},
		{`{"args": ["x"], "user": {"uid": 1, "umask": 1000}}`, "user.umask: want a mode up to 0777 (511), not 1000"},
		{`{"args": ["x"], "env": ["PATH"]}`, `env[0]: want NAME=value, not "PATH"`},
		{`{"args": ["x"], "rlimits": [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]}`, `rlimits[0].type: unknown rlimit "RLIMIT_FOO"`},
		{`{"args": ["x"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]}`, "rlimits[0]: soft limit 2 is above hard limit 1"},
		{`{"args": ["x"], "oomScoreAdj": 1001}`, "oomScoreAdj: want -1000 to 1000, not 1001"},
		{`{"args": ["x"], "capabilities": {"effective": ["CAP_FLY"]}}`, `capabilities.effective: unknown capability "CAP_FLY"`},
		{`{"args": ["x"], "terminal": true}`, "terminal: not supported: a service has no terminal"},
		{`{"args": ["x"], "selinuxLabel": "x"}`, "selinuxLabel: not supported by vigil"},
	} {
		p := writeJSON(t, tc.body)
		_, err := LoadProcessJSON(p)
		if got, want := errString(err), p+": "+tc.want; got != want {
			t.Errorf("LoadProcessJSON(%s)\n got %q;\nwant %q", tc.body, got, want)
		}
	}
	_, err := LoadProcessJSON(filepath.Join(t.TempDir(), "process.json"))
	if got := errString(err); !reflect.DeepEqual(got[len(got)-len("unable to read: file does not exist"):], "unable to read: file does not exist") {
		t.Errorf("missing file: %q; want ...: unable to read: file does not exist", got)
	}
}

func TestCheckCaps(t *testing.T) {
	have := capState{permitted: 1<<0 | 1<<10, bounding: 1<<0 | 1<<10 | 1<<21}
	for _, tc := range []struct {
		caps Capabilities
		want string
	}{
		{Capabilities{Bounding: 1 << 10, Permitted: 1 << 10, Effective: 1 << 10, Inheritable: 1 << 10, Ambient: 1 << 10}, "<nil>"},
		{Capabilities{Bounding: 1 << 24}, "x: capabilities.bounding: the process may not have CAP_SYS_RESOURCE: not in vigil's bounding set"},
		{Capabilities{Permitted: 1 << 21}, "x: capabilities.permitted: the process may not have CAP_SYS_ADMIN: not in vigil's permitted set"},
		{Capabilities{Effective: 1 << 0}, "x: capabilities.effective: the process may not have CAP_CHOWN: not also in capabilities.permitted"},
		{Capabilities{Permitted: 1 << 10, Ambient: 1 << 10}, "x: capabilities.ambient: the process may not have CAP_NET_BIND_SERVICE: not also in capabilities.permitted and capabilities.inheritable"},
	} {
		s := &Spec{Origin: "x", Capabilities: &tc.caps}
		if got := errString(s.checkCaps(have)); got != tc.want {
			t.Errorf("checkCaps(%+v) = %q; want %q", tc.caps, got, tc.want)
		}
	}
}

// TestExamples: the shipped examples load.
func TestExamples(t *testing.T) {
	for _, p := range []string{
		"../examples/shellfree/service/hello/process.json",
		"../examples/shellfree/service/hello/log/process.json",
	} {
		s, err := LoadProcessJSON(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if s.User == nil || s.User.UID != 65534 {
			t.Errorf("%s: user %+v; want uid 65534", p, s.User)
		}
	}
}
