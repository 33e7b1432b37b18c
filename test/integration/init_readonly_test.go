package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestInitReadOnlyNonRoot: vigil as an unprivileged user (USER nobody)
// with a read-only service directory and VIGIL_RUNDIR unset: the services'
// state goes under the default /run/vigil (a tmpfs here, as in a
// container), $VIGIL_RUNDIR is set for them, and a service can still
// choose the container's exit code.
func TestInitReadOnlyNonRoot(t *testing.T) {
	requireInitNS(t)
	dir := t.TempDir()
	svdir := filepath.Join(dir, "sv")
	initServices(t, svdir, map[string]string{
		"app": `[ "$VIGIL_RUNDIR" = /run/vigil ] && [ "$(id -u)" = 65534 ] && touch $T/up
echo 42 > $VIGIL_RUNDIR/exitcode && kill -TERM $VIGIL_PID
exec sleep 1000`,
	})
	// nobody must reach the scratch dir and the vigil link.
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(vigilInit(t))} {
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
	}
	wrap := `set -e
mount -t tmpfs -o mode=1777 tmpfs /run
mount --bind "$SV" "$SV"
mount -o remount,bind,ro "$SV"
exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"`
	r := startInitNS(t, initOpts{
		args:    []string{"-s", svdir},
		env:     []string{"VIGIL_RUNDIR=", "SV=" + svdir},
		scratch: dir,
		wrap:    wrap,
	})
	code, _ := r.wait(20 * time.Second)
	if code != 42 {
		t.Errorf("exit code %d; want 42, the service's choice\nstderr:\n%s", code, r.stderr())
	}
	if !r.exists("up") {
		t.Errorf("the service did not run as nobody with VIGIL_RUNDIR=/run/vigil\nstderr:\n%s", r.stderr())
	}
	if _, err := os.Stat(filepath.Join(svdir, "app", "supervise")); err == nil {
		t.Errorf("supervise/ was made in the read-only service directory")
	}
}
