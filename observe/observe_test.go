package observe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
)

// fakeSource serves a fixed snapshot; its Ping blocks while stuck is set,
// as a loop that stopped answering would.
type fakeSource struct {
	snap  atomic.Pointer[services.Snapshot]
	stuck atomic.Bool
}

func (f *fakeSource) Snapshot() *services.Snapshot { return f.snap.Load() }

func (f *fakeSource) Ping(ctx context.Context) error {
	if f.stuck.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func source(list ...services.ServiceState) *fakeSource {
	f := &fakeSource{}
	f.snap.Store(&services.Snapshot{Taken: time.Now(), Services: list})
	return f
}

var t0 = time.Date(2026, 12, 7, 1, 2, 3, 400000000, time.UTC)

// up is a service that runs and is ready.
func up(name string) services.ServiceState {
	return services.ServiceState{Name: name, State: "run", Want: "up", Pid: 42, Since: t0, Ready: true, ReadySince: t0, Healthy: true}
}

func with(st services.ServiceState, f func(*services.ServiceState)) services.ServiceState {
	f(&st)
	return st
}

// serve starts the endpoint on a free loopback port and returns its
// base URL.
func serve(t *testing.T, src Source, opts Options) (*Server, string) {
	t.Helper()
	s, err := Serve(context.Background(), "127.0.0.1:0", src, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestReadyz(t *testing.T) {
	web, db := up("web"), up("db")
	for _, tc := range []struct {
		name  string
		list  []services.ServiceState
		query string
		code  int
		body  string
	}{
		{"all ready", []services.ServiceState{db, web}, "", 200, "ok\n"},
		{"no services", nil, "", 200, "ok\n"},
		{"down", []services.ServiceState{db, with(web, func(s *services.ServiceState) { s.State, s.Pid, s.Ready = "down", 0, false })}, "", 503, "web: down\n"},
		{"finishing", []services.ServiceState{with(web, func(s *services.ServiceState) { s.State, s.Ready = "finish", false })}, "", 503, "web: finishing\n"},
		{"not ready", []services.ServiceState{with(db, func(s *services.ServiceState) { s.Ready = false }), web}, "", 503, "db: not ready\n"},
		{"unhealthy", []services.ServiceState{with(web, func(s *services.ServiceState) { s.Healthy = false })}, "", 503, "web: unhealthy\n"},
		{"failed", []services.ServiceState{with(web, func(s *services.ServiceState) { s.Failed, s.State, s.Ready = true, "down", false })}, "", 503, "web: failed\n"},
		{"waiting", []services.ServiceState{with(web, func(s *services.ServiceState) {
			s.State, s.Ready, s.Waiting = "down", false, []string{"db", "cache"}
		})}, "", 503, "web: waiting for db, cache\n"},
		{"two not ready, in order", []services.ServiceState{
			with(db, func(s *services.ServiceState) { s.State, s.Ready = "down", false }),
			with(web, func(s *services.ServiceState) { s.Ready = false }),
		}, "", 503, "db: down\nweb: not ready\n"},
		{"wanted down is fine", []services.ServiceState{with(web, func(s *services.ServiceState) { s.State, s.Want, s.Ready = "down", "down", false })}, "", 200, "ok\n"},
		{"narrowed to the ready one", []services.ServiceState{with(db, func(s *services.ServiceState) { s.State, s.Ready = "down", false }), web}, "?service=web", 200, "ok\n"},
		{"narrowed to both", []services.ServiceState{with(db, func(s *services.ServiceState) { s.State, s.Ready = "down", false }), web}, "?service=web,db", 503, "db: down\n"},
		{"named and wanted down", []services.ServiceState{with(web, func(s *services.ServiceState) { s.State, s.Want, s.Ready = "down", "down", false })}, "?service=web", 503, "web: down, wants down\n"},
		{"repeated parameter", []services.ServiceState{db, with(web, func(s *services.ServiceState) { s.Ready = false })}, "?service=db&service=web", 503, "web: not ready\n"},
		{"unknown name", []services.ServiceState{db, web}, "?service=web,nope", 404, "nope: unknown service\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := serve(t, source(tc.list...), Options{})
			code, body, _ := get(t, url+"/readyz"+tc.query)
			if code != tc.code || body != tc.body {
				t.Errorf("GET /readyz%s: got %d %q; want %d %q", tc.query, code, body, tc.code, tc.body)
			}
		})
	}
}

func TestReadyzBeforeFirstSnapshot(t *testing.T) {
	_, url := serve(t, &fakeSource{}, Options{})
	if code, body, _ := get(t, url+"/readyz"); code != 503 {
		t.Errorf("GET /readyz with no snapshot: got %d %q; want 503", code, body)
	}
}

func TestHealthz(t *testing.T) {
	src := source()
	_, url := serve(t, src, Options{PingTimeout: 100 * time.Millisecond})
	if code, body, _ := get(t, url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz, loop answering: got %d %q; want 200 \"ok\\n\"", code, body)
	}
	src.stuck.Store(true)
	if code, body, _ := get(t, url+"/healthz"); code != 503 || !strings.HasPrefix(body, "engine not answering") {
		t.Errorf("GET /healthz, loop stuck: got %d %q; want 503 engine not answering", code, body)
	}
}

func TestServicesJSON(t *testing.T) {
	killed := with(up("web"), func(s *services.ServiceState) {
		s.Restarts = 3
		s.LastExit = &services.ExitInfo{Code: -1, Signal: 9, At: t0}
		s.Log = &services.LogState{State: "run", Want: "up", Pid: 43, Since: t0}
		s.OOMKills = 1
	})
	down := services.ServiceState{Name: "db", State: "down", Want: "up", Healthy: true, Waiting: []string{"net"}}
	_, url := serve(t, source(down, killed), Options{})
	code, body, h := get(t, url+"/v1/services")
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/services: got %d %s; want 200 application/json", code, h.Get("Content-Type"))
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /v1/services: %v in %s", err, body)
	}
	if len(got) != 2 {
		t.Fatalf("GET /v1/services: got %d objects; want 2: %s", len(got), body)
	}
	wantKeys := []string{"failed", "healthy", "last_exit", "log", "name", "oom_kills", "pid", "ready", "restarts", "since", "state", "waiting", "want"}
	for _, o := range got {
		var keys []string
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("keys of %v: got %v; want %v", o["name"], keys, wantKeys)
		}
	}
	want := []map[string]any{
		{"name": "db", "state": "down", "want": "up", "pid": nil, "since": nil, "ready": false, "restarts": 0.0,
			"last_exit": nil, "failed": false, "healthy": true, "waiting": []any{"net"}, "oom_kills": 0.0, "log": nil},
		{"name": "web", "state": "run", "want": "up", "pid": 42.0, "since": "2026-12-07T01:02:03.4Z", "ready": true, "restarts": 3.0,
			"last_exit": map[string]any{"code": -1.0, "signal": 9.0}, "failed": false, "healthy": true, "waiting": []any{}, "oom_kills": 1.0,
			"log": map[string]any{"state": "run", "want": "up", "pid": 43.0, "since": "2026-12-07T01:02:03.4Z"}},
	}
	for i := range want {
		if g, w := fmt.Sprint(got[i]), fmt.Sprint(want[i]); g != w {
			t.Errorf("service %d:\ngot  %s\nwant %s", i, g, w)
		}
	}
	if s, _ := got[1]["since"].(string); s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("since %q: not RFC 3339: %v", s, err)
		}
	}
	// Before the first snapshot: an empty array, not null.
	_, url = serve(t, &fakeSource{}, Options{})
	if _, body, _ := get(t, url+"/v1/services"); strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /v1/services with no snapshot: got %q; want []", body)
	}
}

