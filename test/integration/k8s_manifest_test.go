package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
)

// k8sManifests parses every manifest of examples/kubernetes and returns
// the documents by kind.
func k8sManifests(t *testing.T) map[string][]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "examples", "kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifests in examples/kubernetes")
	}
	kinds := map[string][]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := parseYAML(string(b))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, d := range docs {
			for _, field := range []string{"apiVersion", "kind"} {
				if ystr(d, field) == "" {
					t.Errorf("%s: a document without %s", filepath.Base(f), field)
				}
			}
			if ystr(d, "metadata", "name") == "" {
				t.Errorf("%s: a %s without metadata.name", filepath.Base(f), ystr(d, "kind"))
			}
			kinds[ystr(d, "kind")] = append(kinds[ystr(d, "kind")], d)
		}
	}
	return kinds
}

// k8sPod is what the tests need of the Deployment.
type k8sPod struct {
	spec    any // the pod's spec
	app     any // the container running the example image
	sidecar any // the log shipper
	grace   time.Duration
	env     map[string]string // the app's
}

func k8sDeployment(t *testing.T) k8sPod {
	t.Helper()
	deps := k8sManifests(t)["Deployment"]
	if len(deps) != 1 {
		t.Fatalf("Deployments in examples/kubernetes: got %d; want 1", len(deps))
	}
	d := deps[0]
	if got := ystr(d, "apiVersion"); got != "apps/v1" {
		t.Errorf("Deployment apiVersion: got %q; want apps/v1", got)
	}
	var p k8sPod
	p.spec = yget(d, "spec", "template", "spec")
	containers := ylist(p.spec, "containers")
	if len(containers) != 2 {
		t.Fatalf("pod containers: got %d; want 2, the app and a log-shipping sidecar", len(containers))
	}
	p.app, p.sidecar = ynamed(containers, "app"), ynamed(containers, "log-shipper")
	if p.app == nil || p.sidecar == nil {
		t.Fatalf("pod containers: want one named app and one named log-shipper")
	}
	p.env = map[string]string{}
	for _, e := range ylist(p.app, "env") {
		p.env[ystr(e, "name")] = ystr(e, "value")
	}
	g, err := services.ParseGrace(p.env["VIGIL_GRACE"])
	if err != nil {
		t.Fatalf("app's VIGIL_GRACE: %v", err)
	}
	p.grace = g
	// The selector must select the pod.
	sel := yget(d, "spec", "selector", "matchLabels")
	labels := yget(d, "spec", "template", "metadata", "labels")
	if sel == nil || !reflect.DeepEqual(sel, labels) {
		t.Errorf("selector.matchLabels %v: want the pod's labels %v", sel, labels)
	}
	return p
}

