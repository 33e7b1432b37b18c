package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The svlogd suite feeds vigil's and Debian's svlogd the same 200 MB of
// log lines with -tt and s1000000, and measures how soon a line written
// into an idle pipe is in current.
func init() {
	register("svlogd", func(e *Env) ([]Row, error) {
		peer := e.Peer("svlogd")
		if peer == "" {
			return nil, errors.New("Debian's svlogd is not unpacked; run scripts/peers.sh")
		}
		impls := []struct {
			name string
			argv []string
		}{
			{"vigil", []string{e.Vigil, "svlogd"}},
			{"runit svlogd", []string{peer}},
		}
		block, lines := svlogdBlock()
		const total = 200 << 20
		reps := total / len(block)
		var tp, tpBig [2]svlogdThroughput
		var lat [2][]time.Duration
		var stamps [2]int
		var loss [2]svlogdLoss
		for i, im := range impls {
			dir := filepath.Join(e.Tmp, fmt.Sprintf("tp%d", i))
			r, err := svlogdRun(im.argv, dir, block, reps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", im.name, err)
			}
			tp[i] = r
			fmt.Fprintf(e.Log, "svlogd: %s: %d bytes in %v, peak RSS %d kB\n", im.name, reps*len(block), r.elapsed, r.maxrssKB)
			big := append(slices.Clone(im.argv), "-b", "65536")
			if tpBig[i], err = svlogdRun(big, filepath.Join(e.Tmp, fmt.Sprintf("tpb%d", i)), block, reps); err != nil {
				return nil, fmt.Errorf("%s -b 65536: %w", im.name, err)
			}
			fmt.Fprintf(e.Log, "svlogd: %s -b 65536: %d bytes in %v\n", im.name, reps*len(block), tpBig[i].elapsed)
			if lat[i], err = svlogdLatency(im.argv, filepath.Join(e.Tmp, fmt.Sprintf("lat%d", i)), 300); err != nil {
				return nil, fmt.Errorf("%s: latency: %w", im.name, err)
			}
			if stamps[i], err = svlogdStamps(im.argv, filepath.Join(e.Tmp, fmt.Sprintf("st%d", i)), block, lines, 1000000); err != nil {
				return nil, fmt.Errorf("%s: stamps: %w", im.name, err)
			}
			fmt.Fprintf(e.Log, "svlogd: %s -t: %d distinct stamps for 1000000 lines\n", im.name, stamps[i])
			if loss[i], err = svlogdKillLoss(im.argv, filepath.Join(e.Tmp, fmt.Sprintf("kill%d", i)), 20); err != nil {
				return nil, fmt.Errorf("%s: KILL: %w", im.name, err)
			}
			fmt.Fprintf(e.Log, "svlogd: %s: a KILL mid-stream lost at most %d lines (%d bytes), mean %.1f lines, over %d trials\n",
				im.name, loss[i].maxLines, loss[i].maxLines*svlogdKillLine, loss[i].mean, loss[i].trials)
		}
		mb := float64(reps*len(block)) / 1e6
		nl := float64(reps * lines)
		pct := func(d []time.Duration, p float64) float64 {
			s := slices.Clone(d)
			slices.Sort(s)
			return float64(s[int(p*float64(len(s)-1))].Microseconds())
		}
		peerName := "runit svlogd"
		return []Row{
			{Metric: "throughput, 200 MB -tt s1000000", Unit: "MB/s", Vigil: mb / tp[0].elapsed.Seconds(), Peer: mb / tp[1].elapsed.Seconds(), Name: peerName, Higher: true, Goal: "≥ 3×"},
			{Metric: "lines/s, 200 MB -tt s1000000", Unit: "lines/s", Vigil: nl / tp[0].elapsed.Seconds(), Peer: nl / tp[1].elapsed.Seconds(), Name: peerName, Higher: true, Goal: "≥ 3×"},
			{Metric: "lines/s, 200 MB -tt s1000000 -b 65536", Unit: "lines/s", Vigil: nl / tpBig[0].elapsed.Seconds(), Peer: nl / tpBig[1].elapsed.Seconds(), Name: peerName, Higher: true, Goal: "≥ 3×"},
			{Metric: "distinct -t stamps, 1,000,000 lines", Unit: "stamps", Vigil: float64(stamps[0]), Peer: float64(stamps[1]), Name: peerName, Higher: true, Goal: "1,000,000"},
			{Metric: "lines lost to a KILL mid-stream, worst of 20, -b 1024, 40-byte lines", Unit: "lines", Vigil: float64(loss[0].maxLines), Peer: float64(loss[1].maxLines), Name: peerName, Goal: "≤ one buffer"},
			{Metric: "peak RSS during throughput", Unit: "MB", Vigil: float64(tp[0].maxrssKB) / 1024, Peer: float64(tp[1].maxrssKB) / 1024, Name: peerName, Goal: "a few MB"},
			{Metric: "latency idle pipe → current, median", Unit: "µs", Vigil: pct(lat[0], 0.5), Peer: pct(lat[1], 0.5), Name: peerName, Goal: "< 1000 µs"},
			{Metric: "latency idle pipe → current, p99", Unit: "µs", Vigil: pct(lat[0], 0.99), Peer: pct(lat[1], 0.99), Name: peerName, Goal: "< 1000 µs"},
		}, nil
	})
}

