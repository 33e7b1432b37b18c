package services_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestLiveness: each kind of periodic check marks a service unhealthy
// after check-failures failures in a row and restarts it; a pass makes it
// healthy again.
func TestLiveness(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer web.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name  string
		files map[string]string
		sick  func()
		heal  func()
	}{
		{"check script", map[string]string{"check": "#!/bin/sh\nexec test ! -e ../sick\n"}, nil, nil},
		{"check-http", map[string]string{"check-http": web.URL + "/health"}, func() { healthy.Store(false) }, func() { healthy.Store(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := map[string]string{"s/run": "#!/bin/sh\nexec sleep 1000\n", "s/check-interval": "0.05", "s/check-failures": "2"}
			for k, v := range tc.files {
				tree["s/"+k] = v
			}
			var msgs messages
			e, svdir := watched(t, services.Config{Messages: &msgs, Verbosity: 1}, tree)
			first := waitState(t, e, "s", "ready", ready)
			if tc.sick != nil {
				tc.sick()
			} else {
				os.WriteFile(filepath.Join(svdir, "sick"), nil, 0o644)
			}
			waitState(t, e, "s", "unhealthy", func(st services.ServiceState) bool { return !st.Healthy })
			waitState(t, e, "s", "restarted", func(st services.ServiceState) bool { return running(st) && st.Pid != first.Pid })
			if !strings.Contains(msgs.String(), "s: unhealthy: 2 checks failed in a row") {
				t.Errorf("messages:\n%s\nwant the unhealthy line", msgs.String())
			}
			testenv.WaitFor(t, 30*time.Second, "unhealthy in supervise/vigil", func() bool {
				x, err := supervise.ReadExtended(filepath.Join(svdir, "s", "supervise"))
				return err == nil && x.Unhealthy
			})
			if tc.heal != nil {
				tc.heal()
			} else {
				os.Remove(filepath.Join(svdir, "sick"))
			}
			waitState(t, e, "s", "healthy again", func(st services.ServiceState) bool { return ready(st) && st.Healthy })
		})
	}
	t.Run("check-tcp", func(t *testing.T) {
		e, _ := watched(t, services.Config{}, map[string]string{
			"s/run": "#!/bin/sh\nexec sleep 1000\n", "s/check-interval": "0.05", "s/check-failures": "1",
			"s/check-tcp": ln.Addr().String(),
		})
		first := waitState(t, e, "s", "ready", ready)
		ln.Close()
		waitState(t, e, "s", "restarted after the port closed", func(st services.ServiceState) bool { return running(st) && st.Pid != first.Pid })
	})
}
