package pid1

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	rev := "7bac87ce20aea6cc62eb4b501835fd5f11501ab6"
	for _, c := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go install @version", debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{"a checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}}, "7bac87ce20ae"},
		{"a modified checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}}, "7bac87ce20ae-dirty"},
		{"no information", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)"},
	} {
		if got := versionOf(&c.info); got != c.want {
			t.Errorf("%s: versionOf = %q; want %q", c.name, got, c.want)
		}
	}
}

// TestVersionLinkFlag: a version set at link time wins.
func TestVersionLinkFlag(t *testing.T) {
	saved := Version
	t.Cleanup(func() { Version = saved })
	Version = "v0.3.0-4-gabcdef0-dirty"
	if got := version(); got != Version {
		t.Errorf("version() = %q; want the link-time %q", got, Version)
	}
}
