package integration

// The Kubernetes examples are decoded strictly into Kubernetes' own API
// types (k8s.io/api, with sigs.k8s.io/yaml as kubectl reads YAML): a
// field the API does not have, a value of the wrong type or a key given
// twice is an error, as `kubectl apply --validate=strict` makes it. The
// API server's required fields that the types cannot express (a
// container's name and image, a probe's one handler...) are checked by
// checkObject.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// decodeManifests returns the objects of a multi-document YAML file.
func decodeManifests(src []byte) ([]any, error) {
	var objs []any
	for i, doc := range splitDocuments(src) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "v1 Pod":
			obj = &corev1.Pod{}
		default:
			return nil, fmt.Errorf("document %d: apiVersion %q kind %q: not a kind the examples use", i+1, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
		if err := checkObject(obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// splitDocuments cuts at "---" lines and drops documents with nothing
// but comments.
func splitDocuments(src []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, l := range strings.Split(cur.String(), "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, bytes.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	for _, l := range strings.SplitAfter(string(src), "\n") {
		if strings.TrimRight(l, " \r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(l)
	}
	flush()
	return docs
}

// checkObject checks what the API server requires and the Go types do
// not say.
func checkObject(obj any) error {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Name == "" {
			return errors.New("metadata.name: required")
		}
		if o.Spec.Selector == nil || len(o.Spec.Selector.MatchLabels) == 0 {
			return errors.New("spec.selector: required")
		}
		sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
		if err != nil {
			return fmt.Errorf("spec.selector: %w", err)
		}
		if !sel.Matches(labels.Set(o.Spec.Template.Labels)) {
			return fmt.Errorf("spec.selector %v does not select the template's labels %v", o.Spec.Selector.MatchLabels, o.Spec.Template.Labels)
		}
		return checkPodSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *corev1.Pod:
		if o.Name == "" {
			return errors.New("metadata.name: required")
		}
		return checkPodSpec("spec", &o.Spec)
	case *corev1.Service:
		if o.Name == "" {
			return errors.New("metadata.name: required")
		}
		if len(o.Spec.Ports) == 0 {
			return errors.New("spec.ports: required")
		}
		for i, p := range o.Spec.Ports {
			if p.Port == 0 {
				return fmt.Errorf("spec.ports[%d].port: required", i)
			}
			if len(o.Spec.Ports) > 1 && p.Name == "" {
				return fmt.Errorf("spec.ports[%d].name: required when there are several", i)
			}
		}
	}
	return nil
}

func checkPodSpec(at string, spec *corev1.PodSpec) error {
	if len(spec.Containers) == 0 {
		return fmt.Errorf("%s.containers: required", at)
	}
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		vols[v.Name] = true
	}
	seen := map[string]bool{}
	check := func(field string, cs []corev1.Container) error {
		for i := range cs {
			c := &cs[i]
			where := fmt.Sprintf("%s.%s[%d]", at, field, i)
			if c.Name == "" {
				return fmt.Errorf("%s.name: required", where)
			}
			if seen[c.Name] {
				return fmt.Errorf("%s.name: %q given twice", where, c.Name)
			}
			seen[c.Name] = true
			if c.Image == "" {
				return fmt.Errorf("%s.image: required", where)
			}
			if c.RestartPolicy != nil && (field != "initContainers" || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				return fmt.Errorf("%s.restartPolicy: only Always, and only on an init container", where)
			}
			ports := map[string]bool{}
			for j, p := range c.Ports {
				if p.ContainerPort <= 0 || p.ContainerPort > 65535 {
					return fmt.Errorf("%s.ports[%d].containerPort: want 1 to 65535", where, j)
				}
				if p.Name != "" {
					ports[p.Name] = true
				}
			}
			for name, pr := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
				if pr == nil {
					continue
				}
				if err := checkProbe(pr, ports); err != nil {
					return fmt.Errorf("%s.%s: %w", where, name, err)
				}
			}
			for j, m := range c.VolumeMounts {
				if !vols[m.Name] {
					return fmt.Errorf("%s.volumeMounts[%d]: no volume %q", where, j, m.Name)
				}
				if m.MountPath == "" {
					return fmt.Errorf("%s.volumeMounts[%d].mountPath: required", where, j)
				}
			}
		}
		return nil
	}
	if err := check("initContainers", spec.InitContainers); err != nil {
		return err
	}
	return check("containers", spec.Containers)
}

// checkProbe: exactly one handler, and an httpGet's named port is one
// of the container's.
func checkProbe(p *corev1.Probe, ports map[string]bool) error {
	n := 0
	if p.Exec != nil {
		n++
		if len(p.Exec.Command) == 0 {
			return errors.New("exec.command: required")
		}
	}
	if p.HTTPGet != nil {
		n++
		if port := p.HTTPGet.Port; port.StrVal != "" && !ports[port.StrVal] {
			return fmt.Errorf("httpGet.port: no container port named %q", port.StrVal)
		} else if port.StrVal == "" && (port.IntVal <= 0 || port.IntVal > 65535) {
			return errors.New("httpGet.port: required")
		}
		if p.HTTPGet.Path != "" && !strings.HasPrefix(p.HTTPGet.Path, "/") {
			return fmt.Errorf("httpGet.path %q: want an absolute path", p.HTTPGet.Path)
		}
	}
	if p.TCPSocket != nil {
		n++
	}
	if p.GRPC != nil {
		n++
	}
	if n != 1 {
		return fmt.Errorf("want exactly one handler (exec, httpGet, tcpSocket or grpc), got %d", n)
	}
	return nil
}

// brokenBase is a small valid manifest that each broken case changes.
const brokenBase = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  selector:
    matchLabels:
      app: x
  template:
    metadata:
      labels:
        app: x
    spec:
      containers:
        - name: app
          image: vigil-example:latest
          ports:
            - name: vigil
              containerPort: 9100
          readinessProbe:
            httpGet:
              path: /readyz
              port: vigil
`

// The decoder refuses what Kubernetes would, so the manifest tests
// cannot pass on a misread file.
func TestK8sStrictDecoding(t *testing.T) {
	if _, err := decodeManifests([]byte(brokenBase)); err != nil {
		t.Fatalf("the base manifest: %v", err)
	}
	if objs, err := decodeManifests([]byte("# only a comment\n---\n" + brokenBase + "---\n")); err != nil || len(objs) != 1 {
		t.Errorf("with empty documents around it: got %d objects, %v; want 1", len(objs), err)
	}
	for _, tc := range []struct {
		name      string
		old, new  string
		wantInErr string
	}{
		{"unknown field", "          image: vigil-example:latest\n", "          image: vigil-example:latest\n          imagePolicy: Always\n", "unknown field"},
		{"misspelt probe field", "          readinessProbe:\n", "          readynessProbe:\n", "unknown field"},
		{"field at the wrong level", "      containers:\n", "      replicas: 2\n      containers:\n", "unknown field"},
		{"wrong type: string for a number", "              containerPort: 9100\n", "              containerPort: nine\n", "containerPort"},
		{"wrong type: list for a map", "    matchLabels:\n      app: x\n", "    matchLabels:\n      - app\n", "matchLabels"},
		{"wrong type: quoted bool", "  name: x\nspec:\n", "  name: x\nspec:\n  paused: \"yes\"\n", "paused"},
		{"duplicate key", "          image: vigil-example:latest\n", "          image: vigil-example:latest\n          image: other\n", "already set"},
		{"missing container name", "        - name: app\n          image", "        - image", "name: required"},
		{"missing image", "          image: vigil-example:latest\n", "", "image: required"},
		{"probe without a handler", "            httpGet:\n              path: /readyz\n              port: vigil\n", "            periodSeconds: 5\n", "exactly one handler"},
		{"probe with two handlers", "            httpGet:\n", "            exec:\n              command: [\"true\"]\n            httpGet:\n", "exactly one handler"},
		{"probe on a port that is not there", "              port: vigil\n", "              port: metrics\n", "no container port"},
		{"no containers", "      containers:\n        - name: app\n", "      initContainers:\n        - name: app\n", "containers: required"},
		{"restartPolicy on a main container", "          image: vigil-example:latest\n", "          image: vigil-example:latest\n          restartPolicy: Always\n", "restartPolicy"},
		{"selector that selects nothing", "      labels:\n        app: x\n", "      labels:\n        app: other\n", "does not select"},
		{"no name", "  name: x\n", "  labels:\n    a: b\n", "metadata.name: required"},
		{"unknown kind", "kind: Deployment\n", "kind: Deploymint\n", "not a kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(brokenBase, tc.old) {
				t.Fatalf("the base manifest has no %q", tc.old)
			}
			src := strings.Replace(brokenBase, tc.old, tc.new, 1)
			_, err := decodeManifests([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("got %v; want an error with %q", err, tc.wantInErr)
			}
		})
	}
}
