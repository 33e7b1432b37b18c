package integration

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestInitScripts: start-up scripts run in order before services and the
// main command; a failing one stops the container with its code unless
// VIGIL_INIT_FAIL=continue; TERM during start-up stops at once; shutdown
// scripts run at the end; a service can choose the exit code through
// $VIGIL_RUNDIR/exitcode and $VIGIL_PID (E9). Services inherit the
// environment and run in their own directory.
func TestInitScripts(t *testing.T) {
	cases := []struct {
		name     string
		init     map[string]string // start-up scripts
		shutdown map[string]string
		service  string // run script of service "svc"
		main     string
		env      []string
		term     string // file to await, then TERM vigil
		want     int
		files    map[string]string // expected contents ("" = must not exist)
	}{
		{
			name: "in order, before services and main",
			init: map[string]string{
				"20-second": "echo second >> $T/order",
				"10-first":  "echo first >> $T/order",
				".hidden":   "echo hidden >> $T/order",
			},
			// Written whole, then renamed: main waits for the name.
			service: `[ -e $T/order ] && echo svc > $T/svc-saw.new && mv $T/svc-saw.new $T/svc-saw; exec sleep 1000`,
			main:    `echo main >> $T/order; while [ ! -e $T/svc-saw ]; do sleep 0.01; done`,
			want:    0,
			files:   map[string]string{"order": "first\nsecond\nmain\n", "svc-saw": "svc\n"},
		},
		{
			name:    "failing script stops the container",
			init:    map[string]string{"10-ok": "true", "20-fail": "exit 5", "30-never": "touch $T/never"},
			service: "touch $T/svc; exec sleep 1000",
			main:    "touch $T/main",
			want:    5,
			files:   map[string]string{"never": "", "svc": "", "main": ""},
		},
		{
			name:  "VIGIL_INIT_FAIL=continue",
			init:  map[string]string{"10-fail": "exit 5", "20-next": "echo next > $T/next"},
			main:  "exit 6",
			env:   []string{"VIGIL_INIT_FAIL=continue"},
			want:  6,
			files: map[string]string{"next": "next\n"},
		},
		{
			name:    "TERM during a start-up script, no main command",
			init:    map[string]string{"10-slow": "touch $T/slow; exec sleep 1000"},
			service: "touch $T/svc; exec sleep 1000",
			term:    "slow",
			want:    0,
			files:   map[string]string{"svc": ""},
		},
		{
			name:  "TERM during a start-up script, with a main command",
			init:  map[string]string{"10-slow": "touch $T/slow; exec sleep 1000"},
			main:  "touch $T/main",
			term:  "slow",
			want:  128 + 15,
			files: map[string]string{"main": ""},
		},
		{
			name:     "shutdown scripts run last",
			shutdown: map[string]string{"10-bye": `[ -e $T/svc-stopped ] && echo bye > $T/bye`},
			service:  `trap 'touch $T/svc-stopped; exit 0' TERM; touch $T/svc; while :; do sleep 0.01; done`,
			main:     "while [ ! -e $T/svc ]; do sleep 0.01; done; exit 3",
			want:     3,
			files:    map[string]string{"bye": "bye\n"},
		},
		{
			name:    "a service chooses the exit code",
			service: `echo 42 > $VIGIL_RUNDIR/exitcode && kill -TERM $VIGIL_PID; exec sleep 1000`,
			want:    42,
		},
		{
			name:    "environment and working directory",
			env:     []string{"FROM_IMAGE=yes"},
			service: `echo "$FROM_IMAGE $(pwd)" > $T/env.tmp; mv $T/env.tmp $T/env; exec sleep 1000`,
			main:    `while [ ! -e $T/env ]; do sleep 0.01; done; [ "$FROM_IMAGE" = yes ]`,
			want:    0,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, body := range c.init {
				initScript(t, filepath.Join(dir, "init.d", name), body)
			}
			for name, body := range c.shutdown {
				initScript(t, filepath.Join(dir, "shutdown.d", name), body)
			}
			// A file without the execute bit is skipped, not run.
			os.MkdirAll(filepath.Join(dir, "init.d"), 0o755)
			os.WriteFile(filepath.Join(dir, "init.d", "15-not-executable"), []byte("#!/bin/sh\ntouch $T/noexec\n"), 0o644)
			svdir := filepath.Join(dir, "sv")
			if c.service != "" {
				initServices(t, svdir, map[string]string{"svc": c.service})
			}
			env := append([]string{
				"VIGIL_INIT_DIR=" + filepath.Join(dir, "init.d"),
				"VIGIL_SHUTDOWN_DIR=" + filepath.Join(dir, "shutdown.d"),
				"SVDIR=" + svdir,
				"T=" + dir,
				"VIGIL_RUNDIR=" + filepath.Join(dir, "run"),
			}, c.env...)
			args := []string{"-g", "10"}
			if c.main != "" {
				args = append(args, "--", "/bin/sh", "-c", c.main)
			}
			r := startInitNS(t, initOpts{args: args, env: env, scratch: dir})
			if c.term != "" {
				r.waitFile(c.term, 10*time.Second)
				r.signal(syscall.SIGTERM)
			}
			code, _ := r.wait(20 * time.Second)
			if code != c.want {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, c.want, r.stderr())
			}
			for name, want := range c.files {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if want == "" {
					if err == nil {
						t.Errorf("%s exists; want it never created", name)
					}
					continue
				}
				if string(b) != want {
					t.Errorf("%s = %q; want %q", name, b, want)
				}
			}
			if c.name == "environment and working directory" {
				b, _ := os.ReadFile(filepath.Join(dir, "env"))
				if want := "yes " + filepath.Join(svdir, "svc") + "\n"; string(b) != want {
					t.Errorf("service saw %q; want %q", b, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "noexec")); err == nil {
				t.Errorf("a start-up script without the execute bit ran")
			}
		})
	}
}