// parseMetrics reads /metrics with Prometheus' own parser.
func parseMetrics(t testing.TB, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("Prometheus' parser rejects /metrics: %v\n%s", err, body)
	}
	return fams
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return m.Untyped.GetValue()
}

// byService maps a family's samples by their service label.
func byService(f *dto.MetricFamily) map[string]float64 {
	got := map[string]float64{}
	if f == nil {
		return got
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == "service" {
				got[l.GetValue()] = metricValue(m)
			}
		}
	}
	return got
}

func TestMetrics(t *testing.T) {
	// Names a directory may have: quotes, backslashes, a newline, bytes
	// that are not UTF-8.
	odd := "we\"b\\x\ny"
	web := with(up(odd), func(s *services.ServiceState) {
		s.Since = time.Now().Add(-90 * time.Second)
		s.Restarts, s.OOMKills = 2, 1
		s.LastExit = &services.ExitInfo{Signal: 9}
	})
	db := services.ServiceState{Name: "db", State: "down", Want: "down", Healthy: true, LastExit: &services.ExitInfo{Code: 3}}
	bad := with(up("x\xff"), func(s *services.ServiceState) { s.Ready = false })
	var orphans atomic.Uint64
	orphans.Store(7)
	_, url := serve(t, source(db, web, bad), Options{Version: "1.2.3", Orphans: orphans.Load, OOMKills: func() uint64 { return 4 }})
	code, body, h := get(t, url+"/metrics")
	if code != 200 || h.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: got %d %q; want 200 text/plain; version=0.0.4", code, h.Get("Content-Type"))
	}
	fams := parseMetrics(t, body)
	for name, typ := range map[string]dto.MetricType{
		"vigil_service_up":              dto.MetricType_GAUGE,
		"vigil_service_ready":           dto.MetricType_GAUGE,
		"vigil_service_restarts_total":  dto.MetricType_COUNTER,
		"vigil_service_last_exit_code":  dto.MetricType_GAUGE,
		"vigil_service_uptime_seconds":  dto.MetricType_GAUGE,
		"vigil_service_oom_kills_total": dto.MetricType_COUNTER,
		"vigil_orphans_reaped_total":    dto.MetricType_COUNTER,
		"vigil_cgroup_oom_kills_total":  dto.MetricType_COUNTER,
		"vigil_build_info":              dto.MetricType_GAUGE,
	} {
		f := fams[name]
		if f == nil {
			t.Errorf("/metrics: no family %s", name)
			continue
		}
		if f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("%s: got type %v, help %q; want %v with a HELP line", name, f.GetType(), f.GetHelp(), typ)
		}
	}
	fixed := "x\uFFFD"
	for _, tc := range []struct {
		family string
		want   map[string]float64
	}{
		{"vigil_service_up", map[string]float64{"db": 0, odd: 1, fixed: 1}},
		{"vigil_service_ready", map[string]float64{"db": 0, odd: 1, fixed: 0}},
		{"vigil_service_restarts_total", map[string]float64{"db": 0, odd: 2, fixed: 0}},
		{"vigil_service_last_exit_code", map[string]float64{"db": 3, odd: 137}},
		{"vigil_service_oom_kills_total", map[string]float64{"db": 0, odd: 1, fixed: 0}},
	} {
		if got := byService(fams[tc.family]); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v; want %v", tc.family, got, tc.want)
		}
	}
	if up := byService(fams["vigil_service_uptime_seconds"]); up[odd] < 89 || up[odd] > 3600 || up["db"] != 0 {
		t.Errorf("vigil_service_uptime_seconds: got %v; want about 90 for %q, 0 for db", up, odd)
	}
	if f := fams["vigil_orphans_reaped_total"]; f == nil || metricValue(f.Metric[0]) != 7 {
		t.Errorf("vigil_orphans_reaped_total: got %v; want 7", f)
	}
	if f := fams["vigil_build_info"]; f != nil {
		labels := map[string]string{}
		for _, l := range f.Metric[0].Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "1.2.3" || !strings.HasPrefix(labels["goversion"], "go") || metricValue(f.Metric[0]) != 1 {
			t.Errorf("vigil_build_info: got %v = %v; want version 1.2.3 and a goversion, = 1", labels, metricValue(f.Metric[0]))
		}
	}
}

