package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recordApplets swaps the applet table for one that records which applet
// ran with which arguments.
func recordApplets(t *testing.T) *[]string {
	t.Helper()
	var calls []string
	saved, savedHidden := applets, hidden
	t.Cleanup(func() { applets, hidden = saved, savedHidden })
	applets = map[string]mainFunc{}
	for name := range saved {
		applets[name] = func(args []string, _ io.Reader, _, _ io.Writer) int {
			calls = append(calls, name+":"+strings.Join(args, " "))
			return 0
		}
	}
	hidden = map[string]mainFunc{"exec-process": func(args []string, _ io.Reader, _, _ io.Writer) int {
		calls = append(calls, "exec-process:"+strings.Join(args, " "))
		return 0
	}}
	return &calls
}

func TestDispatch(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "vigil")
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// /etc/init.d/web -> sv -> vigil: sv runs, and still sees "web".
	must(t, os.Symlink(self, filepath.Join(dir, "sv")))
	must(t, os.Symlink(filepath.Join(dir, "sv"), filepath.Join(dir, "web")))
	must(t, os.Symlink(self, filepath.Join(dir, "mystery")))
	for _, tc := range []struct {
		argv []string
		want string
		code int
	}{
		{[]string{"sv", "status", "x"}, "sv:sv status x", 0},
		{[]string{"/usr/bin/svlogd", "-tt", "d"}, "svlogd:/usr/bin/svlogd -tt d", 0},
		{[]string{"vigil", "chpst", "-u", "nobody", "true"}, "chpst:chpst -u nobody true", 0},
		{[]string{"vigil", "runsvdir", "-P", "/etc/service"}, "runsvdir:runsvdir -P /etc/service", 0},
		{[]string{"vigil"}, "vigil:vigil", 0},
		{[]string{"/sbin/vigil", "--", "nginx"}, "vigil:/sbin/vigil -- nginx", 0},
		{[]string{"vigil", "exec-process", "./process.json"}, "exec-process:exec-process ./process.json", 0},
		{[]string{filepath.Join(dir, "web"), "status"}, "sv:" + filepath.Join(dir, "web") + " status", 0},
		{[]string{filepath.Join(dir, "mystery"), "x"}, "vigil:" + filepath.Join(dir, "mystery") + " x", 0},
		{[]string{"/tmp/vigil-1.0", "vigil", "--", "true"}, "vigil:vigil -- true", 0},
		{[]string{"nosuchapplet", "x"}, "", 1},
		// chpst's names with runit's optional leading 'd'; no other applet's.
		{[]string{"/usr/bin/denvdir", "e", "env"}, "envdir:/usr/bin/denvdir e env", 0},
		{[]string{"vigil", "dsetlock", "f", "x"}, "setlock:dsetlock f x", 0},
		{[]string{"dsv", "status", "x"}, "", 1},
	} {
		calls := recordApplets(t)
		var stderr bytes.Buffer
		code := dispatch(tc.argv, nil, io.Discard, &stderr)
		got := strings.Join(*calls, "|")
		if got != tc.want || code != tc.code {
			t.Errorf("dispatch(%q) ran %q, exit %d; want %q, exit %d (stderr %q)", tc.argv, got, code, tc.want, tc.code, stderr.String())
		}
		if tc.code == 1 && !strings.Contains(stderr.String(), "svlogd") {
			t.Errorf("dispatch(%q) stderr = %q; want the list of applets", tc.argv, stderr.String())
		}
	}
}

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	var stdout, stderr bytes.Buffer
	if code := install([]string{dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("install(%s) = %d; want 0 (stderr %q)", dir, code, stderr.String())
	}
	self, _ := os.Executable()
	var got []string
	entries, _ := os.ReadDir(dir)
	for _, ent := range entries {
		target, err := os.Readlink(filepath.Join(dir, ent.Name()))
		if err != nil || target != self {
			t.Errorf("%s -> %q, %v; want a link to %s", ent.Name(), target, err, self)
		}
		got = append(got, ent.Name())
	}
	want := []string{"chpst", "envdir", "envuidgid", "pgrphack", "runsv", "runsvdir", "setlock", "setuidgid", "softlimit", "sv", "svc", "svlogd", "svok"}
	if !slices.Equal(got, want) {
		t.Errorf("install linked %q; want %q", got, want)
	}
	// Installing again replaces the links.
	if code := install([]string{dir}, &stdout, &stderr); code != 0 {
		t.Errorf("second install(%s) = %d; want 0 (stderr %q)", dir, code, stderr.String())
	}
	if code := install(nil, &stdout, &stderr); code != 100 {
		t.Errorf("install() = %d; want 100 (usage)", code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
