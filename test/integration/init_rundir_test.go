package integration

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// roWrap makes /run a read-only tmpfs, as `docker run --read-only` without
// --tmpfs /run leaves it, and bind-mounts read-only each path of $RO.
const roWrap = `set -e
mount -t tmpfs -o ro tmpfs /run
for d in $RO; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; done
exec "$@"`

// TestInitNoRunDir: with read-only service directories and no writable
// $VIGIL_RUNDIR, no service can keep its supervise/ state. vigil says in
// one line what to add and exits 111, with or without a main command,
// instead of running with nothing supervised.
func TestInitNoRunDir(t *testing.T) {
	requireInitNS(t)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"services only", nil},
		{"with a main command", []string{"--", "/bin/sh", "-c", "touch $T/main-ran; exec sleep 1000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			svdir := filepath.Join(dir, "sv")
			initServices(t, svdir, map[string]string{
				"web":    "touch $T/web-ran; exec sleep 1000",
				"worker": "touch $T/worker-ran; exec sleep 1000",
			})
			initScript(t, filepath.Join(svdir, "web", "log", "run"), "exec cat")
			r := startInitNS(t, initOpts{
				args:    append([]string{"-s", svdir}, c.args...),
				env:     []string{"VIGIL_RUNDIR=", "RO=" + svdir},
				scratch: dir,
				wrap:    roWrap,
			})
			code, _ := r.wait(20 * time.Second)
			stderr := strings.TrimSuffix(r.stderr(), "\n")
			want := "vigil: error: no service in " + svdir + " can be supervised: their directories are read-only and " +
				"/run/vigil cannot be created (/run: read-only file system); " +
				"add --tmpfs /run to docker run (or a writable volume at /run/vigil), or set VIGIL_RUNDIR to a writable directory"
			if code != 111 || stderr != want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 111, stderr:\n%s", code, stderr, want)
			}
			for _, f := range []string{"web-ran", "worker-ran", "main-ran"} {
				if r.exists(f) {
					t.Errorf("%s: something ran although vigil refused to start", f)
				}
			}
		})
	}
}

// TestInitSomeRunDir: when only some services cannot keep their state,
// one line names them and what to add; the others run as usual. When
// every service directory is writable, an unwritable runtime directory
// does not matter and nothing is said.
func TestInitSomeRunDir(t *testing.T) {
	requireInitNS(t)
	for _, c := range []struct {
		name     string
		readOnly []string // services whose directory is read-only
		runDir   string   // VIGIL_RUNDIR, relative to the scratch directory
		warn     string
	}{
		{"one read-only service", []string{"a"}, "", "vigil: warning: 1 of 2 services in SV cannot be supervised (a): " +
			"its directory is read-only and /run/vigil cannot be created (/run: read-only file system); " + "add --tmpfs /run"},
		{"a read-only VIGIL_RUNDIR", []string{"a"}, "ro/run", "vigil: warning: 1 of 2 services in SV cannot be supervised (a): " +
			"its directory is read-only and T/ro/run cannot be created (T/ro: read-only file system); add --tmpfs /run"},
		{"writable service directories", nil, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			svdir := filepath.Join(dir, "sv")
			initServices(t, svdir, map[string]string{
				"a": "touch $T/a-ran; exec sleep 1000",
				"b": "touch $T/b-ran; exec sleep 1000",
			})
			ro := []string{filepath.Join(dir, "ro")}
			initScript(t, filepath.Join(dir, "ro", "keep"), "")
			for _, name := range c.readOnly {
				ro = append(ro, filepath.Join(svdir, name))
			}
			runDir := ""
			if c.runDir != "" {
				runDir = filepath.Join(dir, c.runDir)
			}
			r := startInitNS(t, initOpts{
				args:    []string{"-s", svdir},
				env:     []string{"VIGIL_RUNDIR=" + runDir, "RO=" + strings.Join(ro, " ")},
				scratch: dir,
				wrap:    roWrap,
			})
			r.waitFile("b-ran", 20*time.Second)
			if c.readOnly == nil {
				r.waitFile("a-ran", 20*time.Second)
			}
			r.signal(syscall.SIGTERM)
			code, _ := r.wait(20 * time.Second)
			if code != 0 {
				t.Errorf("exit %d after TERM; want 0\nstderr:\n%s", code, r.stderr())
			}
			stderr := r.stderr()
			want := strings.NewReplacer("SV", svdir, "T/", dir+"/").Replace(c.warn)
			var hints []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "tmpfs") {
					hints = append(hints, l)
				}
			}
			switch {
			case want == "" && len(hints) != 0:
				t.Errorf("stderr has %q; want no advice, every service directory is writable", hints)
			case want != "" && (len(hints) != 1 || !strings.HasPrefix(hints[0], want)):
				t.Errorf("advice lines %q; want one starting %q\nstderr:\n%s", hints, want, stderr)
			}
		})
	}
}
