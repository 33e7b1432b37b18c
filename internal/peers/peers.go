// Package peers finds the programs vigil is tested and measured against:
// Debian's runit (runsv, sv, runsvdir, svlogd, chpst), busybox-static,
// tini and dumb-init, as scripts/peers.sh unpacks them. Tests (through
// internal/testenv) and the bench look them up here and nowhere else.
package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Env names the directory to look in instead of the repository's
// .cache/peers; scripts/peers.sh unpacks into it too. Pointing it at an
// empty directory runs the suite as on a machine without the peers.
const Env = "VIGIL_PEERS"

// Dir is where the peers are unpacked: $VIGIL_PEERS, else .cache/peers
// at the top of the repository.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	return filepath.Join(root(), ".cache", "peers")
}

// root is the repository's top directory: this file's, two levels up,
// or, where the build trimmed that path (go build -trimpath), the
// nearest directory above the working directory that holds
// scripts/peers.sh.
func root() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "..", "..")
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "scripts", "peers.sh")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return wd
		}
	}
}

// The places under Dir where Debian's packages put their programs.
var subdirs = []string{"usr/bin", "usr/sbin", "bin", "sbin"}

// Path returns the path of the peer program name. When it is not
// unpacked the error says where it was looked for and how to get it,
// fit to be a test's skip reason.
func Path(name string) (string, error) {
	dir := Dir()
	for _, sub := range subdirs {
		p := filepath.Join(dir, sub, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("Debian's %s is not unpacked in %s; run scripts/peers.sh (make peers, make test do)", name, dir)
}
