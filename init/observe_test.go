package pid1

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
)

func TestHTTPOption(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{nil, "", ""},
		{nil, ":9100", ":9100"},
		{[]string{"-H", "unix:/run/vigil/http.sock"}, ":9100", "unix:/run/vigil/http.sock"},
		{[]string{"-H127.0.0.1:9100", "--", "app"}, "", "127.0.0.1:9100"},
	} {
		o, err := parseOptions(tc.args, func(k string) string {
			if k == "VIGIL_HTTP" {
				return tc.env
			}
			return ""
		})
		if err != nil || o.HTTP != tc.want {
			t.Errorf("parseOptions(%q) with VIGIL_HTTP=%q: HTTP %q, %v; want %q", tc.args, tc.env, o.HTTP, err, tc.want)
		}
	}
	if _, err := parseOptions([]string{"-H"}, func(string) string { return "" }); err == nil {
		t.Errorf("-H without an address: got no error")
	}
}

// The endpoint as init starts it: on a Unix socket, over a real engine.
func TestStartEndpoint(t *testing.T) {
	e, err := services.New(services.Config{Reaper: reaper.New(), Publish: true, Messages: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	// A service that is down by its down file: nothing runs, and the
	// engine has something to publish.
	svc := filepath.Join(t.TempDir(), "s")
	os.MkdirAll(svc, 0o755)
	os.WriteFile(filepath.Join(svc, "run"), []byte("#!/bin/sh\nexec sleep 100\n"), 0o755)
	os.WriteFile(filepath.Join(svc, "down"), nil, 0o644)
	if err := e.Add(svc, "s"); err != nil {
		t.Fatal(err)
	}
	go e.Run()
	t.Cleanup(func() { e.Shutdown(time.Time{}); <-e.Done() })
	testenv.WaitFor(t, 30*time.Second, "the first snapshot", func() bool { return e.Snapshot() != nil })
	sock := filepath.Join(t.TempDir(), "http.sock")
	p := &initProc{opts: Options{HTTP: "unix:" + sock, Verbosity: 1}, rp: reaper.New(), stderr: os.Stderr}
	if !p.publishing() {
		t.Errorf("publishing() with an address: false")
	}
	if err := p.startEndpoint(e); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/v1/services": 200} {
		resp, err := client.Get("http://vigil" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: got %d; want %d", path, resp.StatusCode, want)
		}
	}
	off := &initProc{opts: Options{}, rp: reaper.New(), stderr: os.Stderr}
	if off.publishing() || off.startEndpoint(e) != nil {
		t.Errorf("without an address: publishing %v; want false and no endpoint", off.publishing())
	}
	bad := &initProc{opts: Options{HTTP: "nonsense"}, rp: reaper.New(), stderr: os.Stderr}
	if err := bad.startEndpoint(e); err == nil {
		t.Errorf("VIGIL_HTTP=nonsense: got no error")
	}
}

// On this machine's cgroup, nothing was OOM-killed since the attributor
// began: a KILL is a user's.
func TestOOMKilledHook(t *testing.T) {
	f := oomKilled()
	if f == nil {
		t.Skip("no readable memory cgroup here")
	}
	if f() {
		t.Errorf("oomKilled()() with no kill since it began: true")
	}
	p := &initProc{opts: Options{Verbosity: 3}, stderr: os.Stderr}
	p.watchOOM()()
}
