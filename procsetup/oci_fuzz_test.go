package procsetup

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Process objects from the runtime-spec (v1.3.0 config.md: the Linux
// process example, the process of the full config.json example, the
// user example), which vigil refuses field by field where it cannot
// honour them, and what vigil's users write.
var processSeeds = []string{
	`{"terminal": true, "consoleSize": {"height": 25, "width": 80},
	  "user": {"uid": 1, "gid": 1, "umask": 63, "additionalGids": [5, 6]},
	  "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
	  "cwd": "/root", "args": ["sh"],
	  "apparmorProfile": "acme_secure_profile",
	  "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
	  "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 4},
	  "noNewPrivileges": true,
	  "capabilities": {
	    "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	    "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	    "inheritable": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	    "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
	    "ambient": ["CAP_NET_BIND_SERVICE"]},
	  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
	  "execCPUAffinity": {"initial": "7", "final": "0-3,7"}}`,
	`{"user": {"uid": 1, "gid": 1, "additionalGids": [5, 6]},
	  "args": ["sh"],
	  "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
	  "cwd": "/",
	  "capabilities": {
	    "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	    "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	    "inheritable": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	    "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
	    "ambient": ["CAP_NET_BIND_SERVICE"]},
	  "rlimits": [{"type": "RLIMIT_CORE", "hard": 1024, "soft": 1024},
	              {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
	  "oomScoreAdj": 100, "noNewPrivileges": true}`,
	`{"user": {"uid": 1, "gid": 1, "umask": 7, "additionalGids": [2, 8]},
	  "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
	  "cwd": "/root", "args": ["/usr/bin/bash"]}`,
	`{"args": ["x"], "cwd": ""}`,
	`{"args": ["x"], "env": []}`,
	`{"args": ["x"], "user": {"uid": 0, "gid": 0, "umask": 512}}`,
	`{"args": ["x"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]}`,
	`{"args": [""], "oomScoreAdj": 1001}`,
	`{"args": ["x"], "env": ["=x", "NOEQUALS"]}`,
	`{"args": ["x"]} {"args": ["y"]}`,
	`{"args": "x"}`,
	``,
}

// FuzzLoadProcessJSON: any process.json either loads to a Spec that keeps
// the promises FromProcess makes (a program, NAME=value env, limits and
// umask in range) and that reads back the same when written out, or fails
// with an *Error whose message starts with the file's name.
func FuzzLoadProcessJSON(f *testing.F) {
	for _, s := range processSeeds {
		f.Add([]byte(s))
	}
	for _, p := range []string{
		"../examples/shellfree/service/hello/process.json",
		"../examples/shellfree/service/hello/log/process.json",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// One directory for every input: a TempDir each would be most of the
	// work.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "process.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadProcessJSON(path)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Origin != path || !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("process.json %q: error %q (%T); want an *Error naming %s", data, err, err, path)
			}
			return
		}
		checkSpec(t, data, s)
		s2 := writeBack(t, s, filepath.Join(dir, "again.json"))
		if !reflect.DeepEqual(s2, s) {
			t.Errorf("process.json %q loads as %+v;\nwritten out again it loads as %+v", data, s, s2)
		}
	})
}

func checkSpec(t *testing.T, data []byte, s *Spec) {
	t.Helper()
	if len(s.Args) == 0 || s.Args[0] == "" {
		t.Errorf("process.json %q: args %q; want a program", data, s.Args)
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			t.Errorf("process.json %q: env entry %q is not NAME=value", data, kv)
		}
	}
	if s.Umask != nil && *s.Umask > 0o777 {
		t.Errorf("process.json %q: umask %o above 0777", data, *s.Umask)
	}
	if s.OOMScoreAdj != nil && (*s.OOMScoreAdj < -1000 || *s.OOMScoreAdj > 1000) {
		t.Errorf("process.json %q: oomScoreAdj %d out of -1000..1000", data, *s.OOMScoreAdj)
	}
	seen := map[int]bool{}
	for _, r := range s.Rlimits {
		if r.Soft > r.Hard || seen[r.Resource] || r.SoftOnly || ociRlimits[r.Resource] != r.Name {
			t.Errorf("process.json %q: limits %+v; want each once, soft <= hard", data, s.Rlimits)
		}
		seen[r.Resource] = true
	}
}

// writeBack writes s as a process.json, field by field in runtime-spec
// terms (no omitempty: an empty env is not an absent one), and loads it.
func writeBack(t *testing.T, s *Spec, path string) *Spec {
	t.Helper()
	p := map[string]any{"args": s.Args, "cwd": s.Cwd, "noNewPrivileges": s.NoNewPrivileges}
	if s.Env != nil {
		p["env"] = s.Env
	}
	if u := s.User; u != nil {
		user := map[string]any{"uid": u.UID, "gid": u.GID}
		if u.Groups != nil {
			user["additionalGids"] = u.Groups
		}
		if s.Umask != nil {
			user["umask"] = *s.Umask
		}
		p["user"] = user
	}
	if s.Rlimits != nil {
		var rl []map[string]any
		for _, r := range s.Rlimits {
			rl = append(rl, map[string]any{"type": r.Name, "soft": r.Soft, "hard": r.Hard})
		}
		p["rlimits"] = rl
	}
	if s.OOMScoreAdj != nil {
		p["oomScoreAdj"] = *s.OOMScoreAdj
	}
	if c := s.Capabilities; c != nil {
		names := func(mask uint64) []string {
			out := []string{}
			for bit := range 64 {
				if mask&(1<<bit) != 0 {
					out = append(out, CapabilityName(bit))
				}
			}
			return out
		}
		p["capabilities"] = map[string]any{
			"bounding": names(c.Bounding), "effective": names(c.Effective), "permitted": names(c.Permitted),
			"inheritable": names(c.Inheritable), "ambient": names(c.Ambient),
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := LoadProcessJSON(path)
	if err != nil {
		t.Fatalf("%+v written as %s: %v", s, b, err)
	}
	s2.Origin = s.Origin
	return s2
}
