package services

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzPolicyFiles: whatever a service directory's opt-in files hold,
// reading them never panics, every complaint names its file, and what is
// accepted is within bounds.
func FuzzPolicyFiles(f *testing.F) {
	for _, seed := range [][2]string{
		{"restart-limit", "5 60\n"}, {"restart-limit", "3"}, {"restart-backoff", "0.5 30"},
		{"down-signal", "SIGQUIT\n"}, {"down-signal", "3"}, {"timeout-kill", "2000"},
		{"notification-fd", "3\n"}, {"check-interval", "10"}, {"check-tcp", "127.0.0.1:80"},
		{"check-http", "http://localhost:8080/health"}, {"check-failures", "0"}, {"restart-limit", "-1 x"},
		// Where numbers overflow or are no numbers.
		{"restart-limit", "3 1e10"}, {"restart-backoff", "0.5 inf"}, {"down-signal", "65"},
		{"timeout-kill", "-1"}, {"check-interval", "NaN"}, {"check-timeout", "2.5"}, {"check-http", "https://example.com/"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, content string) {
		if !policyFiles[name] || name == "dependencies.d" || name == "check" {
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Skip(err)
		}
		p, errs := readPolicy(dir)
		for _, err := range errs {
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
		if p.notifyFD != 0 && p.notifyFD < 3 || p.limit < -1 || p.window < 0 || p.backoffMin > p.backoffMax ||
			p.timeoutKill < 0 || p.checkInterval < 0 || p.checkFailures < 1 || p.downSignal < 0 || p.downSignal > 64 {
			t.Errorf("%s = %q accepted as %+v", name, content, p)
		}
		// A refused file leaves the service as if it were not there.
		if len(errs) > 0 && p.extended() {
			t.Errorf("%s = %q refused (%v), yet the policy is %+v", name, content, errs, p)
		}
		if (p.backoffMin == 0) != (p.backoffMax == 0) || (p.limit >= 0 && p.window <= 0) ||
			p.backoffMin < 0 || p.checkTimeout < 0 || (p.checkInterval > 0 && p.checkTimeout <= 0) {
			t.Errorf("%s = %q accepted as %+v", name, content, p)
		}
	})
}

// FuzzCycles: for any dependency graph, every cycle found is a real
// cycle, named from its smallest member, and a graph the search finds no
// cycle in has a topological order.
func FuzzCycles(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 2, 0})
	f.Add([]byte{0, 1, 1, 2, 3, 3})
	f.Add([]byte{0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, edges []byte) {
		if len(edges) > 64 {
			return
		}
		e := &Engine{byName: map[string]*service{}}
		name := func(b byte) string { return string(rune('a' + b%8)) }
		for i := 0; i+1 < len(edges); i += 2 {
			from, to := name(edges[i]), name(edges[i+1])
			s := e.byName[from]
			if s == nil {
				s = &service{name: from}
				e.byName[from] = s
			}
			if !slices.Contains(s.pol.deps, to) {
				s.pol.deps = append(s.pol.deps, to)
			}
			if e.byName[to] == nil {
				e.byName[to] = &service{name: to}
			}
		}
		cycles := e.cycles()
		for _, c := range cycles {
			if c[0] != slices.Min(c) {
				t.Errorf("cycle %v does not start from its smallest member", c)
			}
			for i, n := range c {
				next := c[(i+1)%len(c)]
				if !slices.Contains(e.byName[n].pol.deps, next) {
					t.Errorf("cycle %v: %s does not depend on %s", c, n, next)
				}
			}
		}
		if len(cycles) == 0 && !acyclic(e) {
			t.Errorf("no cycle found in a cyclic graph %v", edges)
		}
	})
}

// acyclic is Kahn's algorithm.
func acyclic(e *Engine) bool {
	indeg := map[string]int{}
	for n, s := range e.byName {
		indeg[n] += 0
		for _, d := range s.pol.deps {
			indeg[d]++
		}
	}
	var queue []string
	for n, k := range indeg {
		if k == 0 {
			queue = append(queue, n)
		}
	}
	seen := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		seen++
		for _, d := range e.byName[n].pol.deps {
			if indeg[d]--; indeg[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	return seen == len(indeg)
}
