package services

import "testing"

func TestParseNotify(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want notifyMsg
	}{
		{"READY=1", notifyMsg{ready: true}},
		{"READY=1\n", notifyMsg{ready: true}},
		{"STATUS=warming up\nREADY=0", notifyMsg{status: "warming up", hasState: true}},
		{"MAINPID=12\nREADY=1\nSTATUS=ok", notifyMsg{ready: true, status: "ok", hasState: true}},
		{"STOPPING=1", notifyMsg{stopping: true}},
		{"READY", notifyMsg{}},
		{"", notifyMsg{}},
		{"READY=1x\nWATCHDOG=1", notifyMsg{}},
		{"STATUS=a=b", notifyMsg{status: "a=b", hasState: true}},
	} {
		if got := parseNotify([]byte(tc.in)); got != tc.want {
			t.Errorf("parseNotify(%q) = %+v; want %+v", tc.in, got, tc.want)
		}
	}
}

func FuzzParseNotify(f *testing.F) {
	for _, s := range []string{"READY=1", "STATUS=x\nREADY=1\n", "STOPPING=1", "MAINPID=1\nFDSTORE=1", "=\n\n="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseNotify(b)
		if m.status != "" && !m.hasState {
			t.Errorf("status %q without STATUS=", m.status)
		}
	})
}
