package getopt

import (
	"reflect"
	"strings"
	"testing"
)

// walk runs g to the end and writes what it found: each option as "-c"
// (-w as "-w=arg"), then "!" and the error if any, else "|" and the
// operands.
func walk(g *Getopt) string {
	var b strings.Builder
	for g.Next() {
		b.WriteString(" -" + string(g.Opt))
		if g.Opt == 'w' {
			b.WriteString("=" + g.Arg)
		}
	}
	if err := g.Err(); err != nil {
		b.WriteString(" ! " + err.Error())
		return strings.TrimSpace(b.String())
	}
	b.WriteString(" | " + strings.Join(g.Rest(), " "))
	return strings.TrimSpace(b.String())
}

func TestGetopt(t *testing.T) {
	cases := []struct {
		args []string
		only bool // DashDashOnly
		want string
	}{
		{nil, false, "|"},
		{[]string{}, false, "|"},
		{[]string{"a", "-v"}, false, "| a -v"},
		{[]string{"-v", "a"}, false, "-v | a"},
		{[]string{"-vt", "-t", "a"}, false, "-v -t -t | a"},
		{[]string{"-w5", "a"}, false, "-w=5 | a"},
		{[]string{"-w", "5", "a"}, false, "-w=5 | a"},
		{[]string{"-vw5", "a"}, false, "-v -w=5 | a"},
		{[]string{"-wv", "a"}, false, "-w=v | a"},
		{[]string{"-w", "-v", "a"}, false, "-w=-v | a"},
		{[]string{"-w", "--", "a"}, false, "-w=-- | a"},
		{[]string{"-w", "", "a"}, false, "-w= | a"},
		{[]string{"-w"}, false, "! option requires an argument -- w"},
		{[]string{"-vw"}, false, "-v ! option requires an argument -- w"},
		{[]string{"-vx", "a"}, false, "-v ! illegal option -- x"},
		{[]string{"-:"}, false, "! illegal option -- :"},
		{[]string{"-v-"}, false, "-v ! illegal option -- -"},
		{[]string{"-\xe9"}, false, "! illegal option -- \u00e9"},
		{[]string{"-", "-v"}, false, "| - -v"},
		{[]string{"", "-v"}, false, "|  -v"},
		{[]string{"-v", "--", "-t"}, false, "-v | -t"},
		{[]string{"--", "--", "a"}, false, "| -- a"},
		{[]string{"--"}, false, "|"},
		{[]string{"--foo", "a"}, false, "| a"},
		{[]string{"-v", "--foo", "a"}, false, "-v | a"},
		{[]string{"--", "a"}, true, "| a"},
		{[]string{"--foo", "a"}, true, "! illegal option -- -"},
		{[]string{"-v", "--v"}, true, "-v ! illegal option -- -"},
		{[]string{"-v", "-", "a"}, true, "-v | - a"},
	}
	for _, c := range cases {
		g := &Getopt{Args: c.args, Opts: "w:vt", DashDashOnly: c.only}
		if got := walk(g); got != c.want {
			t.Errorf("Getopt{%q, DashDashOnly: %v}: got %q; want %q", c.args, c.only, got, c.want)
		}
	}
}

func TestAfterTheEnd(t *testing.T) {
	g := &Getopt{Args: []string{"-v", "a"}, Opts: "v"}
	for g.Next() {
	}
	for i := 0; i < 2; i++ {
		if got, want := g.Next(), false; got != want {
			t.Errorf("Next after the end: got %v; want %v", got, want)
		}
	}
	if got, want := g.Rest(), []string{"a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Rest: got %q; want %q", got, want)
	}

	g = &Getopt{Args: []string{"-vw"}, Opts: "vw:"}
	for g.Next() {
	}
	var got any = g.Err()
	if want := (&Error{Opt: 'w', Missing: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("Err: got %#v; want %#v", got, want)
	}
	if got, want := g.Next(), false; got != want {
		t.Errorf("Next after an error: got %v; want %v", got, want)
	}
}

func TestRestKeepsNil(t *testing.T) {
	g := &Getopt{Opts: "v"}
	for g.Next() {
	}
	if got := g.Rest(); got != nil {
		t.Errorf("Rest of no arguments: got %#v; want nil", got)
	}
}
