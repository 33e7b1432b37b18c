package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const dockerV1Cgroup = `9:name=systemd:/docker/e50b
4:memory:/docker/e50b
3:cpuset:/docker/e50b
0::/docker/e50b
`

// What Docker on cgroup v1 shows inside a container (no cgroup namespace).
const dockerV1Mountinfo = `77 76 0:46 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
81 77 0:32 /docker/e50b /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
80 77 0:31 /docker/e50b /sys/fs/cgroup/cpuset ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpuset
`

// The host's hybrid layout: v1 controllers and an empty unified v2.
const hostCgroup = `4:memory:/process_api/a1a1
3:cpu,cpuacct:/
0::/
`
const hostMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// Kubernetes on cgroup v2 with a cgroup namespace.
const v2Cgroup = "0::/\n"
const v2Mountinfo = `700 690 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name             string
		cgroup, mounts   string
		files            []string
		want             *Cgroup
		wantNoMemoryCgrp bool
	}{
		{"docker v1", dockerV1Cgroup, dockerV1Mountinfo, []string{"/sys/fs/cgroup/memory/memory.oom_control"},
			&Cgroup{Dir: "/sys/fs/cgroup/memory"}, false},
		{"host v1 below the root", hostCgroup, hostMountinfo, []string{"/sys/fs/cgroup/memory/process_api/a1a1/memory.oom_control"},
			&Cgroup{Dir: "/sys/fs/cgroup/memory/process_api/a1a1"}, false},
		{"hybrid: v2 without the memory controller", hostCgroup, hostMountinfo,
			[]string{"/sys/fs/cgroup/unified/cgroup.procs", "/sys/fs/cgroup/memory/process_api/a1a1/memory.oom_control"},
			&Cgroup{Dir: "/sys/fs/cgroup/memory/process_api/a1a1"}, false},
		{"v2 in a namespace", v2Cgroup, v2Mountinfo, []string{"/sys/fs/cgroup/memory.events"},
			&Cgroup{Dir: "/sys/fs/cgroup", V2: true}, false},
		{"v2 below the mount", "0::/kubepods/pod1/c1\n", v2Mountinfo, []string{"/sys/fs/cgroup/kubepods/pod1/c1/memory.events"},
			&Cgroup{Dir: "/sys/fs/cgroup/kubepods/pod1/c1", V2: true}, false},
		{"a path with a colon", "0::/a:b\n", v2Mountinfo, []string{"/sys/fs/cgroup/a:b/memory.events"},
			&Cgroup{Dir: "/sys/fs/cgroup/a:b", V2: true}, false},
		{"escaped mount point", v2Cgroup, `1 0 0:27 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n", []string{"/sys/fs/my cgroup/memory.events"},
			&Cgroup{Dir: "/sys/fs/my cgroup", V2: true}, false},
		{"outside the mount's root", "4:memory:/other\n", dockerV1Mountinfo, []string{"/sys/fs/cgroup/memory/memory.oom_control"},
			&Cgroup{Dir: "/sys/fs/cgroup/memory"}, false},
		{"not mounted", dockerV1Cgroup, "77 76 0:46 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", nil, nil, true},
		{"no memory controller", "3:cpuset:/\n", dockerV1Mountinfo, []string{"/sys/fs/cgroup/memory/memory.oom_control"}, nil, true},
		{"empty files", "", "", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := map[string]bool{}
			for _, f := range tc.files {
				have[f] = true
			}
			got, err := find([]byte(tc.cgroup), []byte(tc.mounts), func(p string) bool { return have[p] })
			if tc.wantNoMemoryCgrp {
				if !errors.Is(err, ErrNoMemoryCgroup) {
					t.Errorf("got %+v, %v; want ErrNoMemoryCgroup", got, err)
				}
				return
			}
			if err != nil || *got != *tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       uint64
		err        error
	}{
		{"v2 memory.events", "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n", 2, nil},
		{"v1 memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", 7, nil},
		{"v1 before 4.13", "oom_kill_disable 0\nunder_oom 0\n", 0, ErrNoCount},
		{"oom_group_kill alone is not it", "oom_group_kill 4\n", 0, ErrNoCount},
		{"empty", "", 0, ErrNoCount},
	} {
		got, err := parseCount([]byte(tc.text))
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %d, %v; want %d, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	if _, err := parseCount([]byte("oom_kill lots\n")); err == nil {
		t.Errorf("oom_kill lots: got no error")
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func events(n string) string {
	return "low 0\nhigh 0\nmax 5\noom 1\noom_kill " + n + "\noom_group_kill 0\n"
}

// v2: the watcher wakes on IN_MODIFY of memory.events, as the kernel
// raises it, and reports the count only when it grew.
func TestWatchV2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "memory.events")
	writeFile(t, path, events("3"))
	c := &Cgroup{Dir: dir, V2: true}
	got := make(chan uint64, 10)
	stop, err := c.WatchOOM(func(n uint64) { got <- n })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	writeFile(t, path, events("3")) // modified, not grown: nothing
	writeFile(t, path, events("4"))
	select {
	case n := <-got:
		if n != 4 {
			t.Errorf("first report: got %d; want 4 (3 was the count at the start)", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no report 30 s after oom_kill went from 3 to 4")
	}
	writeFile(t, path, events("6"))
	if n := <-got; n != 6 {
		t.Errorf("second report: got %d; want 6", n)
	}
	stop()
	select {
	case n := <-got:
		t.Errorf("a report after stop: %d", n)
	default:
	}
}

// v1 where cgroup.event_control cannot be written (Docker's read-only
// mount): WatchOOM says so, and the count can still be read.
func TestWatchV1ReadOnly(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	c := &Cgroup{Dir: dir}
	if stop, err := c.WatchOOM(func(uint64) {}); !errors.Is(err, ErrCannotWatch) {
		if stop != nil {
			stop()
		}
		t.Errorf("WatchOOM without cgroup.event_control: got %v; want ErrCannotWatch", err)
	}
	if n, err := c.OOMKills(); n != 1 || err != nil {
		t.Errorf("OOMKills: got %d, %v; want 1", n, err)
	}
}

func TestKillAttributor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "memory.events")
	writeFile(t, path, events("2"))
	a, err := NewKillAttributor(&Cgroup{Dir: dir, V2: true})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		count string
		want  bool
	}{
		{"2", false}, // a KILL from a user: the count did not move
		{"4", true},  // two services in one OOM: one each
		{"4", true},
		{"4", false},
	}
	for i, s := range steps {
		writeFile(t, path, events(s.count))
		if got := a.OOMKilled(); got != s.want {
			t.Errorf("death %d with oom_kill %s: OOMKilled %v; want %v", i+1, s.count, got, s.want)
		}
	}
	if !strings.HasSuffix((&Cgroup{Dir: dir}).countFile(), "memory.oom_control") {
		t.Errorf("v1 count file: got %s", (&Cgroup{Dir: dir}).countFile())
	}
}
