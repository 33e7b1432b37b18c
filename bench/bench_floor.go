package main

// The floors: the smallest programs that do what a supervisor or a
// one-shot command must, built in the same run from bench/floor/. A ratio
// to a floor says what vigil adds beyond what C, or Go, costs anyway.

import (
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed floor/*.c floor/*.go
var floorSrc embed.FS

// floors are the built floor programs; a path is "" where it could not be
// built, and why says why.
type floors struct {
	CIdle  string // blocks in epoll_wait: the memory floor
	CExit  string // exits at once: the start-up floor
	CSpawn string // forks and execs DIR/run for each DIR, then pauses: the spawn floor
	Pause  string // a service's run: marks itself up and pauses (a shell script without a C compiler)
	GoExit string // a static Go main that exits at once
	GoIdle string // the smallest static Go program that blocks in epoll_wait
	GoLink string // exits at once, linking the standard packages vigil links
	WhyC   string
	WhyGo  string
}

// buildFloors compiles the floors into dir with the system's C compiler
// (static, as vigil is) and the Go toolchain that runs the bench.
func buildFloors(dir string) *floors {
	f := &floors{}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.WhyC, f.WhyGo = err.Error(), err.Error()
		return f
	}
	ents, _ := floorSrc.ReadDir("floor")
	for _, ent := range ents {
		b, _ := floorSrc.ReadFile("floor/" + ent.Name())
		os.WriteFile(filepath.Join(dir, ent.Name()), b, 0o644)
	}
	cc := ""
	for _, name := range []string{os.Getenv("CC"), "cc", "gcc", "clang"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			cc = p
			break
		}
	}
	if cc == "" {
		f.WhyC = "no C compiler (cc, gcc, clang) on PATH"
	} else {
		for _, p := range []struct {
			out *string
			src string
		}{{&f.CIdle, "idle"}, {&f.CExit, "exit"}, {&f.CSpawn, "spawn"}, {&f.Pause, "pause"}} {
			out := filepath.Join(dir, "c-"+p.src)
			cmd := exec.Command(cc, "-static", "-Os", "-s", "-o", out, filepath.Join(dir, p.src+".c"))
			if b, err := cmd.CombinedOutput(); err != nil {
				f.WhyC = fmt.Sprintf("%s -static %s.c: %v: %s", cc, p.src, err, strings.TrimSpace(string(b)))
				f.CIdle, f.CExit, f.CSpawn, f.Pause = "", "", "", ""
				break
			}
			*p.out = out
		}
	}
	if f.Pause == "" {
		f.Pause = filepath.Join(dir, "pause.sh")
		os.WriteFile(f.Pause, []byte("#!/bin/sh\n[ -n \"$MARKS\" ] && : >\"$MARKS/${PWD##*/}\"\nexec sleep 1000000000\n"), 0o755)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	for _, p := range []struct {
		out *string
		src string
	}{{&f.GoExit, "exit"}, {&f.GoIdle, "idle"}, {&f.GoLink, "linked"}} {
		out := filepath.Join(dir, "go-"+p.src)
		// Built as vigil is (make build): static, trimmed, stripped.
		cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, p.src+".go")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			f.WhyGo = fmt.Sprintf("go build %s.go: %v: %s", p.src, err, strings.TrimSpace(string(b)))
			continue
		}
		*p.out = out
	}
	return f
}