// svlogdBlock returns about 1 MB of realistic, varied log lines and how
// many lines it holds.
func svlogdBlock() ([]byte, int) {
	var b strings.Builder
	paths := []string{"/", "/api/v1/users", "/static/app.js", "/healthz", "/api/v1/orders/12345/items"}
	levels := []string{"INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"}
	n := 0
	for b.Len() < 1<<20 {
		switch n % 7 {
		case 0:
			fmt.Fprintf(&b, "%s 10.0.%d.%d - - \"GET %s HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
				levels[n%len(levels)], n%256, n*7%256, paths[n%len(paths)], []int{200, 200, 304, 404, 500}[n%5], n*37%50000)
		case 3:
			fmt.Fprintf(&b, "%s worker[%d]: job %d finished in %d.%03ds, queue depth %d\n", levels[n%len(levels)], n%16, n, n%9, n%1000, n%120)
		default:
			fmt.Fprintf(&b, "%s request_id=%08x method=POST path=%s status=200 duration_ms=%d bytes=%d\n", levels[n%len(levels)], n*2654435761, paths[n%len(paths)], n%900, n*13%8192)
		}
		n++
	}
	return []byte(b.String()), n
}

type svlogdThroughput struct {
	elapsed  time.Duration
	maxrssKB int64
}

// svlogdRun pipes reps copies of block through one svlogd -tt process.
func svlogdRun(argv []string, dir string, block []byte, reps int) (svlogdThroughput, error) {
	if err := os.MkdirAll(dir, 0755); err != nil {
		return svlogdThroughput{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("s1000000\n"), 0644); err != nil {
		return svlogdThroughput{}, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], "-tt", dir)...)
	r, w, err := os.Pipe()
	if err != nil {
		return svlogdThroughput{}, err
	}
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return svlogdThroughput{}, err
	}
	r.Close()
	// ru_maxrss would count the bench's own pages from before exec, so
	// sample the process's high-water mark instead.
	stop := make(chan struct{})
	hwm := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > peak {
				peak = v
			}
			select {
			case <-stop:
				hwm <- peak
				return
			case <-t.C:
			}
		}
	}()
	var werr error
	for range reps {
		if _, werr = w.Write(block); werr != nil {
			break
		}
	}
	w.Close()
	// Reap only after the last sample: wait for the exit without reaping.
	var info unix.Siginfo
	unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
	elapsed := time.Since(begin)
	close(stop)
	res := svlogdThroughput{elapsed: elapsed, maxrssKB: <-hwm}
	err = cmd.Wait()
	if err == nil {
		err = werr
	}
	return res, err
}

// vmHWM is a process's peak resident set in kB, from /proc.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return 0
}

// svlogdLatency writes n single lines into an idle pipe, one at a time,
// and measures each until inotify reports current modified.
func svlogdLatency(argv []string, dir string, n int) ([]time.Duration, error) {
	if err := os.MkdirAll(dir, 0755); err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], "-tt", dir)...)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r.Close()
	defer func() { w.Close(); cmd.Wait() }()
	cur := filepath.Join(dir, "current")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(cur); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no current")
		}
		time.Sleep(time.Millisecond)
	}
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(ifd)
	if _, err := unix.InotifyAddWatch(ifd, cur, unix.IN_MODIFY); err != nil {
		return nil, err
	}
	line := []byte("2026-01-01 web[42]: GET /healthz 200 0.4ms\n")
	buf := make([]byte, 4096)
	var out []time.Duration
	for range n {
		time.Sleep(3 * time.Millisecond) // let svlogd go idle in poll
		begin := time.Now()
		if _, err := w.Write(line); err != nil {
			return nil, err
		}
		fds := []unix.PollFd{{Fd: int32(ifd), Events: unix.POLLIN}}
		for {
			k, err := unix.Poll(fds, 2000)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return nil, err
			}
			if k == 0 {
				return nil, errors.New("line did not reach current within 2 s")
			}
			break
		}
		out = append(out, time.Since(begin))
		unix.Read(ifd, buf)
	}
	return out, nil
}

