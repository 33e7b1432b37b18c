package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/svtest"
	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// svStep is one sv command, and what to wait for afterwards so that both
// supervisors are in a settled state before the next one: a service and a
// condition on its status before and after.
type svStep struct {
	args   string
	svc    string
	settle func(before, after supervise.Status) bool
}

func want(w supervise.Want) func(_, st supervise.Status) bool {
	return func(_, st supervise.Status) bool { return st.Want == w }
}

func downNow(_, st supervise.Status) bool { return st.Pid == 0 && st.State == supervise.Down }

func upNow(_, st supervise.Status) bool { return svtest.Running(st) }

func newPid(before, st supervise.Status) bool { return svtest.Running(st) && st.Pid != before.Pid }

func paused(p bool) func(_, st supervise.Status) bool {
	return func(_, st supervise.Status) bool { return st.Paused == p }
}

// The script: every sv command the issue names, on services with (b) and
// without (a) a logger, a normally-down service (n) and one whose check
// script fails (f).
var svScript = []svStep{
	{"status a b n f", "", nil},
	{"down a", "a", downNow},
	{"status a b", "", nil},
	{"up a", "a", upNow},
	{"status a", "", nil},
	{"-w 5 down b", "", nil},
	{"status b", "", nil},
	{"-w 5 up b", "", nil},
	{"once a", "a", want(supervise.WantDown)},
	{"status a", "", nil},
	{"up a", "a", want(supervise.WantUp)},
	{"pause a", "a", paused(true)},
	{"status a", "", nil},
	{"cont a", "a", paused(false)},
	{"hup a", "", nil},
	{"-w 5 pause b", "", nil},
	{"status b", "", nil},
	{"-w 5 cont b", "", nil},
	{"alarm a", "", nil},
	{"interrupt b", "", nil},
	{"1 a", "", nil},
	{"2 a", "", nil},
	{"term a", "a", newPid},
	{"status a", "", nil},
	{"kill b", "b", newPid},
	{"status b", "", nil},
	{"-w 5 restart a", "a", newPid},
	{"status a", "", nil},
	{"-w 5 check a b", "", nil},
	{"-w 1 check f", "", nil},
	{"status n", "", nil},
	{"once n", "n", upNow},
	{"status n", "", nil},
	{"-w 5 down n", "", nil},
	{"-w 5 stop a", "", nil},
	{"-w 5 start a", "", nil},
	{"-w 5 force-stop b", "", nil},
	// Not -w: whether sv's look falls between the old supervisor's exit
	// and the runsvdir's new one is a race, with runit as with vigil
	// ("ok: runsv not running" or a timeout). TestLikeDebianSv waits on
	// exit against a lone runsv.
	{"exit a", "", nil},
	{"-w 5 up b", "", nil},
	{"status b", "", nil},
}

var (
	pidRE = regexp.MustCompile(`\(pid [0-9]+\)`)
	secRE = regexp.MustCompile(`\b[0-9]+s\b`)
)

// svGolden holds what Debian's sv printed for svScript against Debian's
// runsvdir, to compare with where runit is not unpacked. Regenerate with
//
//	VIGIL_RECORD_SV=1 go test ./test/integration -run TestEngineDebianSv
const svGolden = "testdata/engine-sv-runit.txt"

// TestEngineDebianSv drives vigil's runsvdir and Debian's runsvdir with
// Debian's sv, the same script on both, and compares every line of output
// and every exit code (pids and seconds normalised). Without Debian's
// runit, vigil's sv drives vigil's runsvdir and the output is compared
// with what runit's printed when the golden file was recorded.
func TestEngineDebianSv(t *testing.T) {
	sv := testenv.HavePeer(t, "sv")
	if sv == "" {
		sv = vigilApplet(t, "sv")
	}
	results := map[string][]string{}
	var mu sync.Mutex
	t.Run("run", func(t *testing.T) {
		for _, im := range svtest.Runsvdirs(t) {
			t.Run(im.Name, func(t *testing.T) {
				t.Parallel()
				out := runSvScript(t, im, sv)
				mu.Lock()
				results[im.Name] = out
				mu.Unlock()
			})
		}
	})
	vig, run := results["vigil"], results["runit"]
	if os.Getenv("VIGIL_RECORD_SV") != "" {
		if len(run) != len(svScript) {
			t.Fatal("recording the golden file needs Debian's sv and runsvdir; run scripts/peers.sh")
		}
		writeSvGolden(t, run)
	}
	if run == nil {
		run = readSvGolden(t)
		t.Logf("comparing with runit's output recorded in %s", svGolden)
	}
	if len(vig) != len(svScript) || len(run) != len(svScript) {
		t.Fatalf("script incomplete: vigil %d steps, runit %d, of %d", len(vig), len(run), len(svScript))
	}
	for i := range svScript {
		if vig[i] != run[i] {
			t.Errorf("sv %s:\n vigil: %q\n runit: %q", svScript[i].args, vig[i], run[i])
		}
	}
}

