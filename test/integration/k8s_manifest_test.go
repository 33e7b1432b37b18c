package integration

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
)

// k8sObjects decodes every manifest of examples/kubernetes, by file.
func k8sObjects(t *testing.T) map[string][]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "examples", "kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifests in examples/kubernetes")
	}
	byFile := map[string][]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeManifests(b)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		byFile[filepath.Base(f)] = objs
	}
	return byFile
}

// deploymentIn is the one Deployment of file.
func deploymentIn(t *testing.T, objs map[string][]any, file string) *appsv1.Deployment {
	t.Helper()
	var found []*appsv1.Deployment
	for _, o := range objs[file] {
		if d, ok := o.(*appsv1.Deployment); ok {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: got %d Deployments; want 1", file, len(found))
	}
	return found[0]
}

func podContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func envOf(c *corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// k8sPod is what the tests need of the example Deployment.
type k8sPod struct {
	spec    *corev1.PodSpec
	meta    map[string]string // the pod's annotations
	app     *corev1.Container // the container running the example image
	sidecar *corev1.Container // the log shipper
	grace   time.Duration
	env     map[string]string // the app's
}

func k8sDeployment(t *testing.T) k8sPod {
	t.Helper()
	d := deploymentIn(t, k8sObjects(t), "deployment.yaml")
	p := k8sPod{spec: &d.Spec.Template.Spec, meta: d.Spec.Template.Annotations}
	if len(p.spec.Containers) != 2 {
		t.Fatalf("pod containers: got %d; want 2, the app and a log-shipping sidecar", len(p.spec.Containers))
	}
	p.app, p.sidecar = podContainer(p.spec.Containers, "app"), podContainer(p.spec.Containers, "log-shipper")
	if p.app == nil || p.sidecar == nil {
		t.Fatalf("pod containers: want one named app and one named log-shipper")
	}
	p.env = envOf(p.app)
	g, err := services.ParseGrace(p.env["VIGIL_GRACE"])
	if err != nil {
		t.Fatalf("app's VIGIL_GRACE: %v", err)
	}
	p.grace = g
	return p
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

// httpPort is the port of VIGIL_HTTP's ":PORT" or "host:PORT".
func httpPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(port)
	if err != nil || err2 != nil {
		t.Fatalf("VIGIL_HTTP %q: want host:port (%v)", addr, err)
	}
	return int32(n)
}

// checkVigilProbes: VIGIL_HTTP is set on a named container port, the
// startup and readiness probes GET /readyz there, the liveness probe
// /healthz.
func checkVigilProbes(t *testing.T, c *corev1.Container) (portName string, port int32) {
	t.Helper()
	addr := envOf(c)["VIGIL_HTTP"]
	if addr == "" {
		t.Fatalf("container %s: no VIGIL_HTTP", c.Name)
	}
	port = httpPort(t, addr)
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Errorf("container %s: no named containerPort %d for VIGIL_HTTP %s", c.Name, port, addr)
	}
	for _, pr := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/readyz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
	} {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			t.Errorf("container %s: %s: want an httpGet on %s", c.Name, pr.name, pr.path)
			continue
		}
		h := pr.probe.HTTPGet
		if h.Path != pr.path || h.Port.String() != portName && h.Port.IntVal != port {
			t.Errorf("container %s: %s: GET %s on port %s; want %s on %s (%d)", c.Name, pr.name, h.Path, h.Port.String(), pr.path, portName, port)
		}
		if pr.probe.TimeoutSeconds < 1 {
			t.Errorf("container %s: %s: timeoutSeconds %d; want at least 1 s, above vigil's 1 s ping timeout for /healthz", c.Name, pr.name, pr.probe.TimeoutSeconds)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.TimeoutSeconds < 2 {
		t.Errorf("container %s: livenessProbe timeoutSeconds %d: want more than /healthz's 1 s ping timeout", c.Name, c.LivenessProbe.TimeoutSeconds)
	}
	return portName, port
}

// checkScrape: the pod is annotated for Prometheus on VIGIL_HTTP's port.
func checkScrape(t *testing.T, what string, ann map[string]string, port int32) {
	t.Helper()
	want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": strconv.Itoa(int(port)), "prometheus.io/path": "/metrics"}
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("%s: annotation %s %q; want %q", what, k, ann[k], v)
		}
	}
}

