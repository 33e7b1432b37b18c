package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/services/supervise"
)

// TestLoggerRestartsLoseNothing: a service writes numbered lines as fast
// as it can into its log pipe while its svlogd is stopped and restarted
// again and again. The engine holds both ends of the pipe, so the lines
// wait there while no logger runs, and svlogd finishes the line it is
// reading before it exits: every line arrives once, whole, in order.
func TestLoggerRestartsLoseNothing(t *testing.T) {
	vigil := testenv.Vigil(t)
	const lines = 30000
	svc := filepath.Join(t.TempDir(), "writer")
	logdir := filepath.Join(svc, "log", "main")
	for path, body := range map[string]string{
		"run": fmt.Sprintf(`#!/bin/sh
i=0
while [ $i -lt %d ]; do echo "line $i of the writer, padded to look like a log record"; i=$((i+1)); done
touch wrote-all
exec sleep 1000
`, lines),
		"log/run": fmt.Sprintf("#!/bin/sh\nexec %s svlogd %s\n", vigil, logdir),
	} {
		p := filepath.Join(svc, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(logdir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Small files, so rotation happens during the restarts too.
	os.WriteFile(filepath.Join(logdir, "config"), []byte("s200000\nn100\n"), 0o644)

	cmd := exec.Command(vigil, "runsv", svc)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		supervise.Send(filepath.Join(svc, "supervise"), []byte("x"))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(testenv.Scale(10 * time.Second)):
			cmd.Process.Kill()
		}
	}()

	// A fixed number of restarts, each as soon as the last one's logger
	// runs, not "until the writer is done": while no logger runs the
	// writer blocks on a full pipe, and each restart waits out runsv's
	// one-second pacing, so the writer would take as long as the machine
	// lets it. The first restarts come while it writes; then it finishes.
	logSup := filepath.Join(svc, "log", "supervise")
	const restarts = 8
	duringWrite := 0 // restarts while the writer was still writing
	for i := range restarts {
		var st supervise.Status
		testenv.WaitFor(t, 10*time.Second, fmt.Sprintf("logger running (restart %d)", i), func() bool {
			var err error
			st, err = supervise.ReadStatus(logSup)
			return err == nil && st.Pid != 0 && st.State == supervise.Run
		})
		if _, err := os.Stat(filepath.Join(svc, "wrote-all")); err != nil {
			duringWrite++
		}
		// TERM, as sv term and sv restart send it.
		if err := syscall.Kill(st.Pid, syscall.SIGTERM); err != nil {
			t.Fatalf("TERM to the logger %d: %v", st.Pid, err)
		}
		testenv.WaitFor(t, 10*time.Second, "the logger to exit", func() bool {
			now, err := supervise.ReadStatus(logSup)
			return err == nil && now.Pid != st.Pid
		})
	}
	testenv.WaitFor(t, 60*time.Second, "the writer to write all its lines", func() bool {
		_, err := os.Stat(filepath.Join(svc, "wrote-all"))
		return err == nil
	})
	if duringWrite == 0 {
		t.Fatalf("the writer was done before the first logger restart: nothing was tested")
	}

	var got []string
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("all %d lines in %s", lines, logdir), func() bool {
		got = readLogDir(t, logdir)
		return len(got) >= lines
	})
	if len(got) != lines {
		t.Fatalf("%s holds %d lines; want %d", logdir, len(got), lines)
	}
	for i, line := range got {
		if want := fmt.Sprintf("line %d of the writer, padded to look like a log record", i); line != want {
			t.Fatalf("line %d = %q; want %q (after %d logger restarts)", i, line, want, restarts)
		}
	}
	t.Logf("%d lines intact across %d logger restarts, %d of them while the writer wrote", lines, restarts, duringWrite)
}

// readLogDir returns the lines of the rotated files, oldest first, then
// of current.
func readLogDir(t *testing.T, dir string) []string {
	rotated, _ := filepath.Glob(filepath.Join(dir, "@*"))
	sort.Strings(rotated)
	var lines []string
	for _, f := range append(rotated, filepath.Join(dir, "current")) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSuffix(string(b), "\n")
		if s != "" {
			lines = append(lines, strings.Split(s, "\n")...)
		}
	}
	return lines
}