// The parser is strict enough to catch what the writer might get wrong.
func TestMetricsParserRejects(t *testing.T) {
	for _, bad := range []string{
		"vigil_x{service=\"a\nb\"} 1\n",                // raw newline in a label value
		"vigil_x{service=\"a\"b\"} 1\n",                // raw quote
		"# TYPE vigil_x gauge\n# TYPE vigil_x gauge\n", // TYPE twice
		"vigil_x{service=\"a\"} one\n",                 // not a number
	} {
		p := expfmt.NewTextParser(model.LegacyValidation)
		if _, err := p.TextToMetricFamilies(strings.NewReader(bad)); err == nil {
			t.Errorf("the parser accepts %q; the test needs it to reject it", bad)
		}
	}
}

func TestMethodsPathsAndBodies(t *testing.T) {
	_, url := serve(t, source(up("web")), Options{})
	for _, tc := range []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/healthz", "", 200},
		{"HEAD", "/healthz", "", 200},
		{"GET", "/nope", "", 404},
		{"GET", "/", "", 404},
		{"GET", "/v1/services/web", "", 404},
		{"POST", "/readyz", "", 405},
		{"PUT", "/metrics", "", 405},
		{"DELETE", "/v1/services", "", 405},
		{"POST", "/nope", "", 404},
		{"GET", "/readyz", "a body", 413},
	} {
		req, err := http.NewRequest(tc.method, url+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.body == "" {
			req.Body = nil
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s (body %q): got %d; want %d", tc.method, tc.path, tc.body, resp.StatusCode, tc.code)
		}
		if tc.code == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q; want \"GET, HEAD\"", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
}

// rawRequest sends raw bytes on a new connection and returns the status
// line of the answer, or the read error.
func rawRequest(t *testing.T, addr, req string) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestHugeRequest(t *testing.T) {
	s, _ := serve(t, source(), Options{MaxHeaderBytes: 4096})
	addr := s.Addr().String()
	huge := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	if got, err := rawRequest(t, addr, huge); !strings.HasPrefix(got, "HTTP/1.1 431") {
		t.Errorf("64 KiB of headers: got %q (%v); want 431", got, err)
	}
	long := "GET /" + strings.Repeat("a", 64<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if got, err := rawRequest(t, addr, long); !strings.HasPrefix(got, "HTTP/1.1 431") {
		t.Errorf("a 64 KiB request line: got %q (%v); want 431", got, err)
	}
	body := "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nxxxx"
	if got, err := rawRequest(t, addr, body); !strings.HasPrefix(got, "HTTP/1.1 413") {
		t.Errorf("a 1 GB body announced: got %q (%v); want 413", got, err)
	}
	chunked := "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffff\r\n"
	if got, err := rawRequest(t, addr, chunked); !strings.HasPrefix(got, "HTTP/1.1 413") {
		t.Errorf("a chunked body: got %q (%v); want 413", got, err)
	}
}

// waitClosed reads from c until the server closes it, and fails after
// the deadline.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: the server kept the connection open for 30 s", what)
	}
}

