package pid1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrefixer: whole lines with the name in front, an unterminated last
// line kept, an overlong line cut into prefixed pieces; stdout and stderr
// each to their own file.
func TestPrefixer(t *testing.T) {
	long := strings.Repeat("y", maxLine+10)
	cases := []struct {
		name   string
		writes []string
		want   string
	}{
		{"lines", []string{"one\ntwo\n"}, "web: one\nweb: two\n"},
		{"split writes", []string{"o", "ne\ntw", "o\n"}, "web: one\nweb: two\n"},
		{"unterminated last line", []string{"one\nlast"}, "web: one\nweb: last\n"},
		{"empty line", []string{"\n"}, "web: \n"},
		{"overlong line", []string{long + "\n"}, "web: " + long[:maxLine] + "\nweb: " + long[maxLine:] + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := os.Create(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			errf, err := os.Create(filepath.Join(dir, "err"))
			if err != nil {
				t.Fatal(err)
			}
			defer errf.Close()
			pf := newPrefixer(out, errf)
			w, ew, release, err := pf.output("web", true)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.writes {
				w.WriteString(s)
				ew.WriteString(strings.ToUpper(s))
			}
			release()
			pf.wait(10 * time.Second)
			b, _ := os.ReadFile(out.Name())
			if string(b) != c.want {
				t.Errorf("prefixed stdout %q = %q; want %q", c.writes, b, c.want)
			}
			want := strings.ReplaceAll(strings.ToUpper(c.want), "WEB: ", "web: ")
			if b, _ := os.ReadFile(errf.Name()); string(b) != want {
				t.Errorf("prefixed stderr %q = %q; want %q", c.writes, b, want)
			}
		})
	}
}

// TestPrefixerWithLogger: a service with a logger gets a prefixed stderr
// but no stdout of the prefixer's (its stdout is the log pipe).
func TestPrefixerWithLogger(t *testing.T) {
	errf, err := os.Create(filepath.Join(t.TempDir(), "err"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	pf := newPrefixer(os.Stdout, errf)
	w, ew, release, err := pf.output("db", false)
	if err != nil || w != nil || ew == nil {
		t.Fatalf("output(db, false) = %v, %v, %v; want no stdout, a stderr", w, ew, err)
	}
	ew.WriteString("oops\n")
	release()
	pf.wait(10 * time.Second)
	if b, _ := os.ReadFile(errf.Name()); string(b) != "db: oops\n" {
		t.Errorf("stderr = %q; want %q", b, "db: oops\n")
	}
}

// TestStderrTail: the termination log's stderr is everything the service
// wrote to its stderr before it ended, up to tailMax bytes, even while the
// copy has not yet relayed it; never its stdout.
func TestStderrTail(t *testing.T) {
	many := strings.Repeat("0123456789abcdef\n", 2*tailMax/17)
	cases := []struct {
		name   string
		writes []string
		want   string
	}{
		{"lines", []string{"starting\n", "FATAL: disk full\n"}, "starting\nFATAL: disk full\n"},
		{"more than the log holds", []string{many, "the end\n"}, (many + "the end\n")[len(many)+8-tailMax:]},
		{"nothing", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, _ := os.Create(filepath.Join(dir, "out"))
			defer out.Close()
			errf, _ := os.Create(filepath.Join(dir, "err"))
			defer errf.Close()
			pf := newPrefixer(out, errf)
			w, ew, release, err := pf.output("db", true)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			// Many rounds: the tail is asked for at once after the
			// writes, before the copy has read most of them.
			for round := range 50 {
				for _, s := range c.writes {
					w.WriteString("stdout " + s)
					ew.WriteString(s)
				}
				got := string(pf.stderrTail("db", time.Minute))
				if len(c.writes) == 0 && got != "" {
					t.Fatalf("round %d: got %q; want nothing", round, got)
				}
				if !strings.HasSuffix(got, c.want) || len(got) > tailMax {
					t.Fatalf("round %d: tail of %d bytes ending %q; want at most %d ending %q", round, len(got), last(got, 60), tailMax, last(c.want, 60))
				}
			}
		})
	}
	t.Run("an unterminated last line ends the wait at its timeout", func(t *testing.T) {
		dir := t.TempDir()
		errf, _ := os.Create(filepath.Join(dir, "err"))
		defer errf.Close()
		pf := newPrefixer(errf, errf)
		_, ew, release, err := pf.output("db", false)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		ew.WriteString("whole\npart")
		if got := string(pf.stderrTail("db", 200*time.Millisecond)); got != "whole\n" {
			t.Errorf("got %q; want %q", got, "whole\n")
		}
	})
	if got := newPrefixer(os.Stdout, os.Stderr).stderrTail("none", time.Second); got != nil {
		t.Errorf("an unknown service: got %q; want nil", got)
	}
}

func last(s string, n int) string { return s[max(0, len(s)-n):] }
