package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopRecorder is a run script that notes its stop in $T/order on TERM.
func stopRecorder(name string) string {
	return "trap 'echo " + name + " >>$T/order; exit 0' TERM; touch $T/up." + name + "; while :; do sleep 0.05; done"
}

// TestInitPolicies: the opt-in files of a service, with vigil as PID 1.
func TestInitPolicies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // under the service directory; "run" files are scripts
		main  []string
		grace string
		await []string // files in $T before the TERM; none: no TERM
		want  int
		said  []string // lines vigil must print
		order string   // $T/order at the end
		ranAt time.Duration
	}{
		{
			name: "dependents stop first",
			files: map[string]string{
				"db/run": stopRecorder("db"), "app/run": stopRecorder("app"), "app/dependencies.d/db": "",
				"web/run": stopRecorder("web"), "web/dependencies.d/app": "",
			},
			await: []string{"up.db", "up.app", "up.web"}, want: 0, order: "web\napp\ndb\n",
		},
		{
			name: "an essential service's code wins over the main command's",
			files: map[string]string{
				"job/run": "while [ ! -e $T/go ]; do sleep 0.01; done; exit 5", "job/essential": "",
			},
			main: []string{"sh", "-c", "touch $T/go; exec sleep 1000"}, want: 5,
			said: []string{"vigil: job: essential service exited with code 5: stopping the container with code 5"},
		},
		{
			name: "timeout-kill ends a stop before the grace period",
			files: map[string]string{
				"stuck/run": "trap '' TERM; touch $T/up.stuck; while :; do sleep 0.05; done", "stuck/timeout-kill": "300",
			},
			grace: "120", await: []string{"up.stuck"}, want: 0, ranAt: 60 * time.Second,
			said: []string{"vigil: stuck: still running 300ms after its down signal (timeout-kill): killing it"},
		},
		{
			name:  "the grace period's end names what it kills",
			files: map[string]string{"stubborn/run": "trap '' TERM; touch $T/up.stubborn; while :; do sleep 0.05; done"},
			grace: "1", await: []string{"up.stubborn"}, want: 0,
			said: []string{"vigil: grace period over: killing stubborn (pid "},
		},
		{
			name:  "an unasked exit is said at the default verbosity",
			files: map[string]string{"crash/run": "[ -e $T/crashed ] && { touch $T/up.crash; exec sleep 1000; }; touch $T/crashed; exit 3"},
			await: []string{"up.crash"}, want: 0,
			said: []string{"vigil: crash: exited with code 3 after ", "; restarting in 1s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			svdir := filepath.Join(dir, "service")
			for path, body := range tc.files {
				full := filepath.Join(svdir, path)
				if filepath.Base(path) == "run" {
					initScript(t, full, body)
					continue
				}
				os.MkdirAll(filepath.Dir(full), 0o755)
				if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"SVDIR=" + svdir}
			if tc.grace != "" {
				env = append(env, "VIGIL_GRACE="+tc.grace)
			}
			args := []string{}
			if tc.main != nil {
				args = append([]string{"--"}, tc.main...)
			}
			r := startInitNS(t, initOpts{scratch: dir, env: env, args: args})
			for _, f := range tc.await {
				r.waitFile(f, 60*time.Second)
			}
			if len(tc.await) > 0 {
				r.signal(syscall.SIGTERM)
			}
			code, ran := r.wait(180 * time.Second)
			if code != tc.want {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tc.want, r.stderr())
			}
			for _, s := range tc.said {
				if !strings.Contains(r.stderr(), s) {
					t.Errorf("stderr:\n%s\nwant it to say %q", r.stderr(), s)
				}
			}
			if tc.order != "" {
				if got := r.file("order"); got != tc.order {
					t.Errorf("stop order %q; want %q", got, tc.order)
				}
			}
			if tc.ranAt > 0 && ran > tc.ranAt {
				t.Errorf("vigil ran %v; timeout-kill should end it long before the %ss grace period", ran, tc.grace)
			}
		})
	}
}
