package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInitTerminationLog: when an essential service or the main command
// ends the container, VIGIL_TERMINATION_LOG says which and how, with the
// last lines of the service's stderr when vigil relays it (-p).
func TestInitTerminationLog(t *testing.T) {
	requireInitNS(t)
	const failing = "echo starting >&2; echo 'FATAL: disk full' >&2; echo not stderr; exit 3"
	for _, tc := range []struct {
		name string
		args []string
		run  string // the essential service db's, if any
		want string
	}{
		{"an essential service, relayed", []string{"-p"}, failing,
			"service db: exited with code 3\nlast lines of stderr:\nstarting\nFATAL: disk full\n"},
		{"an essential service, not relayed", nil, failing, "service db: exited with code 3\n"},
		{"the main command", []string{"--", "sh", "-c", "echo oops >&2; exit 4"}, "", "command sh: exited with code 4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			svdir := filepath.Join(dir, "service")
			os.MkdirAll(svdir, 0o755)
			if tc.run != "" {
				initScript(t, filepath.Join(svdir, "db", "run"), tc.run)
				os.WriteFile(filepath.Join(svdir, "db", "essential"), nil, 0o644)
			}
			log := filepath.Join(dir, "termination-log")
			r := startInitNS(t, initOpts{scratch: dir, args: tc.args,
				env: []string{"SVDIR=" + svdir, "VIGIL_TERMINATION_LOG=" + log}})
			r.wait(120 * time.Second)
			b, err := os.ReadFile(log)
			if err != nil || string(b) != tc.want {
				t.Errorf("termination log %q (%v); want %q\nstderr:\n%s", b, err, tc.want, r.stderr())
			}
			if tc.run != "" && !strings.Contains(r.stderr(), "FATAL: disk full") {
				t.Errorf("stderr:\n%s\nwant the service's own lines relayed too", r.stderr())
			}
		})
	}
}