// installedApplets lists the names `vigil --install` links.
func installedApplets(t *testing.T) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(testenv.Vigil(t), "--install", dir).CombinedOutput(); err != nil {
		t.Fatalf("vigil --install: %v: %s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

// exampleDockerfile returns examples/Dockerfile's text.
func exampleDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The Deployment is tied to vigil and to the example image: probes are
// sv commands that exist as applets, on services the image holds; a
// read-only root with /run writable for VIGIL_RUNDIR; a non-root user; a
// termination grace period of vigil's grace plus the 3 s it needs after;
// svlogd's directory on an emptyDir the sidecar reads; the image built by
// make image.
func TestK8sManifests(t *testing.T) {
	p := k8sDeployment(t)
	applets := installedApplets(t)
	dockerfile := exampleDockerfile(t)
	svcDir := filepath.Join(testenv.Root(), "examples", "service")

	// The image: the tag scripts/image.sh gives it.
	image := ystr(p.app, "image")
	repo, _, _ := strings.Cut(image, ":")
	script, err := os.ReadFile(filepath.Join(testenv.Root(), "scripts", "image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "-t "+repo+" ") {
		t.Errorf("app image %q: want the one scripts/image.sh builds (-t %s)", image, repo)
	}
	if !strings.Contains(dockerfile, `ENTRYPOINT ["/sbin/vigil"]`) || !strings.Contains(dockerfile, `"--install", "/usr/bin"`) {
		t.Errorf("examples/Dockerfile: want ENTRYPOINT [\"/sbin/vigil\"] and the applets installed in /usr/bin")
	}

	// Probes: sv on the example's services.
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		cmd := ystrings(ylist(p.app, probe, "exec", "command"))
		if len(cmd) < 3 {
			t.Errorf("%s: got command %q; want an sv command", probe, cmd)
			continue
		}
		if !applets[cmd[0]] || cmd[0] != "sv" {
			t.Errorf("%s: command %q: want sv, one of vigil's applets %v", probe, cmd[0], slices.Sorted(mapKeys(applets)))
		}
		verb, names := svArgs(cmd[1:])
		if verb != "check" && verb != "status" {
			t.Errorf("%s: sv %s: want check (status exits 0 for a service that is down)", probe, verb)
		}
		if verb == "status" {
			t.Errorf("%s: sv status succeeds for a down service; want sv check", probe)
		}
		if len(names) == 0 {
			t.Errorf("%s: %q names no service", probe, cmd)
		}
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(svcDir, n, "run")); err != nil {
				t.Errorf("%s: service %q: not in examples/service (%v)", probe, n, err)
			}
		}
		if to, _ := strconv.Atoi(ystr(p.app, probe, "timeoutSeconds")); to <= svWait(cmd[1:]) {
			t.Errorf("%s: timeoutSeconds %d: want more than sv's -w %d", probe, to, svWait(cmd[1:]))
		}
	}

	// Security: non-root, read-only root, /run writable.
	runAsNonRoot := ystr(p.spec, "securityContext", "runAsNonRoot") == "true" || ystr(p.app, "securityContext", "runAsNonRoot") == "true"
	uid := ystr(p.app, "securityContext", "runAsUser")
	if uid == "" {
		uid = ystr(p.spec, "securityContext", "runAsUser")
	}
	if !runAsNonRoot || uid == "" || uid == "0" {
		t.Errorf("securityContext: got runAsNonRoot %v, runAsUser %q; want a non-root user", runAsNonRoot, uid)
	}
	for _, c := range []any{p.app, p.sidecar} {
		if got := ystr(c, "securityContext", "readOnlyRootFilesystem"); got != "true" {
			t.Errorf("container %s: readOnlyRootFilesystem %q; want true", ystr(c, "name"), got)
		}
	}
	runDir := p.env["VIGIL_RUNDIR"]
	if runDir == "" {
		runDir = "/run/vigil"
	}
	runVol := mountOf(p.app, runDir)
	if runVol == nil || yget(ynamed(ylist(p.spec, "volumes"), ystr(runVol, "name")), "emptyDir") == nil {
		t.Errorf("app: want an emptyDir mounted on %s (VIGIL_RUNDIR) over the read-only root", runDir)
	}

	// Grace: Kubernetes waits for vigil's grace plus the 3 s vigil takes
	// after it, as Docker's 10 s do for the default 7 s.
	tgps, err := strconv.Atoi(ystr(p.spec, "terminationGracePeriodSeconds"))
	if err != nil {
		t.Errorf("terminationGracePeriodSeconds: %v", err)
	}
	if want := int((p.grace + 3*time.Second + time.Second - 1) / time.Second); tgps != want {
		t.Errorf("terminationGracePeriodSeconds: got %d; want %d, vigil's grace %v plus 3 s", tgps, want, p.grace)
	}
	if p.grace == 0 {
		t.Errorf("VIGIL_GRACE 0 never kills: want a grace period")
	}

	// The log volume: svlogd's directory in the image, an emptyDir, read
	// by the sidecar at a path its command follows.
	logDir := "/var/log/ledger"
	if !strings.Contains(dockerfile, `VOLUME ["`+logDir+`"]`) {
		t.Errorf("examples/Dockerfile: want VOLUME [%q], ledger's svlogd directory", logDir)
	}
	if b, err := os.ReadFile(filepath.Join(svcDir, "ledger", "log", "run")); err != nil || !strings.Contains(string(b), "svlogd") {
		t.Errorf("examples/service/ledger/log/run: want it to run svlogd (%v)", err)
	}
	appLog := mountOf(p.app, logDir)
	if appLog == nil {
		t.Fatalf("app: want a volume mounted on %s", logDir)
	}
	vol := ynamed(ylist(p.spec, "volumes"), ystr(appLog, "name"))
	if yget(vol, "emptyDir") == nil {
		t.Errorf("volume %s: want an emptyDir", ystr(appLog, "name"))
	}
	var shipMount any
	for _, m := range ylist(p.sidecar, "volumeMounts") {
		if ystr(m, "name") == ystr(appLog, "name") {
			shipMount = m
		}
	}
	if shipMount == nil {
		t.Fatalf("log-shipper: want the volume %s mounted", ystr(appLog, "name"))
	}
	ship := strings.Join(ystrings(ylist(p.sidecar, "command")), " ")
	if !strings.Contains(ship, ystr(shipMount, "mountPath")+"/current") {
		t.Errorf("log-shipper: command %q: want it to follow %s/current", ship, ystr(shipMount, "mountPath"))
	}

	// web's port.
	port := p.env["WEB_PORT"]
	if port == "" {
		port = "8080"
	}
	var portName string
	for _, cp := range ylist(p.app, "ports") {
		if ystr(cp, "containerPort") == port {
			portName = ystr(cp, "name")
		}
	}
	if portName == "" {
		t.Errorf("app: want containerPort %s, web's WEB_PORT", port)
	}
	for _, s := range k8sManifests(t)["Service"] {
		for _, sp := range ylist(s, "spec", "ports") {
			if tp := ystr(sp, "targetPort"); tp != portName && tp != port {
				t.Errorf("Service %s: targetPort %q; want %q or %s", ystr(s, "metadata", "name"), tp, portName, port)
			}
		}
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// svArgs splits sv's arguments into the command and the services.
func svArgs(args []string) (verb string, names []string) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-w":
			i++
		case strings.HasPrefix(a, "-"):
		case verb == "":
			verb = a
		default:
			names = append(names, a)
		}
	}
	return verb, names
}

