package integration

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/svtest"
	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestReadinessDebianSv: Debian's sv reads a service with vigil's
// readiness files exactly as it reads it under runit's runsv, which knows
// none of them: supervise/status stays runit's, and what vigil adds lives
// in supervise/vigil, which Debian's sv never opens.
func TestReadinessDebianSv(t *testing.T) {
	sv := testenv.Peer(t, "sv")
	gate := "while [ ! -e go ]; do sleep 0.01; done; "
	for _, tc := range []struct {
		name  string
		files map[string]string
		ready bool // whether vigil's readiness comes
	}{
		{"notification-fd, ready", map[string]string{"run": "#!/bin/sh\necho >&3\nexec sleep 1000\n", "notification-fd": "3"}, true},
		{"notification-fd, not ready yet", map[string]string{"run": "#!/bin/sh\n" + gate + "exec sleep 1000\n", "notification-fd": "3"}, false},
		{"notification-socket", map[string]string{"run": "#!/bin/sh\nexec sleep 1000\n", "notification-socket": ""}, false},
		{"check passing", map[string]string{"run": "#!/bin/sh\nexec sleep 1000\n", "check": "#!/bin/sh\nexit 0\n"}, true},
		{"check failing", map[string]string{"run": "#!/bin/sh\nexec sleep 1000\n", "check": "#!/bin/sh\nexit 1\n"}, false},
		{"down, with restart-limit", map[string]string{"run": "#!/bin/sh\nexec sleep 1000\n", "down": "", "restart-limit": "3"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, im := range svtest.Runsvs(t) {
				dir, _ := svtest.Supervise(t, im, "s", tc.files)
				_, isDown := tc.files["down"]
				// The status is written before supervise/ok is opened, as
				// runsv does: a service that stays down is supervised once
				// ok has a reader, not when its status appears.
				svtest.WaitStatus(t, dir, 20*time.Second, "supervised", func(st supervise.Status) bool {
					return svtest.Supervised(dir) && (isDown || svtest.Running(st))
				})
				if im.Name == "vigil" {
					testenv.WaitFor(t, 20*time.Second, "supervise/vigil", func() bool {
						x, err := supervise.ReadExtended(filepath.Join(dir, "supervise"))
						return err == nil && (!tc.ready || !x.Ready.IsZero())
					})
				}
				cmd := exec.Command(sv, "status", "./s")
				cmd.Dir = filepath.Dir(dir)
				out, _ := cmd.CombinedOutput()
				got[im.Name] = normaliseSv(string(out))
			}
			if got["vigil"] != got["runit"] {
				t.Errorf("Debian's sv status:\n vigil: %q\n runit: %q", got["vigil"], got["runit"])
			}
		})
	}
}

var svNumbers = regexp.MustCompile(`\(pid \d+\) \d+s|: \d+s`)

// normaliseSv replaces pids and seconds, which differ between two runs.
func normaliseSv(s string) string {
	return svNumbers.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] == '(' {
			return "(pid N) Ns"
		}
		return ": Ns"
	})
}
