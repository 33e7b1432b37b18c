package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func init() { register("docker", benchDocker) }

// benchDocker stops the example image (examples/Dockerfile: web, worker
// and ledger with its svlogd) with docker stop, once with vigil as PID 1
// and once with the same services under Debian's runsvdir as PID 1 (its
// dynamically linked runit binaries with the host's glibc copied in;
// Debian's busybox-static has no runsvdir). It measures how long docker
// stop takes, counts the services whose finish script reported TERM before
// the end, and compares the images' sizes. Without a Docker engine it
// reports nothing.
func benchDocker(e *Env) ([]Row, error) {
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		fmt.Fprintf(e.Log, "bench docker: no Docker engine, skipped: %v: %s\n", err, bytes.TrimSpace(out))
		return nil, nil
	}
	busybox := e.Peer("busybox")
	runsvdir := e.Peer("runsvdir")
	if busybox == "" || runsvdir == "" {
		return nil, errors.New("Debian's busybox and runit are not unpacked; run scripts/peers.sh")
	}
	root, err := dockerRepoRoot()
	if err != nil {
		return nil, err
	}
	const (
		prefix   = "vigil-bench"
		base     = prefix + "-base"
		vigilImg = prefix + "-example"
		runitImg = prefix + "-runit"
	)
	if err := benchBuildImages(e, root, prefix, busybox, filepath.Dir(runsvdir)); err != nil {
		return nil, err
	}
	const rounds = 5
	var stopV, stopR []float64
	termV, termR := 3, 3
	for i := range rounds {
		for _, img := range []string{vigilImg, runitImg} {
			took, termed, err := dockerStopRound(fmt.Sprintf("vigil-bench-%d-%d", os.Getpid(), i), img)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", img, err)
			}
			if img == vigilImg {
				stopV, termV = append(stopV, took), min(termV, termed)
			} else {
				stopR, termR = append(stopR, took), min(termR, termed)
			}
		}
	}
	sizeV, err := dockerImageMB(vigilImg)
	if err != nil {
		return nil, err
	}
	sizeR, err := dockerImageMB(runitImg)
	if err != nil {
		return nil, err
	}
	sizeB, _ := dockerImageMB(base)
	fmt.Fprintf(e.Log, "bench docker: services that got TERM at docker stop (fewest of %d rounds): vigil %d of 3, runsvdir %d of 3; base image (busybox) %.2f MB\n", rounds, termV, termR, sizeB)
	return []Row{
		{Metric: fmt.Sprintf("docker stop of the example, 3 services (median of %d)", rounds), Unit: "ms",
			Vigil: dockerMedian(stopV), Peer: dockerMedian(stopR), Name: "runit runsvdir as PID 1", Goal: "< 10 s, every service TERMed"},
		{Metric: fmt.Sprintf("services that got TERM before the end of docker stop, of 3 (runsvdir: %d)", termR), Unit: "services",
			Vigil: float64(termV), Peer: float64(termR), Name: "runit runsvdir as PID 1", Higher: true, Goal: "3 of 3"},
		{Metric: fmt.Sprintf("image size (busybox base %.2f MB)", sizeB), Unit: "MB",
			Vigil: sizeV, Peer: sizeR, Name: "runit + glibc"},
	}, nil
}

// dockerRepoRoot finds the top of the repository from the working directory
// (make bench runs in it) or this file's place.
func dockerRepoRoot() (string, error) {
	dirs := []string{}
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dirs = append(dirs, filepath.Dir(file))
	}
	for _, d := range dirs {
		for ; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "examples", "Dockerfile")); err == nil {
				return d, nil
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return "", errors.New("examples/Dockerfile not found; run the bench from the repository")
}

func benchDockerCmd(args ...string) (string, error) {
	var out, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.String(), nil
}

// benchBuildImages builds, with scripts/image.sh (the recipe of make
// image and the Docker tests), the busybox base, examples/Dockerfile with
// the vigil under test, and the runit variant: the same base and
// services, Debian's runit programs from runitDir and the libraries ldd
// names.
func benchBuildImages(e *Env, root, prefix, busybox, runitDir string) error {
	cmd := exec.Command("sh", filepath.Join(root, "scripts", "image.sh"), "base", "example", "runit")
	cmd.Env = append(os.Environ(), "VIGIL="+e.Vigil, "BUSYBOX="+busybox, "RUNIT="+runitDir, "PREFIX="+prefix, "QUIET=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/image.sh: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// dockerStopRound starts img, waits for its three services to run, stops
// it and returns the time docker stop took (ms) and how many services
// reported TERM through their finish scripts.
func dockerStopRound(name, img string) (float64, int, error) {
	if _, err := benchDockerCmd("run", "-d", "--name", name, img); err != nil {
		return 0, 0, err
	}
	defer exec.Command("docker", "rm", "-f", "-v", name).Run()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := benchDockerCmd("exec", name, "sv", "status", "/etc/service/web", "/etc/service/worker", "/etc/service/ledger")
		if strings.Count(out, "run: ") == 4 { // three services and ledger's logger
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("services not running after 30 s: %q", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let the services settle past runit's one-second start pacing.
	time.Sleep(1200 * time.Millisecond)
	start := time.Now()
	if _, err := benchDockerCmd("stop", name); err != nil {
		return 0, 0, err
	}
	took := time.Since(start)
	cmd := exec.Command("docker", "logs", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("docker logs: %w", err)
	}
	termed := 0
	for _, want := range []string{
		"web: finished (exit -1, signal 15)",
		"worker: finished (exit 143, signal 0)",
		"ledger: finished (exit 143, signal 0)",
	} {
		if strings.Contains(stderr.String(), want+"\n") {
			termed++
		}
	}
	return float64(took.Microseconds()) / 1000, termed, nil
}

func dockerImageMB(img string) (float64, error) {
	out, err := benchDockerCmd("image", "inspect", "-f", "{{.Size}}", img)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	return n / 1e6, err
}

func dockerMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
