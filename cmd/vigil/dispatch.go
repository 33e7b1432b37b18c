package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-init/vigil/applets/chpst"
	"github.com/vigil-init/vigil/applets/runsv"
	"github.com/vigil-init/vigil/applets/runsvdir"
	"github.com/vigil-init/vigil/applets/sv"
	"github.com/vigil-init/vigil/applets/svlogd"
	pid1 "github.com/vigil-init/vigil/init"
)

// mainFunc is an applet's entry point. args[0] is the name it was called by.
type mainFunc func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// applets are the names vigil answers to, and what --install links.
var applets = map[string]mainFunc{
	"vigil":     pid1.Main,
	"runsvdir":  runsvdir.Main,
	"runsv":     runsv.Main,
	"sv":        sv.Main,
	"svc":       sv.SvcMain,
	"svok":      sv.SvokMain,
	"svlogd":    svlogd.Main,
	"chpst":     chpst.Main,
	"envdir":    chpst.Main,
	"envuidgid": chpst.Main,
	"setuidgid": chpst.Main,
	"softlimit": chpst.Main,
	"setlock":   chpst.Main,
	"pgrphack":  chpst.Main,
}

// hidden applets are run by vigil itself and are neither listed nor linked.
var hidden = map[string]mainFunc{
	// The engine starts a service described by process.json through this.
	"exec-process": chpst.ExecProcessMain,
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"vigil"}
	}
	name := filepath.Base(args[0])
	if main, ok := lookup(name); ok && name != "vigil" {
		return main(args, stdin, stdout, stderr)
	}
	if name != "vigil" {
		if linked := resolveApplet(args[0]); linked != "" && linked != "vigil" {
			// sv in LSB mode needs the name it was called by.
			main, _ := lookup(linked)
			return main(args, stdin, stdout, stderr)
		}
	}
	if len(args) > 1 {
		if args[1] == "--install" {
			return install(args[2:], stdout, stderr)
		}
		if main, ok := lookup(args[1]); ok {
			return main(args[1:], stdin, stdout, stderr)
		}
		if main, ok := hidden[args[1]]; ok {
			return main(args[1:], stdin, stdout, stderr)
		}
	}
	// Installed as /sbin/init, or a link to the binary by another name:
	// init mode.
	if name == "vigil" || name == "init" || resolveApplet(args[0]) == "vigil" {
		return applets["vigil"](args, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "vigil: unknown applet %q; vigil is one of:\n  %s\n", name, strings.Join(names(), " "))
	return 1
}

// resolveApplet follows the symlink chain from path (searched in PATH when
// it has no slash) and returns the first link name that is an applet, so
// that /etc/init.d/web -> /usr/bin/sv -> /sbin/vigil runs sv.
func resolveApplet(path string) string {
	if !strings.Contains(path, "/") {
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if dir == "" {
				dir = "."
			}
			if _, err := os.Lstat(filepath.Join(dir, path)); err == nil {
				path = filepath.Join(dir, path)
				break
			}
		}
	}
	for range 40 {
		target, err := os.Readlink(path)
		if err != nil {
			return ""
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		if _, ok := lookup(filepath.Base(target)); ok {
			return filepath.Base(target)
		}
		path = target
	}
	return ""
}

// lookup finds the applet called name. Like runit's chpst, the chpst
// applets drop one leading 'd' from their name: denvdir is envdir.
func lookup(name string) (mainFunc, bool) {
	if main, ok := applets[name]; ok {
		return main, true
	}
	if rest, ok := strings.CutPrefix(name, "d"); ok && slices.Contains(chpstNames, rest) {
		return applets[rest], true
	}
	return nil, false
}

// chpstNames are chpst and its daemontools names.
var chpstNames = []string{"chpst", "envdir", "envuidgid", "setuidgid", "softlimit", "setlock", "pgrphack"}

func names() []string {
	var list []string
	for n := range applets {
		list = append(list, n)
	}
	slices.Sort(list)
	return list
}

// install makes a symlink to this binary in dir for every applet but vigil.
func install(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: vigil --install DIR")
		return 100
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "vigil: --install: unable to find own path: %v\n", err)
		return 111
	}
	if err := os.MkdirAll(args[0], 0o755); err != nil {
		fmt.Fprintf(stderr, "vigil: --install: %v\n", err)
		return 111
	}
	for _, n := range names() {
		if n == "vigil" {
			continue
		}
		link := filepath.Join(args[0], n)
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(stderr, "vigil: --install: unable to replace %s: %v\n", link, err)
			return 111
		}
		if err := os.Symlink(self, link); err != nil {
			fmt.Fprintf(stderr, "vigil: --install: unable to link %s: %v\n", link, err)
			return 111
		}
	}
	fmt.Fprintf(stdout, "vigil: linked %d applets in %s\n", len(applets)-1, args[0])
	return 0
}
