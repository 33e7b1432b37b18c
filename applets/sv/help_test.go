package sv

import (
	"strings"
	"testing"
)

const usageLine = "usage: sv [-v] [-w sec] command service ...\n"

// TestHelp: -h and --help print the usage line and one line per command
// on stdout and exit 0; Debian's sv knows neither (it prints its usage
// line on stderr and exits 100, after "illegal option -- h" for -h).
func TestHelp(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	svdir := t.TempDir()
	for _, tc := range []struct {
		args      []string
		debStderr string
	}{
		{[]string{"--help"}, usageLine + "\n"},
		{[]string{"-h"}, "sv: illegal option -- h\n" + usageLine + "\n"},
		{[]string{"-v", "--help"}, usageLine + "\n"},
		{[]string{"-w", "5", "--help", "web"}, usageLine + "\n"},
		{[]string{"-vh", "status", "web"}, "sv: illegal option -- h\n" + usageLine + "\n"},
		{[]string{"--help", "status", "web"}, ""}, // Debian's prints the status
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got := vigil.run(t, svEnv(svdir), tc.args...)
			if got.rc != 0 || got.stderr != "" || !strings.HasPrefix(got.stdout, usageLine+"\n") {
				t.Errorf("got %s; want the usage line and the commands on stdout, rc 0", got)
			}
			deb := debian.run(t, svEnv(svdir), tc.args...)
			if tc.debStderr != "" && (deb.stderr != tc.debStderr || deb.rc != 100 || deb.stdout != "") {
				t.Errorf("Debian's sv: %s; want stderr %q, rc 100", deb, tc.debStderr)
			}
		})
	}
	t.Run("LSB", func(t *testing.T) {
		inv := svEnv(svdir)
		inv.argv0 = "web"
		got := vigil.run(t, inv, "--help")
		if got.rc != 0 || !strings.HasPrefix(got.stdout, "usage: web [-w sec] command\n\n") {
			t.Errorf("got %s", got)
		}
	})
}

// TestHelpListsEveryCommand: each command line of the help names words
// sv accepts, each once, and together they are every word runit's man
// page lists.
func TestHelpListsEveryCommand(t *testing.T) {
	all := []string{"status", "up", "down", "once", "pause", "cont", "hup", "alarm",
		"interrupt", "quit", "1", "2", "term", "kill", "exit", "start", "stop", "reload",
		"restart", "shutdown", "try-restart", "check", "force-stop", "force-reload",
		"force-restart", "force-shutdown"}
	listed := map[string]int{}
	for _, line := range strings.Split(helpText, "\n") {
		if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "  -") {
			continue
		}
		word := strings.Fields(line)[0]
		listed[word]++
		if _, ok := parseAction(word, false); !ok {
			t.Errorf("help lists %q, which sv does not accept", word)
		}
		if len(line) > 80 {
			t.Errorf("help line longer than 80 columns: %q", line)
		}
	}
	for _, w := range all {
		if listed[w] != 1 {
			t.Errorf("help lists %q %d times; want once", w, listed[w])
		}
	}
	if len(listed) != len(all) {
		t.Errorf("help lists %d commands; want %d", len(listed), len(all))
	}
}

func TestWantsHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--help"}, true},
		{[]string{"-v", "--help"}, true},
		{[]string{"-w", "3", "--help"}, true},
		{[]string{"-w3", "--help"}, true},
		{[]string{"-vw", "3", "--help"}, true},
		{[]string{"-w", "--help", "status", "web"}, false}, // -w's argument
		{[]string{"-vw", "--help", "status"}, false},
		{[]string{"status", "--help"}, false}, // a service named --help
		{[]string{"--", "--help"}, false},
		{[]string{"--version", "--help"}, false},
		{[]string{"-", "--help"}, false},
		{nil, false},
	} {
		if got := wantsHelp(tc.args); got != tc.want {
			t.Errorf("wantsHelp(%q) = %v; want %v", tc.args, got, tc.want)
		}
	}
}

// TestUnknownCommand: an unknown command is named before runit's usage
// line, with runit's exit code (100, or 2 in LSB mode); Debian's sv
// prints the usage line alone. A command sv knows but given no service
// is the usage line alone, as runit.
func TestUnknownCommand(t *testing.T) {
	vigil, debian := vigilSv(t), debianSv(t)
	svdir := t.TempDir()
	makeService(t, svdir, "web", "exec sleep 100")
	lsbUsage := "usage: web [-w sec] command\n\n"
	for _, tc := range []struct {
		name, argv0 string
		args        []string
		stderr      string
		rc          int
	}{
		{"bogus", "", []string{"bogus", "web"}, "sv: unknown command: bogus\n" + usageLine + "\n", 100},
		{"bogus without service", "", []string{"bogus"}, "sv: unknown command: bogus\n" + usageLine + "\n", 100},
		{"r word", "", []string{"reboot", "web"}, "sv: unknown command: reboot\n" + usageLine + "\n", 100},
		{"f word", "", []string{"force", "web"}, "sv: unknown command: force\n" + usageLine + "\n", 100},
		{"after options", "", []string{"-w", "3", "bogus", "web"}, "sv: unknown command: bogus\n" + usageLine + "\n", 100},
		{"empty", "", []string{"", "web"}, usageLine + "\n", 100},
		{"no service", "", []string{"status"}, usageLine + "\n", 100},
		{"LSB bogus", "web", []string{"bogus"}, "web: unknown command: bogus\n" + lsbUsage, 2},
		{"LSB s word", "web", []string{"sx"}, "web: unknown command: sx\n" + lsbUsage, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := svEnv(svdir)
			inv.argv0 = tc.argv0
			got := vigil.run(t, inv, tc.args...)
			if got.stderr != tc.stderr || got.stdout != "" || got.rc != tc.rc {
				t.Errorf("got %s\nwant stderr %q, rc %d", got, tc.stderr, tc.rc)
			}
			deb := debian.run(t, inv, tc.args...)
			usage := tc.stderr[strings.Index(tc.stderr, "usage: "):]
			if deb.stderr != usage || deb.rc != tc.rc {
				t.Errorf("Debian's sv: %s; want stderr %q, rc %d", deb, usage, tc.rc)
			}
		})
	}
}