// svlogdStamps pipes n lines through svlogd -t (no rotation) and counts
// the distinct stamps in current.
func svlogdStamps(argv []string, dir string, block []byte, blockLines, n int) (int, error) {
	if err := os.MkdirAll(dir, 0755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("s0\n"), 0644); err != nil {
		return 0, err
	}
	var in []byte
	for left := n; left > 0; {
		if left >= blockLines {
			in = append(in, block...)
			left -= blockLines
			continue
		}
		rest := block
		for range left {
			i := slices.Index(rest, '\n')
			in = append(in, rest[:i+1]...)
			rest = rest[i+1:]
		}
		left = 0
	}
	cmd := exec.Command(argv[0], append(argv[1:], "-t", dir)...)
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	r.Close()
	_, werr := w.Write(in)
	w.Close()
	if err := cmd.Wait(); err != nil {
		return 0, err
	}
	if werr != nil {
		return 0, werr
	}
	out, err := os.ReadFile(filepath.Join(dir, "current"))
	if err != nil {
		return 0, err
	}
	seen := make(map[string]struct{}, n)
	got := 0
	for line := range strings.Lines(string(out)) {
		if len(line) > 25 {
			seen[line[:25]] = struct{}{}
		}
		got++
	}
	if got != n {
		return 0, fmt.Errorf("current holds %d lines; want %d", got, n)
	}
	return len(seen), nil
}

// svlogdKillLine is the length of the numbered lines of the KILL trials.
const svlogdKillLine = 40

type svlogdLoss struct {
	maxLines, trials int
	mean             float64
}

// svlogdKillLoss streams numbered lines into svlogd through a pipe whose
// read end the bench keeps open (as a supervisor does), KILLs svlogd at a
// varying moment, and counts the lines that are neither in the log
// directory nor still in the pipe.
func svlogdKillLoss(argv []string, dir string, trials int) (svlogdLoss, error) {
	res := svlogdLoss{trials: trials}
	total := 0
	for i := range trials {
		d := filepath.Join(dir, fmt.Sprint(i))
		lost, err := svlogdKillOnce(argv, d, time.Duration(i%10+1)*7*time.Millisecond)
		if err != nil {
			return res, err
		}
		total += lost
		res.maxLines = max(res.maxLines, lost)
	}
	res.mean = float64(total) / float64(trials)
	return res, nil
}

func svlogdKillOnce(argv []string, dir string, after time.Duration) (int, error) {
	if err := os.MkdirAll(dir, 0755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("s0\n"), 0644); err != nil {
		return 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd := exec.Command(argv[0], append(argv[1:], dir)...)
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, err
	}
	var written atomic.Int64
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		var block []byte
		for n := int64(0); !stop.Load(); {
			block = block[:0]
			for len(block) < 4096-svlogdKillLine { // whole lines, one atomic write
				block = fmt.Appendf(block, "seq=%010d padding to forty bytes..\n", n)
				n++
			}
			if _, err := w.Write(block); err != nil {
				return
			}
			written.Store(n)
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "current")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return 0, errors.New("no current")
		}
	}
	time.Sleep(after) // into the stream: the moment of the KILL varies by trial
	cmd.Process.Kill()
	cmd.Wait()
	stop.Store(true)
	var rest []byte
	buf := make([]byte, 1<<16)
	for {
		r.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := r.Read(buf)
		rest = append(rest, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil { // EOF: the writer is done and the pipe empty
			break
		}
	}
	<-done
	seen := map[int64]bool{}
	logged, err := os.ReadFile(filepath.Join(dir, "current"))
	if err != nil {
		return 0, err
	}
	for _, text := range [][]byte{logged, rest} {
		for line := range strings.Lines(string(text)) {
			var v int64
			if _, err := fmt.Sscanf(line, "seq=%d ", &v); err == nil {
				seen[v] = true
			}
		}
	}
	lost := 0
	for i := range written.Load() {
		if !seen[i] {
			lost++
		}
	}
	return lost, nil
}
