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
