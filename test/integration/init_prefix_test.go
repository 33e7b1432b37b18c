package integration

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInitPrefixUnderLoad: four services without log/ write thousands of
// long numbered lines at once, in blocks that cut lines anywhere (awk's
// buffered output), and one ends without a final newline. With -p every
// line reaches vigil's stdout whole, prefixed with its service's name, in
// order, none lost.
func TestInitPrefixUnderLoad(t *testing.T) {
	const services, lines = 4, 5000
	dir := t.TempDir()
	svdir := filepath.Join(dir, "sv")
	runs := map[string]string{}
	for i := range services {
		name := fmt.Sprint("svc", i)
		// Written once; later starts only sleep.
		runs[name] = fmt.Sprintf(`[ -e $T/done.%[1]s ] && exec sleep 1000
awk 'BEGIN { for (i = 1; i <= %[2]d; i++) printf "%[1]s line %%d %%s\n", i, "%[3]s"; printf "%[1]s tail" }'
touch $T/done.%[1]s; exec sleep 1000`, name, lines, strings.Repeat("x", 100+30*i))
	}
	initServices(t, svdir, runs)
	r := startInitNS(t, initOpts{args: []string{"-p", "-s", svdir}, scratch: dir})
	for i := range services {
		r.waitFile(fmt.Sprint("done.svc", i), 20*time.Second)
	}
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d; want 0\n%s", code, r.stderr())
	}
	out := r.stdout()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end with a newline")
	}
	line := regexp.MustCompile(`^(svc\d): (svc\d) line (\d+) (x+)$`)
	next := map[string]int{}
	tails := map[string]int{}
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if m := regexp.MustCompile(`^(svc\d): (svc\d) tail$`).FindStringSubmatch(l); m != nil && m[1] == m[2] {
			tails[m[1]]++
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil || m[1] != m[2] {
			t.Fatalf("line %d is not whole or has the wrong prefix: %q", i+1, l)
		}
		n, _ := strconv.Atoi(m[3])
		if n != next[m[1]]+1 {
			t.Fatalf("line %d: %s's line %d follows its line %d: lost or reordered", i+1, m[1], n, next[m[1]])
		}
		next[m[1]] = n
	}
	for i := range services {
		name := fmt.Sprint("svc", i)
		if next[name] != lines || tails[name] != 1 {
			t.Errorf("%s: %d lines and %d unterminated last lines; want %d and 1", name, next[name], tails[name], lines)
		}
	}
}
