package pid1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrefixer: whole lines with the name in front, an unterminated last
// line kept, an overlong line cut into prefixed pieces.
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
			out, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			pf := newPrefixer(out)
			w, release, err := pf.output("web")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.writes {
				w.WriteString(s)
			}
			release()
			pf.wait(10 * time.Second)
			b, _ := os.ReadFile(out.Name())
			if string(b) != c.want {
				t.Errorf("prefixed %q = %q; want %q", c.writes, b, c.want)
			}
		})
	}
}