// svWait is sv's -w, 7 by default.
func svWait(args []string) int {
	for i, a := range args {
		if a == "-w" && i+1 < len(args) {
			n, _ := strconv.Atoi(args[i+1])
			return n
		}
	}
	return 7
}

// mountOf returns the container's volumeMount whose path holds path.
func mountOf(c any, path string) any {
	for _, m := range ylist(c, "volumeMounts") {
		mp := ystr(m, "mountPath")
		if path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/") {
			return m
		}
	}
	return nil
}

// The reader refuses what it does not understand, so the manifest test
// cannot pass on a misread file.
func TestK8sYAMLReader(t *testing.T) {
	good := `# c
a: 1
b:
  c: "x # not a comment"
  d: ['p', "q", r]
list:
- name: one
  value: "1"
- two
nested:
  - - x
empty: {}
`
	docs, err := parseYAML(good)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a":      "1",
		"b":      map[string]any{"c": "x # not a comment", "d": []any{"p", "q", "r"}},
		"list":   []any{map[string]any{"name": "one", "value": "1"}, "two"},
		"nested": []any{[]any{"x"}},
		"empty":  map[string]any{},
	}
	if len(docs) != 1 || !reflect.DeepEqual(docs[0], want) {
		t.Errorf("parseYAML: got %#v; want %#v", docs, want)
	}
	for _, bad := range []string{
		"a: &anchor 1\n",
		"a: |\n  text\n",
		"a: {b: 1}\n",
		"a:\n  b: 1\n   c: 2\n",
		"a: 1\na: 2\n",
		"a: [1, 2\n",
		"- a\nb: 1\n",
	} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("parseYAML(%q): got no error; want one", bad)
		}
	}
}

// The pod as Docker can run it: the app container with the manifest's
// user, read-only root, /run tmpfs and environment; its probes, run with
// docker exec, succeed; the sidecar's command, sharing the log volume,
// ships ledger's records; and stopping it fits in the termination grace
// period.
func TestK8sPodInDocker(t *testing.T) {
	t.Parallel()
	p := k8sDeployment(t)
	img := exampleImage(t)
	uid := ystr(p.spec, "securityContext", "runAsUser")
	gid := ystr(p.spec, "securityContext", "runAsGroup")
	if gid == "" {
		gid = uid
	}
	args := []string{"--read-only", "--tmpfs", "/run:uid=" + uid + ",gid=" + gid, "--user", uid + ":" + gid}
	for k, v := range p.env {
		args = append(args, "-e", k+"="+v)
	}
	app := startContainer(t, append(args, img)...)
	app.waitRunning(20*time.Second, dockerServices...)
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		cmd := ystrings(ylist(p.app, probe, "exec", "command"))
		var out string
		var code int
		testenv.WaitFor(t, 10*time.Second, probe+" to succeed", func() bool {
			var err error
			out, code, err = app.exec(cmd...)
			if err != nil {
				t.Fatal(err)
			}
			return code == 0
		})
		t.Logf("%s %q: %s", probe, cmd, strings.TrimSpace(out))
	}
	cmd := ystrings(ylist(p.sidecar, "command"))
	shipper := startContainer(t, append([]string{"--volumes-from", app.name, "--read-only", "--user", uid + ":" + gid,
		"--entrypoint", cmd[0], img}, cmd[1:]...)...)
	shipper.waitLog(15*time.Second, "stdout", "ledger's first record", func(l string) bool {
		return regexp.MustCompile(`^\S+ ledger: record 1$`).MatchString(l)
	})

	took, code := app.stop(int(p.grace/time.Second) + 3)
	t.Logf("docker stop of the app took %v", took.Round(time.Millisecond))
	if took > p.grace || code != 0 {
		t.Errorf("stopping the app: exit code %d after %v; want 0 within the grace period %v", code, took, p.grace)
	}
	took, code = shipper.stop()
	if code != 128+15 || took > dockerStopTimeLimit {
		t.Errorf("stopping the sidecar: exit code %d after %v; want %d (tail got TERM) within %v", code, took, 128+15, dockerStopTimeLimit)
	}
}
