package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-init/vigil/internal/testenv"
)

// publishedURL is http://127.0.0.1:HOSTPORT for the container's port,
// published with -p 127.0.0.1::PORT.
func (c *container) publishedURL(port int32) string {
	c.t.Helper()
	var out string
	testenv.WaitFor(c.t, 20*time.Second, "docker port "+c.name, func() bool {
		var err error
		out, err = docker("port", c.name, strconv.Itoa(int(port))+"/tcp")
		time.Sleep(20 * time.Millisecond)
		return err == nil && strings.TrimSpace(out) != ""
	})
	hostPort := strings.TrimSpace(strings.Split(strings.TrimSpace(out), "\n")[0])
	return "http://" + hostPort
}

var probeClient = &http.Client{Timeout: 5 * time.Second}

// httpGet returns the status and body, or 0 when no answer came.
func httpGet(url string) (int, string) {
	resp, err := probeClient.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// The example image with VIGIL_HTTP, its port published: from outside
// the container, /healthz answers, /readyz turns 200 once web, worker
// and ledger are up and names a service brought down, /metrics parses
// with Prometheus' parser and /v1/services lists the services.
func TestDockerHTTPEndpoint(t *testing.T) {
	t.Parallel()
	img := exampleImage(t)
	c := startContainer(t, "-e", "VIGIL_HTTP=:9100", "-p", "127.0.0.1::9100", img)
	base := c.publishedURL(9100)
	c.waitRunning(20*time.Second, dockerServices...)

	var code int
	var body string
	testenv.WaitFor(t, 30*time.Second, "GET /healthz to answer 200", func() bool {
		code, body = httpGet(base + "/healthz")
		time.Sleep(20 * time.Millisecond)
		return code == 200
	})
	testenv.WaitFor(t, 30*time.Second, "GET /readyz to answer 200", func() bool {
		code, body = httpGet(base + "/readyz")
		time.Sleep(20 * time.Millisecond)
		return code == 200
	})

	code, body = httpGet(base + "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("Prometheus' parser rejects /metrics: %v\n%s", err, body)
	}
	up := map[string]float64{}
	if f := fams["vigil_service_up"]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "service" {
					up[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	for _, n := range dockerServices {
		if up[n] != 1 {
			t.Errorf("/metrics: vigil_service_up{service=%q} = %v; want 1 (all: %v)", n, up[n], up)
		}
	}
	for _, name := range []string{"vigil_orphans_reaped_total", "vigil_build_info", "vigil_service_restarts_total"} {
		if fams[name] == nil {
			t.Errorf("/metrics: no %s", name)
		}
	}

	code, body = httpGet(base + "/v1/services")
	var list []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Pid   *int   `json:"pid"`
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("GET /v1/services: %d, %v: %s", code, err, body)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
		if s.State != "run" || s.Pid == nil {
			t.Errorf("/v1/services: %s: state %s pid %v; want run with a pid", s.Name, s.State, s.Pid)
		}
	}
	if strings.Join(names, " ") != "ledger web worker" {
		t.Errorf("/v1/services: names %v; want ledger web worker", names)
	}

	// sv down: the whole is still ready (worker is wanted down), worker
	// named alone is not.
	c.mustExec("sv", "down", "worker")
	testenv.WaitFor(t, 20*time.Second, "/readyz?service=worker to say worker is down", func() bool {
		code, body = httpGet(base + "/readyz?service=worker")
		time.Sleep(20 * time.Millisecond)
		return code == 503 && strings.Contains(body, "worker: down")
	})
	if code, body = httpGet(base + "/readyz"); code != 200 {
		t.Errorf("GET /readyz with worker wanted down: %d %q; want 200", code, body)
	}
	if code, _ = httpGet(base + "/readyz?service=nope"); code != 404 {
		t.Errorf("GET /readyz?service=nope: %d; want 404", code)
	}
	if resp, err := probeClient.Post(base+"/readyz", "text/plain", nil); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST /readyz: %v %v; want 405", resp, err)
	} else {
		resp.Body.Close()
	}
}
