package services_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

// watched runs an engine over a directory of services given as file
// trees, publishing snapshots, and returns it with the directory.
func watched(t *testing.T, cfg services.Config, tree map[string]string) (*services.Engine, string) {
	t.Helper()
	root := t.TempDir()
	svdir := filepath.Join(root, "service")
	os.MkdirAll(svdir, 0o755)
	writeService(t, svdir, tree)
	cfg.Publish = true
	e := engine(t, cfg)
	if err := e.Watch(svdir); err != nil {
		t.Fatal(err)
	}
	go e.Run()
	return e, svdir
}

func state(e *services.Engine, name string) (services.ServiceState, bool) {
	snap := e.Snapshot()
	if snap == nil {
		return services.ServiceState{}, false
	}
	for _, s := range snap.Services {
		if s.Name == name {
			return s, true
		}
	}
	return services.ServiceState{}, false
}

func waitState(t *testing.T, e *services.Engine, name, what string, cond func(services.ServiceState) bool) services.ServiceState {
	t.Helper()
	var st services.ServiceState
	testenv.WaitFor(t, 30*time.Second, name+" "+what, func() bool {
		var ok bool
		st, ok = state(e, name)
		return ok && cond(st)
	})
	return st
}

func svdirOf(e *services.Engine) string { return filepath.Dir(e.Snapshot().Services[0].Dir) }

func running(st services.ServiceState) bool { return st.State == "run" && st.Pid != 0 }
func ready(st services.ServiceState) bool   { return running(st) && st.Ready }

// messages collects the engine's lines.
type messages struct {
	mu sync.Mutex
	b  strings.Builder
}

func (m *messages) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.Write(p)
}

func (m *messages) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.String()
}

