package pid1

import (
	"slices"
	"testing"
)

func TestRemapExit(t *testing.T) {
	for _, c := range []struct {
		code int
		zero []int
		want int
	}{
		{143, nil, 143},
		{143, []int{143}, 0},
		{130, []int{143, 130}, 0},
		{1, []int{143, 130}, 1},
		{0, []int{1}, 0},
		{255, []int{255}, 0},
	} {
		if got := remapExit(c.code, c.zero); got != c.want {
			t.Errorf("remapExit(%d, %v) = %d; want %d", c.code, c.zero, got, c.want)
		}
	}
	// tini's inclusive and exclusive test (E3): every code, listed or not.
	for n := range 256 {
		if got := remapExit(n, []int{n}); got != 0 {
			t.Errorf("remapExit(%d, [%d]) = %d; want 0", n, n, got)
		}
		if got := remapExit(n, []int{(n + 1) % 256}); got != n {
			t.Errorf("remapExit(%d, [%d]) = %d; want %d", n, (n+1)%256, got, n)
		}
	}
}

func TestParseExitZero(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want []int
		err  string
	}{
		{args: []string{"-e", "143"}, want: []int{143}},
		{args: []string{"-e", "143", "-e130", "-e", "0"}, want: []int{143, 130, 0}},
		{env: "143 130", want: []int{143, 130}},
		{env: " 143,130\t2 ", want: []int{143, 130, 2}},
		{args: []string{"-e", "1"}, env: "143", want: []int{1}},
		{args: []string{"-e", "x"}, err: `-e: want an exit code from 0 to 255, got "x"`},
		{args: []string{"-e", "300"}, err: `-e: want an exit code from 0 to 255, got "300"`},
		{args: []string{"-e", "-1"}, err: `-e: want an exit code from 0 to 255, got "-1"`},
		{args: []string{"-e", "0x8f"}, err: `-e: want an exit code from 0 to 255, got "0x8f"`},
		{args: []string{"-e"}, err: `option -e needs a value`},
		{env: "143 x", err: `VIGIL_EXIT_ZERO: want an exit code from 0 to 255, got "x"`},
		{env: "256", err: `VIGIL_EXIT_ZERO: want an exit code from 0 to 255, got "256"`},
	} {
		env := map[string]string{"VIGIL_EXIT_ZERO": c.env}
		o, err := parseOptions(c.args, func(k string) string { return env[k] })
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parseOptions(%q) with VIGIL_EXIT_ZERO=%q: error %v; want %q", c.args, c.env, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(o.ExitZero, c.want) {
			t.Errorf("parseOptions(%q) with VIGIL_EXIT_ZERO=%q: ExitZero %v, %v; want %v", c.args, c.env, o.ExitZero, err, c.want)
		}
	}
}