// The Deployment is tied to vigil and to the example image: HTTP probes
// on vigil's endpoint, scraped by Prometheus; a read-only root with /run
// writable for VIGIL_RUNDIR; a non-root user; a termination grace period
// of vigil's grace plus the 3 s it needs after; svlogd's directory on an
// emptyDir the sidecar reads; the image built by make image.
func TestK8sManifests(t *testing.T) {
	p := k8sDeployment(t)
	dockerfile := exampleDockerfile(t)
	svcDir := filepath.Join(testenv.Root(), "examples", "service")

	// The image: the tag scripts/image.sh gives it.
	repo, _, _ := strings.Cut(p.app.Image, ":")
	script, err := os.ReadFile(filepath.Join(testenv.Root(), "scripts", "image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// The script names its images PREFIX-example..., vigil by default.
	prefix, ok := strings.CutSuffix(repo, "-example")
	if !ok || !strings.Contains(string(script), "prefix=${PREFIX:-"+prefix+"}") || !strings.Contains(string(script), `-t "$prefix-example"`) {
		t.Errorf("app image %q: want the example scripts/image.sh builds by default (vigil-example)", p.app.Image)
	}
	if !strings.Contains(dockerfile, `ENTRYPOINT ["/sbin/vigil"]`) || !strings.Contains(dockerfile, `"--install", "/usr/bin"`) {
		t.Errorf("examples/Dockerfile: want ENTRYPOINT [\"/sbin/vigil\"] and the applets installed in /usr/bin")
	}

	_, port := checkVigilProbes(t, p.app)
	checkScrape(t, "deployment.yaml", p.meta, port)

	// Security: non-root, read-only root, /run writable.
	sc := p.spec.SecurityContext
	nonRoot := sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot
	var uid int64 = -1
	if sc != nil && sc.RunAsUser != nil {
		uid = *sc.RunAsUser
	}
	if !nonRoot || uid <= 0 {
		t.Errorf("securityContext: got runAsNonRoot %v, runAsUser %d; want a non-root user", nonRoot, uid)
	}
	for _, c := range []*corev1.Container{p.app, p.sidecar} {
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("container %s: want readOnlyRootFilesystem true", c.Name)
		}
	}
	runDir := p.env["VIGIL_RUNDIR"]
	if runDir == "" {
		runDir = "/run/vigil"
	}
	if v := volumeOf(p.spec, mountOf(p.app, runDir)); v == nil || v.EmptyDir == nil {
		t.Errorf("app: want an emptyDir mounted on %s (VIGIL_RUNDIR) over the read-only root", runDir)
	}

	// Grace: Kubernetes waits for vigil's grace plus the 3 s vigil takes
	// after it, as Docker's 10 s do for the default 7 s.
	if p.spec.TerminationGracePeriodSeconds == nil {
		t.Fatalf("terminationGracePeriodSeconds: not set")
	}
	if got, want := *p.spec.TerminationGracePeriodSeconds, int64((p.grace+3*time.Second+time.Second-1)/time.Second); got != want {
		t.Errorf("terminationGracePeriodSeconds: got %d; want %d, vigil's grace %v plus 3 s", got, want, p.grace)
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
	if v := volumeOf(p.spec, appLog); v == nil || v.EmptyDir == nil {
		t.Errorf("volume %s: want an emptyDir", appLog.Name)
	}
	var shipMount *corev1.VolumeMount
	for i, m := range p.sidecar.VolumeMounts {
		if m.Name == appLog.Name {
			shipMount = &p.sidecar.VolumeMounts[i]
		}
	}
	if shipMount == nil {
		t.Fatalf("log-shipper: want the volume %s mounted", appLog.Name)
	}
	if ship := strings.Join(p.sidecar.Command, " "); !strings.Contains(ship, shipMount.MountPath+"/current") {
		t.Errorf("log-shipper: command %q: want it to follow %s/current", ship, shipMount.MountPath)
	}

	// web's port and vigil's, as the Service names them.
	webPort := p.env["WEB_PORT"]
	if webPort == "" {
		webPort = "8080"
	}
	named := map[string]bool{}
	var webName string
	for _, cp := range p.app.Ports {
		named[cp.Name] = true
		if strconv.Itoa(int(cp.ContainerPort)) == webPort {
			webName = cp.Name
		}
	}
	if webName == "" {
		t.Errorf("app: want containerPort %s, web's WEB_PORT", webPort)
	}
	for _, o := range k8sObjects(t)["service.yaml"] {
		s, ok := o.(*corev1.Service)
		if !ok {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if !named[sp.TargetPort.String()] {
				t.Errorf("Service %s: targetPort %q; want one of the app's named ports %v", s.Name, sp.TargetPort.String(), named)
			}
		}
		if s.Spec.Selector["app"] != "vigil-example" {
			t.Errorf("Service %s: selector %v; want the Deployment's pods", s.Name, s.Spec.Selector)
		}
	}
}

// The native-sidecar example: vigil in an initContainer with
// restartPolicy Always, gating the app with its startupProbe on /readyz.
func TestK8sSidecarManifest(t *testing.T) {
	d := deploymentIn(t, k8sObjects(t), "sidecar.yaml")
	spec := &d.Spec.Template.Spec
	var side *corev1.Container
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			side = c
		}
	}
	if side == nil {
		t.Fatalf("sidecar.yaml: no initContainer with restartPolicy: Always")
	}
	if side.Command != nil {
		t.Errorf("sidecar %s: command %q; want the image's ENTRYPOINT, vigil", side.Name, side.Command)
	}
	_, port := checkVigilProbes(t, side)
	checkScrape(t, "sidecar.yaml", d.Spec.Template.Annotations, port)
	if len(spec.Containers) == 0 {
		t.Fatalf("sidecar.yaml: no main container")
	}
	// The main container reads what the sidecar's ledger writes.
	app := &spec.Containers[0]
	if m := mountOf(app, "/var/log/ledger"); m == nil || mountOf(side, "/var/log/ledger") == nil || mountOf(side, "/var/log/ledger").Name != m.Name {
		t.Errorf("sidecar.yaml: want the ledger log volume shared by %s and %s", side.Name, app.Name)
	}
	if m := mountOf(side, "/run/vigil"); m == nil || volumeOf(spec, m) == nil || volumeOf(spec, m).EmptyDir == nil {
		t.Errorf("sidecar %s: want an emptyDir on /run for VIGIL_RUNDIR", side.Name)
	}
}