// vigilApplet is a link named after applet to the vigil under test.
func vigilApplet(t *testing.T, applet string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), applet)
	if err := os.Symlink(testenv.Vigil(t), link); err != nil {
		t.Fatal(err)
	}
	return link
}

func writeSvGolden(t *testing.T, out []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Debian's sv 2.1.2 against Debian's runsvdir: each step of svScript, its output (quoted) then [exit N].\n")
	b.WriteString("# Recorded by VIGIL_RECORD_SV=1 go test ./test/integration -run TestEngineDebianSv\n")
	for i, o := range out {
		fmt.Fprintf(&b, "%q %q\n", svScript[i].args, o)
	}
	if err := os.WriteFile(svGolden, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSvGolden(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(svGolden)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		var args, o string
		if _, err := fmt.Sscanf(line, "%q %q", &args, &o); err != nil {
			t.Fatalf("%s: %q: %v", svGolden, line, err)
		}
		if i := len(out); i >= len(svScript) || svScript[i].args != args {
			t.Fatalf("%s: step %d is %q; the script has changed: record it again", svGolden, i, args)
		}
		out = append(out, o)
	}
	return out
}

func runSvScript(t *testing.T, im svtest.Impl, sv string) []string {
	// sleep ignores the signals the script sends, so that each is
	// delivered without changing the state: the outputs stay comparable.
	run := "#!/bin/sh\ntrap '' HUP INT QUIT ALRM USR1 USR2\nexec sleep 1000\n"
	dir, _ := svtest.Supervise(t, im, "sv", map[string]string{
		"a/run":     run,
		"b/run":     run,
		"b/log/run": "#!/bin/sh\nexec cat >/dev/null\n",
		"b/check":   "#!/bin/sh\nexit 0\n",
		"n/run":     run,
		"n/down":    "",
		"f/run":     run,
		"f/check":   "#!/bin/sh\nexit 1\n",
	})
	root := filepath.Dir(dir)
	for _, s := range []string{"a", "b", "b/log", "f"} {
		svtest.WaitStatus(t, filepath.Join(dir, s), 10*time.Second, "running", func(st supervise.Status) bool { return svtest.Running(st) })
	}
	// A supervisor writes status before it opens supervise/ok (vigil) or
	// after (runit); sv needs both, so wait for both.
	for _, s := range []string{"a", "b", "n", "f"} {
		svc := filepath.Join(dir, s)
		testenv.WaitFor(t, 10*time.Second, s+" supervised", func() bool {
			_, ok := svtest.StatusOK(svc)
			return ok && svtest.Supervised(svc)
		})
	}
	var out []string
	for _, step := range svScript {
		var before supervise.Status
		if step.svc != "" {
			before, _ = svtest.StatusOK(filepath.Join(dir, step.svc))
		}
		cmd := exec.Command(sv, strings.Fields(step.args)...)
		cmd.Env = append(os.Environ(), "SVDIR="+dir)
		cmd.Dir = root
		b, _ := cmd.CombinedOutput()
		text := secRE.ReplaceAllString(pidRE.ReplaceAllString(string(b), "(pid N)"), "Ns")
		out = append(out, fmt.Sprintf("%s[exit %d]", text, cmd.ProcessState.ExitCode()))
		if step.svc != "" {
			svc := filepath.Join(dir, step.svc)
			svtest.WaitStatus(t, svc, 10*time.Second, "settled after sv "+step.args, func(st supervise.Status) bool { return step.settle(before, st) })
		}
		if f := strings.Fields(step.args); slices.Contains(f, "exit") {
			// runsvdir brings an exited service back; wait for it.
			for _, s := range f[slices.Index(f, "exit")+1:] {
				svc := filepath.Join(dir, s)
				testenv.WaitFor(t, 15*time.Second, s+" supervised again", func() bool {
					st, ok := svtest.StatusOK(svc)
					return ok && svtest.Supervised(svc) && svtest.Running(st)
				})
			}
		}
	}
	return out
}
