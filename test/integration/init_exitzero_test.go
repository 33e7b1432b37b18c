package integration

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInitExitZero: with -e CODE (tini's -e) or VIGIL_EXIT_ZERO, a main
// command ending with CODE makes vigil exit 0; a sidecar stopped by the
// TERM of `docker stop` (143) counts as a success. Other codes are kept.
func TestInitExitZero(t *testing.T) {
	requireInitNS(t)
	// The main command dies of the TERM vigil forwards to it on shutdown.
	waitTerm := []string{"--", "/bin/sh", "-c", "trap - TERM; touch $T/up; exec sleep 1000"}
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want int
	}{
		{"without -e, TERM gives 143", waitTerm, nil, 143},
		{"-e 143", append([]string{"-e", "143"}, waitTerm...), nil, 0},
		{"-e repeated", append([]string{"-e", "1", "-e143"}, waitTerm...), nil, 0},
		{"VIGIL_EXIT_ZERO", waitTerm, []string{"VIGIL_EXIT_ZERO=130 143"}, 0},
		{"VIGIL_EXIT_ZERO with commas", waitTerm, []string{"VIGIL_EXIT_ZERO=130,143"}, 0},
		{"-e replaces VIGIL_EXIT_ZERO", append([]string{"-e", "3"}, waitTerm...), []string{"VIGIL_EXIT_ZERO=143"}, 143},
		{"an unlisted code is kept", append([]string{"-e", "1"}, waitTerm...), nil, 143},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := startInitNS(t, initOpts{args: c.args, env: c.env})
			r.waitFile("up", 10*time.Second)
			r.signal(syscall.SIGTERM)
			if code, _ := r.wait(20 * time.Second); code != c.want {
				t.Errorf("vigil %s, TERM: exit %d; want %d\nstderr:\n%s", strings.Join(c.args, " "), code, c.want, r.stderr())
			}
		})
	}

	vigil := vigilInit(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want int
	}{
		{"exit 3 with -e 3", []string{"-e", "3", "--", "/bin/sh", "-c", "exit 3"}, nil, 0},
		{"exit 4 with -e 3", []string{"-e", "3", "--", "/bin/sh", "-c", "exit 4"}, nil, 4},
		{"killed by KILL with -e 137", []string{"-e", "137", "--", "/bin/sh", "-c", "kill -KILL $$"}, nil, 0},
		// A command that could not be started is not the command's code.
		{"not found with -e 127", []string{"-e", "127", "--", "/no/such/command"}, nil, 127},
		// Nor is a code a service asked for.
		{"a service's exit code with -e 42", []string{"-e", "42", "--", "/bin/sh", "-c", "echo 42 > $VIGIL_RUNDIR/exitcode; exit 0"}, nil, 42},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, stderr, err := runInitOnce(vigil, dir, dir, c.env, c.args...)
			if err != nil || got != c.want {
				t.Errorf("vigil %s = %d (%v); want %d\nstderr:\n%s", strings.Join(c.args, " "), got, err, c.want, stderr)
			}
		})
	}
}

// TestInitExitZeroRefused: a CODE that is not an exit status is refused
// before anything runs, with usage's exit code 100 and a message naming
// the option and the value.
func TestInitExitZeroRefused(t *testing.T) {
	vigil := vigilInit(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-e", "x", "true"}, "", `vigil: -e: want an exit code from 0 to 255, got "x"`},
		{[]string{"-e", "300", "true"}, "", `vigil: -e: want an exit code from 0 to 255, got "300"`},
		{[]string{"-e", "-1", "true"}, "", `vigil: -e: want an exit code from 0 to 255, got "-1"`},
		{[]string{"-e143", "-e", "", "true"}, "", `vigil: -e: want an exit code from 0 to 255, got ""`},
		{[]string{"-e"}, "", `vigil: option -e needs a value`},
		{[]string{"true"}, "VIGIL_EXIT_ZERO=143 x", `vigil: VIGIL_EXIT_ZERO: want an exit code from 0 to 255, got "x"`},
		{[]string{"true"}, "VIGIL_EXIT_ZERO=256", `vigil: VIGIL_EXIT_ZERO: want an exit code from 0 to 255, got "256"`},
	} {
		cmd := exec.Command(vigil, c.args...)
		cmd.Env = initBaseEnv(dir)
		if c.env != "" {
			cmd.Env = append(cmd.Env, c.env)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err == nil {
			code = 0
		}
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != 100 || first != c.want {
			t.Errorf("%s vigil %q: exit %d, first line %q; want 100, %q", c.env, c.args, code, first, c.want)
		}
	}
}