// TestReadinessSources: each source makes a run ready only when it says
// so, supervise/vigil records it, and a restart clears it until the new
// process says it again.
func TestReadinessSources(t *testing.T) {
	const gate = `while [ ! -e ../go.$$ ] && [ ! -e ../go ]; do sleep 0.01; done; `
	for _, tc := range []struct {
		name   string
		files  map[string]string
		source string // supervise/vigil's notify line
		signal func(t *testing.T, svdir string)
	}{
		{
			name:   "notification-fd",
			files:  map[string]string{"run": "#!/bin/sh\n" + gate + "echo >&5; exec sleep 1000\n", "notification-fd": "5\n"},
			source: "fd",
		},
		{
			name:   "notification-socket",
			files:  map[string]string{"run": "#!/bin/sh\necho \"$NOTIFY_SOCKET\" >../socket.$$\nexec sleep 1000\n", "notification-socket": ""},
			source: "socket",
			signal: func(t *testing.T, svdir string) {
				var path string
				testenv.WaitFor(t, 30*time.Second, "NOTIFY_SOCKET in run's environment", func() bool {
					m, _ := filepath.Glob(filepath.Join(svdir, "socket.*"))
					if len(m) == 0 {
						return false
					}
					b, _ := os.ReadFile(m[len(m)-1])
					path = strings.TrimSpace(string(b))
					return path != ""
				})
				if want := filepath.Join(svdir, "s", "supervise", "notify"); path != want {
					t.Errorf("NOTIFY_SOCKET=%q; want %q", path, want)
				}
				c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, err := c.Write([]byte("STATUS=warming up\nREADY=1\n")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "check",
			files:  map[string]string{"run": "#!/bin/sh\nexec sleep 1000\n", "check": "#!/bin/sh\nexec test -e ../go\n"},
			source: "check",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range tc.files {
				files["s/"+k] = v
			}
			e, svdir := watched(t, services.Config{}, files)
			sup := filepath.Join(svdir, "s", "supervise")
			first := waitState(t, e, "s", "running", running)
			x, err := supervise.ReadExtended(sup)
			if err != nil || x.Notify != tc.source || !x.Ready.IsZero() {
				t.Fatalf("supervise/vigil before readiness: %+v, %v; want notify %s, not ready", x, err, tc.source)
			}
			if st, _ := state(e, "s"); st.Ready {
				t.Fatalf("ready before the source said so: %+v", st)
			}
			if tc.signal != nil {
				tc.signal(t, svdir)
			} else {
				os.WriteFile(filepath.Join(svdir, "go"), nil, 0o644)
			}
			waitState(t, e, "s", "ready", ready)
			testenv.WaitFor(t, 30*time.Second, "ready in supervise/vigil", func() bool {
				x, err := supervise.ReadExtended(sup)
				return err == nil && !x.Ready.IsZero() && x.Pid == first.Pid
			})

			// A restart is not ready until the new process says so.
			os.Remove(filepath.Join(svdir, "go"))
			if err := supervise.Send(sup, []byte("t")); err != nil {
				t.Fatal(err)
			}
			second := waitState(t, e, "s", "restarted", func(st services.ServiceState) bool { return running(st) && st.Pid != first.Pid })
			if second.Ready && tc.signal == nil {
				t.Fatalf("a restarted run is ready at once: %+v", second)
			}
			if tc.signal != nil {
				tc.signal(t, svdir)
			} else {
				os.WriteFile(filepath.Join(svdir, "go"), nil, 0o644)
			}
			waitState(t, e, "s", "ready again", ready)
		})
	}
}

// TestReadyWithoutSource: with no readiness file a run is ready as soon as
// it runs, and its supervise/ holds runit's files only.
func TestReadyWithoutSource(t *testing.T) {
	e, svdir := watched(t, services.Config{}, map[string]string{"s/run": "#!/bin/sh\nexec sleep 1000\n"})
	waitState(t, e, "s", "ready", ready)
	if _, err := os.Stat(filepath.Join(svdir, "s", "supervise", supervise.ExtendedName)); !os.IsNotExist(err) {
		t.Errorf("supervise/%s of a plain runit service: %v; want none", supervise.ExtendedName, err)
	}
}

// TestNotificationFDClosed: a run that closes its notification-fd without
// a newline is up but never ready, and the engine says so once.
func TestNotificationFDClosed(t *testing.T) {
	var msgs messages
	e, _ := watched(t, services.Config{Messages: &msgs}, map[string]string{
		"s/run":             "#!/bin/sh\nexec 4>&-\nexec sleep 1000\n",
		"s/notification-fd": "4",
	})
	waitState(t, e, "s", "running", running)
	testenv.WaitFor(t, 30*time.Second, "the warning", func() bool {
		return strings.Contains(msgs.String(), "notification-fd 4 closed before a newline")
	})
	if st, _ := state(e, "s"); st.Ready {
		t.Errorf("ready after end of file: %+v", st)
	}
}

// recorder is a run script that notes its start and, on TERM, its stop in
// the shared file ../order, then exits.
func recorder(name string) string {
	return "#!/bin/sh\ntrap 'echo stop " + name + " >>../order; exit 0' TERM\necho start " + name + " >>../order\nwhile :; do sleep 0.05; done\n"
}

func orderOf(svdir string) []string {
	b, _ := os.ReadFile(filepath.Join(svdir, "order"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// before reports whether a comes before b in the recorded order.
func before(order []string, a, b string) bool {
	i, j := slices.Index(order, a), slices.Index(order, b)
	return i >= 0 && j >= 0 && i < j
}

// TestDependencies: dependents start after what they need is ready and
// stop before it, in chains and diamonds.
func TestDependencies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		deps  map[string][]string // service to what it needs
		after [][2]string         // start of [1] after start of [0]
	}{
		{"chain", map[string][]string{"db": nil, "app": {"db"}, "web": {"app"}}, [][2]string{{"db", "app"}, {"app", "web"}}},
		{"diamond", map[string][]string{"base": nil, "left": {"base"}, "right": {"base"}, "top": {"left", "right"}},
			[][2]string{{"base", "left"}, {"base", "right"}, {"left", "top"}, {"right", "top"}}},
		{"names before their dependencies", map[string][]string{"z": nil, "a": {"z"}}, [][2]string{{"z", "a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := map[string]string{}
			for name, deps := range tc.deps {
				tree[name+"/run"] = recorder(name)
				// Readiness through a check, so "ready" is later than "runs".
				tree[name+"/check"] = "#!/bin/sh\ngrep -q 'start " + name + "' ../order\n"
				for _, d := range deps {
					tree[name+"/dependencies.d/"+d] = ""
				}
			}
			e, svdir := watched(t, services.Config{}, tree)
			for name := range tc.deps {
				waitState(t, e, name, "ready", ready)
			}
			order := orderOf(svdir)
			for _, p := range tc.after {
				if !before(order, "start "+p[0], "start "+p[1]) {
					t.Errorf("order %q: want %s started before %s", order, p[0], p[1])
				}
			}
			e.Shutdown(time.Time{})
			select {
			case <-e.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("shutdown did not finish")
			}
			stops := strings.Join(orderOf(svdir), ", ")
			for _, p := range tc.after {
				if !before(orderOf(svdir), "stop "+p[1], "stop "+p[0]) {
					t.Errorf("stops %q: want %s stopped before %s", stops, p[1], p[0])
				}
			}
		})
	}
}

// TestDependencyCommands: 'u' to a dependent brings its dependencies up
// first; 'd' to a dependency first brings down what depends on it; a
// restart of a dependency leaves its dependents running.
func TestDependencyCommands(t *testing.T) {
	e, svdir := watched(t, services.Config{}, map[string]string{
		"db/run": recorder("db"), "db/down": "", "db/check": "#!/bin/sh\ngrep -q 'start db' ../order\n",
		"app/run": recorder("app"), "app/down": "", "app/dependencies.d/db": "",
	})
	send := func(name, c string) {
		t.Helper()
		if err := supervise.Send(filepath.Join(svdir, name, "supervise"), []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, e, "app", "supervised", func(st services.ServiceState) bool { return st.State == "down" })
	send("app", "u")
	waitState(t, e, "app", "up", ready)
	if st, _ := state(e, "db"); !ready(st) || st.Want != "up" {
		t.Fatalf("db after 'u' to app: %+v; want it up and ready", st)
	}
	app := waitState(t, e, "app", "up", ready)
	send("db", "t")
	waitState(t, e, "db", "restarted", func(st services.ServiceState) bool { return ready(st) && st.Restarts == 0 && st.Since.After(app.Since) })
	if st, _ := state(e, "app"); st.Pid != app.Pid {
		t.Errorf("app after a restart of db: pid %d; want it left running as %d", st.Pid, app.Pid)
	}
	send("db", "d")
	waitState(t, e, "db", "down", func(st services.ServiceState) bool { return st.State == "down" })
	if st, _ := state(e, "app"); st.State != "down" || st.Want != "down" {
		t.Errorf("app after 'd' to db: %+v; want it brought down", st)
	}
	if order := orderOf(svdir); !before(order[len(order)-2:], "stop app", "stop db") {
		t.Errorf("order %q: want app stopped before db", order)
	}
}

// TestDependencyCycle: the services of a cycle do not start and one line
// names them all; the others start.
func TestDependencyCycle(t *testing.T) {
	var msgs messages
	e, _ := watched(t, services.Config{Messages: &msgs}, map[string]string{
		"a/run": recorder("a"), "a/dependencies.d/b": "",
		"b/run": recorder("b"), "b/dependencies.d/c": "",
		"c/run": recorder("c"), "c/dependencies.d/a": "",
		"free/run": recorder("free"),
		"lost/run": recorder("lost"), "lost/dependencies.d/nowhere": "",
	})
	waitState(t, e, "free", "ready", ready)
	testenv.WaitFor(t, 30*time.Second, "the cycle named", func() bool {
		return strings.Contains(msgs.String(), "dependency cycle: a -> b -> c -> a")
	})
	testenv.WaitFor(t, 30*time.Second, "the missing dependency named", func() bool {
		return strings.Contains(msgs.String(), "lost: warning: waiting for nowhere")
	})
	for _, name := range []string{"a", "b", "c", "lost"} {
		waitState(t, e, name, "down, waiting", func(st services.ServiceState) bool { return st.State == "down" && len(st.Waiting) > 0 })
	}
	if order := orderOf(svdirOf(e)); slices.ContainsFunc(order, func(l string) bool { return l != "start free" && l != "" }) {
		t.Errorf("started: %q; want only free", order)
	}
	if n := strings.Count(msgs.String(), "dependency cycle"); n != 1 {
		t.Errorf("the cycle said %d times; want once:\n%s", n, msgs.String())
	}
}

// TestNotificationFDPartial: bytes without a newline on notification-fd
// neither make the service ready nor stall the loop.
func TestNotificationFDPartial(t *testing.T) {
	e, svdir := watched(t, services.Config{}, map[string]string{
		"s/run":             "#!/bin/sh\nprintf x >&3\nwhile [ ! -e ../go ]; do sleep 0.01; done\necho >&3\nexec sleep 1000\n",
		"s/notification-fd": "3",
	})
	waitState(t, e, "s", "running", running)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := e.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("the loop does not answer after a partial write: %v", err)
		}
	}
	if st, _ := state(e, "s"); st.Ready {
		t.Fatalf("ready without a newline: %+v", st)
	}
	os.WriteFile(filepath.Join(svdir, "go"), nil, 0o644)
	waitState(t, e, "s", "ready", ready)
}

// TestDownDependencyUnderOnce: 'd' to a dependency stops a dependent
// that runs by 'o' (wanted down) first, then the dependency.
func TestDownDependencyUnderOnce(t *testing.T) {
	e, svdir := watched(t, services.Config{}, map[string]string{
		"db/run": recorder("db"), "db/down": "",
		"web/run": recorder("web"), "web/down": "", "web/dependencies.d/db": "",
	})
	waitState(t, e, "web", "supervised", func(st services.ServiceState) bool { return st.State == "down" })
	send(t, svdir, "db", "u")
	waitState(t, e, "db", "ready", ready)
	send(t, svdir, "web", "o")
	waitState(t, e, "web", "running once", ready)
	send(t, svdir, "db", "d")
	waitState(t, e, "db", "down", func(st services.ServiceState) bool { return st.State == "down" })
	if st, _ := state(e, "web"); st.State != "down" {
		t.Errorf("web after 'd' to db: %+v; want it stopped first", st)
	}
}
