package pid1

import "runtime/debug"

// Version is what `vigil -V` prints. The Makefile sets it from
// `git describe --always --dirty` with
// -ldflags "-X github.com/vigil-init/vigil/init.Version=...". Left empty,
// the version comes from the build information the go command records.
var Version string

// version is Version, else the module's version (`go install ...@v1.2.0`),
// else the commit it was built from (with -dirty for uncommitted changes),
// else "(devel)": a build without version control information, such as
// one with -buildvcs=false or from a git worktree, which the go command
// does not stamp. Only `vigil -V` reads it.
func version() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return versionOf(info)
}

func versionOf(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
