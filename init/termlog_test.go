package pid1

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-init/vigil/services"
)

func TestTerminationMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Termination
		want string
	}{
		{"exit code", Termination{Who: "service web", Code: 3}, "service web: exited with code 3\n"},
		{"signal", Termination{Who: "command /app", Signal: 15}, "command /app: killed by SIGTERM (exit 143)\n"},
		{"OOM", Termination{Who: "service web", Signal: 9, OOM: true}, "service web: killed by the OOM killer (exit 137)\n"},
		{"unknown signal", Termination{Who: "service web", Signal: 77}, "service web: killed by signal 77 (exit 205)\n"},
		{"stderr", Termination{Who: "service db", Code: 1, Stderr: []byte("starting\nFATAL: no space left\n")},
			"service db: exited with code 1\nlast lines of stderr:\nstarting\nFATAL: no space left\n"},
		{"stderr without a final newline", Termination{Who: "service db", Code: 1, Stderr: []byte("a\nb")},
			"service db: exited with code 1\nlast lines of stderr:\na\nb\n"},
		{"only newlines of stderr", Termination{Who: "service db", Code: 1, Stderr: []byte("\n\n")},
			"service db: exited with code 1\n"},
		{"the engine's words", endedTermination(services.Ended{Service: "web", Code: 137, Reason: "killed by the OOM killer"}),
			"service web: killed by the OOM killer (exit 137)\n"},
		{"the engine's words with the code", endedTermination(services.Ended{Service: "db", Code: 3, Reason: "exited with code 3"}),
			"service db: exited with code 3\n"},
		{"main command exited", mainTermination("/app", 2), "command /app: exited with code 2\n"},
		{"main command killed", mainTermination("/app", 137), "command /app: killed by SIGKILL (exit 137)\n"},
		{"the last 20 lines", Termination{Who: "service db", Code: 1, Stderr: []byte(strings.Repeat("old\n", 5) + strings.Repeat("new\n", 20))},
			"service db: exited with code 1\nlast lines of stderr:\n" + strings.Repeat("new\n", 20)},
	} {
		if got := string(tc.t.message()); got != tc.want {
			t.Errorf("%s: got %q; want %q", tc.name, got, tc.want)
		}
	}
}

// Whatever the input, the message fits Kubernetes' 4096 bytes, is valid
// UTF-8 and keeps the newest stderr.
func TestTerminationMessageBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Termination
	}{
		{"long lines", Termination{Who: "service web", Code: 1, Stderr: []byte(strings.Repeat(strings.Repeat("x", 1000)+"\n", 19) + "the end\n")}},
		{"one huge line", Termination{Who: "service web", Code: 1, Stderr: []byte(strings.Repeat("é", 5000) + "the end\n")}},
		{"one huge line, no newline", Termination{Who: "service web", Code: 1, Stderr: []byte(strings.Repeat("日本", 3000) + "the end")}},
		{"invalid UTF-8", Termination{Who: "service \xff", Code: 1, Stderr: []byte("bad \xfe\xff bytes\nthe end\n")}},
		{"a huge name", Termination{Who: "service " + strings.Repeat("ü", 3000), Code: 1, Stderr: []byte("the end\n")}},
	} {
		m := tc.t.message()
		if len(m) > terminationLogMax || !utf8.Valid(m) || !bytes.HasSuffix(m, []byte("\n")) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v, ends %q; want at most %d valid bytes ending in a newline",
				tc.name, len(m), utf8.Valid(m), m[max(0, len(m)-10):], terminationLogMax)
		}
		if tc.name != "a huge name" && !bytes.HasSuffix(m, []byte("the end\n")) {
			t.Errorf("%s: the message does not end with the newest stderr: ...%q", tc.name, m[max(0, len(m)-40):])
		}
	}
}

func TestTerminationLogPath(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "VIGIL_TERMINATION_LOG" {
				return v
			}
			return ""
		}
	}
	if got := terminationLogPath(env("/tmp/x")); got != "/tmp/x" {
		t.Errorf("VIGIL_TERMINATION_LOG=/tmp/x: got %q", got)
	}
	if got := terminationLogPath(env("off")); got != "" {
		t.Errorf("VIGIL_TERMINATION_LOG=off: got %q; want none", got)
	}
	_, err := os.Stat(defaultTerminationLog)
	want := ""
	if err == nil {
		want = defaultTerminationLog
	}
	if got := terminationLogPath(env("")); got != want {
		t.Errorf("unset, %s %v: got %q; want %q", defaultTerminationLog, err, got, want)
	}
}

func TestWriteTerminationLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	os.WriteFile(path, []byte(strings.Repeat("stale ", 1000)), 0o644)
	if err := writeTerminationLog(path, Termination{Who: "service web", Signal: 9, OOM: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "service web: killed by the OOM killer (exit 137)\n" {
		t.Errorf("%s: got %q; want the message alone", path, b)
	}
	if err := writeTerminationLog(filepath.Join(t.TempDir(), "no", "dir"), Termination{Who: "x"}); err == nil || !strings.Contains(err.Error(), "termination log") {
		t.Errorf("an unwritable path: got %v; want a termination log error", err)
	}
}
