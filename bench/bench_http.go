package main

// The HTTP endpoint's cost: request latency under 100 concurrent clients,
// and whether supervision (sv restart) slows down while it is loaded.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func init() { register("http", benchHTTP) }

func benchHTTP(e *Env) ([]Row, error) {
	root := filepath.Join(e.Tmp, "http")
	files := map[string]string{}
	for i := 0; i < 20; i++ {
		files[fmt.Sprintf("s%d/run", i)] = "#!/bin/sh\nexec sleep 3600\n"
	}
	if err := policyWrite(root, files); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(e.Vigil)
	cmd.Env = append(os.Environ(), "SVDIR="+filepath.Join(root, "sv"), "VIGIL_RUNDIR="+filepath.Join(root, "run"),
		"VIGIL_INIT_DIR=/nonexistent", "VIGIL_SHUTDOWN_DIR=/nonexistent", "VIGIL_HTTP="+addr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer policyStop(cmd)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	get := func() (time.Duration, error) {
		t0 := time.Now()
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// 503 is an answer too: a service being restarted is not ready.
		if resp.StatusCode != 200 && resp.StatusCode != 503 {
			return 0, fmt.Errorf("/readyz: %s", resp.Status)
		}
		return time.Since(t0), nil
	}
	if err := policyWait("/readyz 200", 30*time.Second, func() bool { _, err := get(); return err == nil }); err != nil {
		return nil, err
	}
	// Each service is restarted once: a second restart within a second
	// of the last start would wait out runit's pace.
	restart := func(n int) (time.Duration, error) {
		c := exec.Command(e.Vigil, "sv", "-w", "30", "restart", fmt.Sprintf("s%d", n))
		c.Env = append(os.Environ(), "SVDIR="+filepath.Join(root, "sv"), "VIGIL_RUNDIR="+filepath.Join(root, "run"))
		t0 := time.Now()
		if out, err := c.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("sv restart: %v: %s", err, out)
		}
		return time.Since(t0), nil
	}
	measureRestarts := func(first int) (time.Duration, error) {
		var ds []time.Duration
		for i := first; i < first+10; i++ {
			d, err := restart(i)
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		return engineMedian(ds), nil
	}
	idle, err := measureRestarts(0)
	if err != nil {
		return nil, err
	}
	// 100 clients asking /readyz ten times a second each: far more than
	// any set of probes and scrapers, and yet a load that leaves the two
	// cores of a small machine to vigil and sv rather than to the clients.
	var stop atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				d, err := get()
				if err != nil {
					if failures.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	loaded, rerr := measureRestarts(10)
	stop.Store(true)
	wg.Wait()
	if rerr != nil {
		return nil, rerr
	}
	slices.Sort(lat)
	med, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	fmt.Fprintf(e.Log, "http: first failure: %v\n", firstErr.Load())
	fmt.Fprintf(e.Log, "http: %d requests by 100 clients, %d failed; median %v, p99 %v; sv restart %v idle, %v loaded\n",
		len(lat), failures.Load(), med, p99, idle, loaded)
	return []Row{
		{Metric: "GET /readyz, 100 clients at 10/s each, median", Unit: "ms", Vigil: engineMS(med)},
		{Metric: "GET /readyz, 100 clients at 10/s each, p99", Unit: "ms", Vigil: engineMS(p99)},
		{Metric: "sv restart with the endpoint loaded (peer: idle)", Unit: "ms", Vigil: engineMS(loaded), Peer: engineMS(idle), Name: "vigil, endpoint idle", Goal: "≈ 1×"},
	}, nil
}