func TestSlowClients(t *testing.T) {
	s, _ := serve(t, source(), Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	addr := s.Addr().String()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// Slowloris: headers that never end.
	c := dial()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: 1\r\n")
	waitClosed(t, c, "headers never finished")
	// Nothing sent at all.
	waitClosed(t, dial(), "a silent connection")
	// A kept-alive connection, idle after its answer.
	c = dial()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	waitClosed(t, c, "an idle kept-alive connection")
}

// A client that asks and never reads: the write timeout frees its
// connection, so with one connection allowed the next client is served.
func TestSlowReader(t *testing.T) {
	many := make([]services.ServiceState, 20000)
	for i := range many {
		many[i] = up(fmt.Sprintf("service-%05d", i))
	}
	s, _ := serve(t, source(many...), Options{MaxConns: 1, WriteTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	// Megabytes of answer that are never read.
	io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	if got, err := rawRequest(t, s.Addr().String(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("a client after one that does not read: got %q, %v; want 200 once the write timeout frees the connection", got, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestConnectionLimit(t *testing.T) {
	s, _ := serve(t, source(), Options{MaxConns: 4})
	addr := s.Addr().String()
	var held []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The fifth is not served while four are open...
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); !isTimeout(err) {
		t.Errorf("a fifth connection with four held open: got %q, %v; want no answer yet", line, err)
	}
	// ...and is once one of them closes.
	held[0].Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if line, err := r.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Errorf("the fifth connection after one closed: got %q, %v; want 200", line, err)
	}
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.sock")
	// A stale socket, as a killed vigil leaves it.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	s, err := Serve(context.Background(), "unix:"+path, source(up("web")), Options{})
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("%s: mode %v; want a socket of mode 0660", path, st.Mode())
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := client.Get("http://vigil/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /readyz over %s: got %d; want 200", path, resp.StatusCode)
	}
	// A socket in use is not taken over.
	if s2, err := Serve(context.Background(), "unix:"+path, source(), Options{}); err == nil {
		s2.Close()
		t.Errorf("a second Serve on %s in use: got no error", path)
	}
	s.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after Close: %v; want it removed", path, err)
	}
	// A file that is not a socket is not replaced.
	os.WriteFile(path, []byte("x"), 0o644)
	if s3, err := Serve(context.Background(), "unix:"+path, source(), Options{}); err == nil {
		s3.Close()
		t.Errorf("Serve on a regular file: got no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "x" {
		t.Errorf("the regular file was replaced")
	}
}

func TestBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "8080", "unix:", "localhost", "256.0.0.1:80:1"} {
		if s, err := Serve(context.Background(), addr, source(), Options{}); err == nil {
			s.Close()
			t.Errorf("Serve(%q): got no error", addr)
		}
	}
}

// Cancelling the context stops the server.
func TestServeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Serve(ctx, "127.0.0.1:0", source(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the server still runs 30 s after its context ended")
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Errorf("a connection after the context ended: accepted")
	}
	_ = testenv.Root
}

func closeIdle() { http.DefaultClient.CloseIdleConnections() }

// TestCrowdedNoKeepAlive: with three quarters of the connection slots
// taken, answers say "Connection: close", so no client keeps a slot idle
// while others wait in the backlog.
func TestCrowdedNoKeepAlive(t *testing.T) {
	s, _ := serve(t, source(), Options{MaxConns: 4})
	addr := s.Addr().String()
	ask := func(c net.Conn) string {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		n, _ := c.Read(b)
		return string(b[:n])
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := dial()
	if got := ask(first); strings.Contains(got, "Connection: close") {
		t.Fatalf("one connection of four: %q; want it kept alive", got)
	}
	dial()
	dial()
	// The two idle ones above are accepted once they are tracked.
	deadline := time.Now().Add(10 * time.Second)
	for !s.crowded() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := ask(first); !strings.Contains(got, "Connection: close") {
		t.Errorf("three connections of four: %q; want Connection: close", got)
	}
}
