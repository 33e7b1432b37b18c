package pid1

import (
	"reflect"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want Options
		err  bool
	}{
		{name: "defaults", want: Options{SvDir: "/etc/service", InitDir: "/etc/vigil/init.d", ShutdownDir: "/etc/vigil/shutdown.d", Grace: 7 * time.Second, Verbosity: 1}},
		{
			name: "environment",
			env:  map[string]string{"SVDIR": "/sv", "VIGIL_INIT_DIR": "/i", "VIGIL_SHUTDOWN_DIR": "/s", "VIGIL_GRACE": "2.5", "VIGIL_PREFIX": "1", "VIGIL_VERBOSITY": "3", "VIGIL_INIT_FAIL": "continue"},
			want: Options{SvDir: "/sv", InitDir: "/i", ShutdownDir: "/s", Grace: 2500 * time.Millisecond, Prefix: true, Verbosity: 3, InitContinue: true},
		},
		{
			name: "flags override the environment",
			args: []string{"-pq", "-g", "1500ms", "-s/sv2", "-i", "/i2", "--", "cmd", "-v"},
			env:  map[string]string{"SVDIR": "/sv", "VIGIL_GRACE": "9"},
			want: Options{SvDir: "/sv2", InitDir: "/i2", ShutdownDir: "/etc/vigil/shutdown.d", Grace: 1500 * time.Millisecond, Prefix: true, Verbosity: 0, Command: []string{"cmd", "-v"}},
		},
		{
			name: "command without --",
			args: []string{"-vv", "sh", "-c", "exit 1"},
			want: Options{SvDir: "/etc/service", InitDir: "/etc/vigil/init.d", ShutdownDir: "/etc/vigil/shutdown.d", Grace: 7 * time.Second, Verbosity: 3, Command: []string{"sh", "-c", "exit 1"}},
		},
		{
			name: "a second -- is the command",
			args: []string{"--", "--", "true"},
			want: Options{SvDir: "/etc/service", InitDir: "/etc/vigil/init.d", ShutdownDir: "/etc/vigil/shutdown.d", Grace: 7 * time.Second, Verbosity: 1, Command: []string{"--", "true"}},
		},
		{name: "unknown flag", args: []string{"-x"}, err: true},
		{name: "missing value", args: []string{"-g"}, err: true},
		{name: "bad grace", args: []string{"-g", "soon"}, err: true},
		{name: "bad VIGIL_GRACE", env: map[string]string{"VIGIL_GRACE": "-1s"}, err: true},
		{name: "bad VIGIL_VERBOSITY", env: map[string]string{"VIGIL_VERBOSITY": "4"}, err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseOptions(c.args, func(k string) string { return c.env[k] })
			if c.err {
				if err == nil {
					t.Errorf("parseOptions(%q) = %+v, nil; want an error", c.args, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOptions(%q) = %v; want no error", c.args, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("parseOptions(%q) = %+v; want %+v", c.args, got, c.want)
			}
		})
	}
}

func TestParseOptionsHelpVersion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want error
	}{
		{[]string{"-h"}, errHelp},
		{[]string{"-V"}, errVersion},
		{[]string{"-qV"}, errVersion},
		{[]string{"--help"}, errHelp},
		{[]string{"--version"}, errVersion},
	} {
		if _, err := parseOptions(c.args, func(string) string { return "" }); err != c.want {
			t.Errorf("parseOptions(%q) = %v; want %v", c.args, err, c.want)
		}
	}
}