// mountOf returns the container's volumeMount whose path holds path.
func mountOf(c *corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volumeOf(spec *corev1.PodSpec, m *corev1.VolumeMount) *corev1.Volume {
	if m == nil {
		return nil
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == m.Name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// The pod as Docker can run it: the app container with the manifest's
// user, read-only root, /run tmpfs and environment, its vigil port
// published; each probe of the manifest, made from outside as the
// kubelet makes it, succeeds; the sidecar's command, sharing the log
// volume, ships ledger's records; and stopping it fits in the
// termination grace period.
func TestK8sPodInDocker(t *testing.T) {
	t.Parallel()
	p := k8sDeployment(t)
	img := exampleImage(t)
	uid := strconv.FormatInt(*p.spec.SecurityContext.RunAsUser, 10)
	gid := uid
	if g := p.spec.SecurityContext.RunAsGroup; g != nil {
		gid = strconv.FormatInt(*g, 10)
	}
	port := httpPort(t, p.env["VIGIL_HTTP"])
	args := []string{"--read-only", "--tmpfs", "/run:uid=" + uid + ",gid=" + gid, "--user", uid + ":" + gid,
		"-p", "127.0.0.1::" + strconv.Itoa(int(port))}
	for k, v := range p.env {
		args = append(args, "-e", k+"="+v)
	}
	app := startContainer(t, append(args, img)...)
	base := app.publishedURL(port)
	for _, pr := range []struct {
		name  string
		probe *corev1.Probe
	}{{"startupProbe", p.app.StartupProbe}, {"readinessProbe", p.app.ReadinessProbe}, {"livenessProbe", p.app.LivenessProbe}} {
		url := base + pr.probe.HTTPGet.Path
		var code int
		var body string
		testenv.WaitFor(t, 30*time.Second, pr.name+" (GET "+url+") to succeed", func() bool {
			code, body = httpGet(url)
			time.Sleep(20 * time.Millisecond)
			// The kubelet counts 200 to 399 as success.
			return code >= 200 && code < 400
		})
		t.Logf("%s GET %s: %d %s", pr.name, pr.probe.HTTPGet.Path, code, strings.TrimSpace(body))
	}
	cmd := p.sidecar.Command
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
