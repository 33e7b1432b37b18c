package runsvdir

import "testing"

// TestProcTitleScroll: bytes come in at the end of the window and push
// the oldest out at the front; NUL bytes are left out.
func TestProcTitleScroll(t *testing.T) {
	cases := []struct {
		writes []string
		want   string
	}{
		{nil, "......"},
		{[]string{"ab"}, "....ab"},
		{[]string{"ab", "cd"}, "..abcd"},
		{[]string{"a\nb\n"}, "..a\nb\n"},
		{[]string{"abcdefgh"}, "cdefgh"},
		{[]string{"abc", "defghij"}, "efghij"},
		{[]string{"a\x00b\x00"}, "....ab"},
		{[]string{"\x00\x00\x00"}, "......"},
	}
	for _, c := range cases {
		pt := &procTitle{win: []byte("......")}
		for _, w := range c.writes {
			pt.write([]byte(w))
		}
		if got := string(pt.win); got != c.want {
			t.Errorf("writes %q: window %q; want %q", c.writes, got, c.want)
		}
	}
}

// TestProcTitleOutsideArgv: a string that is not in the argv area is
// refused, never written.
func TestProcTitleOutsideArgv(t *testing.T) {
	if _, err := newProcTitle(string([]byte("log: ........"))); err == nil {
		t.Error("newProcTitle(a heap string) succeeded; want an error")
	}
}
