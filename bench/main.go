// Command bench runs vigil and its peers (Debian's runit, tini, dumb-init)
// side by side on this machine and prints one table of ratios. Absolute
// numbers on a shared machine are noise; the ratio within one run is not.
//
//	go run ./bench [-only svlogd,sv] -vigil bin/vigil -peers .cache/peers
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/vigil-init/vigil/internal/peers"
)

// Row is one measurement of vigil against one peer.
type Row struct {
	Metric string  // what was measured, with the workload
	Unit   string  // of Vigil and Peer
	Vigil  float64 // vigil's value
	Peer   float64 // the peer's value; 0 when the peer has no counterpart
	Name   string  // the peer's name
	Higher bool    // a higher value is better (throughput); else lower is
	Goal   string  // the target from the issue, if any
}

// Advantage is how many times better vigil did than the peer.
func (r Row) Advantage() float64 {
	if r.Peer == 0 || r.Vigil == 0 {
		return 0
	}
	if r.Higher {
		return r.Vigil / r.Peer
	}
	return r.Peer / r.Vigil
}

// Env is what a suite gets: the binaries and a scratch directory.
type Env struct {
	Vigil string // the vigil binary
	Peers string // where scripts/peers.sh unpacked Debian's packages
	Tmp   string // scratch space, removed afterwards
	Log   io.Writer
}

// Peer returns the path of a peer program, or "" if it is not unpacked:
// the tests' lookup (internal/peers), in the directory -peers names.
func (e *Env) Peer(name string) string {
	p, err := peers.Path(name)
	if err != nil {
		fmt.Fprintf(e.Log, "bench: %v\n", err)
		return ""
	}
	return p
}

type suite struct {
	name string
	run  func(*Env) ([]Row, error)
}

var suites []suite

// register adds a suite; each bench_*.go file registers its own in init.
func register(name string, run func(*Env) ([]Row, error)) {
	suites = append(suites, suite{name, run})
}

func main() {
	only := flag.String("only", "", "comma-separated suites to run (default all)")
	vigil := flag.String("vigil", "bin/vigil", "the vigil binary")
	peerFlag := flag.String("peers", "", "Debian's unpacked packages (default $VIGIL_PEERS, else the repository's .cache/peers)")
	flag.Parse()

	bin, err := filepath.Abs(*vigil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *peerFlag != "" {
		os.Setenv(peers.Env, *peerFlag)
	}
	peerDir := peers.Dir()
	slices.SortFunc(suites, func(a, b suite) int { return strings.Compare(a.name, b.name) })
	fmt.Printf("machine: %s/%s, %d cores, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Println("| suite | metric | vigil | peer | peer value | vigil advantage | goal |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	failed := false
	for _, s := range suites {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), s.name) {
			continue
		}
		// Scratch space on a tmpfs where there is one, as /run is in a
		// container: on a disk, the thousands of files a suite deletes make
		// ext4's inode allocator slow for the next suite's creations, and
		// that, not vigil or its peer, is then what gets measured.
		tmp, err := os.MkdirTemp("/dev/shm", "vigil-bench-")
		if err != nil {
			tmp, err = os.MkdirTemp("", "vigil-bench-")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		rows, err := s.run(&Env{Vigil: bin, Peers: peerDir, Tmp: tmp, Log: os.Stderr})
		os.RemoveAll(tmp)
		for _, r := range rows {
			adv := "n/a"
			if a := r.Advantage(); a > 0 {
				adv = fmt.Sprintf("%.2f×", a)
			}
			peerVal := "n/a"
			if r.Peer != 0 {
				peerVal = fmt.Sprintf("%.4g %s", r.Peer, r.Unit)
			}
			fmt.Printf("| %s | %s | %.4g %s | %s | %s | %s | %s |\n", s.name, r.Metric, r.Vigil, r.Unit, r.Name, peerVal, adv, r.Goal)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", s.name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown cpu"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown cpu"
}
