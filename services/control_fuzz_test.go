package services_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/internal/testenv"
	"github.com/vigil-init/vigil/reaper"
	"github.com/vigil-init/vigil/services"
	"github.com/vigil-init/vigil/services/supervise"
)

// Layout bits of FuzzControl's service directory.
const (
	withFinish = 1 << iota // ./finish
	withLog                // log/run, a cat to /dev/null
	withHooks              // control/t, h, u, d, x: hooks that run and exit
	withPolicy             // vigil's opt-in files: readiness, down-signal, timeout-kill, restart-limit
)

// FuzzControl writes any bytes to a live service's supervise/control (and
// its logger's), as sv, svc, Debian's sv or a stray `echo >control` do,
// and holds the engine to runsv's contract: the loop still answers, the
// status files always decode and say what the last command asked, a pid
// is there exactly when something runs, and at shutdown everything stops,
// every process is reaped and no descriptor is left open.
func FuzzControl(f *testing.F) {
	// The bytes each sv command writes (sv.c), svc's, and runs of them.
	for _, seed := range []struct {
		ctl, logCtl string
		layout      uint8
	}{
		{"u", "", 0},
		{"d", "", withFinish},
		{"tcu", "", withLog}, // sv restart
		{"x", "", withLog | withFinish},
		{"o", "d", withLog},
		{"pc", "pc", withLog},
		{"h", "", withHooks},
		{"tc", "", withHooks | withLog}, // sv try-restart
		{"k", "k", withLog | withFinish},
		{"12aiq", "", 0},
		{"ud", "", withHooks},
		{"xu", "", withLog},
		{"pd", "", withFinish},
		{"dxu\n", "x", withLog | withHooks | withFinish},
		{"sCz\x00", "s", withLog},
		{"dudu", "", withPolicy},
		{"tk", "d", withPolicy | withLog | withFinish},
		{"pdc", "", withPolicy | withHooks},
	} {
		f.Add([]byte(seed.ctl), []byte(seed.logCtl), seed.layout)
	}
	closeOnExecInherited(f)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { devnull.Close() })
	f.Fuzz(func(t *testing.T, ctl, logCtl []byte, layout uint8) {
		if len(ctl) > 64 || len(logCtl) > 64 {
			t.Skip("more commands than a run needs; each may start a process")
		}
		hooks, hasLog := layout&withHooks != 0, layout&withLog != 0
		svc := filepath.Join(t.TempDir(), "s")
		files := map[string]string{"run": "#!/bin/sh\nexec sleep 120\n"}
		if layout&withFinish != 0 {
			files["finish"] = "#!/bin/sh\nexit 0\n"
		}
		if hasLog {
			files["log/run"] = "#!/bin/sh\nexec cat >/dev/null\n"
		}
		if hooks {
			// control/t does not handle TERM (exits 1), so that 'd' and the
			// shutdown still stop run; the others handle their command.
			files["control/t"] = "#!/bin/sh\nexit 1\n"
			for _, c := range "hudx" {
				files["control/"+string(c)] = "#!/bin/sh\nexit 0\n"
			}
		}
		if layout&withPolicy != 0 {
			// run says it is ready on fd 3, stops on HUP, and is KILLed
			// 200 ms after it if it lingers; the limit is never reached.
			files["run"] = "#!/bin/sh\necho >&3\nexec 3>&-\nexec sleep 120\n"
			files["notification-fd"] = "3\n"
			files["down-signal"] = "HUP\n"
			files["timeout-kill"] = "200\n"
			files["restart-limit"] = "1000 60\n"
		}
		writeService(t, svc, files)
		fds := openFDs(t)

		e, rp := fuzzEngine(t, devnull)
		if err := e.Add(svc, "s"); err != nil {
			t.Fatal(err)
		}
		go e.Run()
		sup, logSup := filepath.Join(svc, "supervise"), filepath.Join(svc, "log", "supervise")
		running := func(sup string) func() bool {
			return func() bool {
				st, err := supervise.ReadStatus(sup)
				return err == nil && st.State == supervise.Run && st.Pid != 0
			}
		}
		testenv.WaitFor(t, 10*time.Second, "run to start", running(sup))
		if hasLog {
			testenv.WaitFor(t, 10*time.Second, "log/run to start", running(logSup))
		}

		for _, w := range []struct {
			sup string
			b   []byte
		}{{sup, ctl}, {logSup, logCtl}} {
			if len(w.b) == 0 || (!hasLog && w.sup == logSup) {
				continue
			}
			if err := supervise.Send(w.sup, w.b); err != nil && err != supervise.ErrNotRunning {
				t.Fatalf("writing %q to %s/control: %v", w.b, w.sup, err)
			}
			testenv.WaitFor(t, 10*time.Second, "the engine to read "+strconv.Quote(string(w.b)), func() bool {
				n, err := unread(w.sup)
				return err != nil || n == 0 // err: the FIFO is gone, the service exited
			})
		}

		// Two turns of the loop: the first serves the bytes read, the
		// second comes after the status files of the first were written.
		alive := true
		for range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := e.Ping(ctx)
			cancel()
			if err != nil {
				select {
				case <-e.Done():
				default:
					t.Fatalf("after %q: the engine does not answer: %v", ctl, err)
				}
				if !bytes.ContainsRune(ctl, 'x') {
					t.Fatalf("after %q: the engine stopped without an 'x'", ctl)
				}
				alive = false
				break
			}
		}
		checkStatus(t, sup, ctl, alive && !hooks, wantAfter(ctl, 'u', false))
		if layout&withPolicy != 0 {
			checkExtended(t, sup, ctl)
		}
		if hasLog {
			// The logger's own hooks are never run and 'x' to it is
			// ignored, but the service's 'x' makes it exit in its turn.
			served := alive && !bytes.ContainsRune(ctl, 'x')
			checkStatus(t, logSup, logCtl, served, wantAfter(logCtl, 'u', true))
		}

		// A grace period of 100 ms: a process paused by 'p', or a logger
		// that cannot drain, is KILLed, as the caller of Shutdown does.
		e.Shutdown(time.Now().Add(100 * time.Millisecond))
		kill := time.AfterFunc(100*time.Millisecond, e.KillAll)
		defer kill.Stop()
		select {
		case <-e.Done():
		case <-time.After(30 * time.Second):
			t.Fatalf("after %q, %q: the engine did not stop within 30s of Shutdown", ctl, logCtl)
		}
		if n := rp.Running(); n != 0 {
			t.Errorf("after %q, %q and Shutdown: %d processes not reaped", ctl, logCtl, n)
		}
		if kids := children(t); len(kids) > 0 {
			t.Errorf("after %q, %q and Shutdown: children %v left", ctl, logCtl, kids)
		}
		for _, s := range []string{sup, logSup} {
			if s == logSup && !hasLog {
				continue
			}
			st, err := supervise.ReadStatus(s)
			if err != nil || st.State != supervise.Down || st.Pid != 0 {
				t.Errorf("after %q, %q and Shutdown: %s/status %+v, %v; want down, no pid", ctl, logCtl, s, st, err)
			}
			if s == sup && layout&withPolicy != 0 {
				checkExtended(t, sup, ctl)
			}
			if err := supervise.Alive(s); err != supervise.ErrNotRunning {
				t.Errorf("after Shutdown, %s/ok: %v; want %v", s, err, supervise.ErrNotRunning)
			}
		}
		if n := openFDs(t); n != fds {
			t.Errorf("after %q, %q and Shutdown: %d descriptors open, %d before", ctl, logCtl, n, fds)
		}
	})
}

// closeOnExecInherited marks every descriptor this process inherited
// close-on-exec. A fuzz worker inherits its pipes to the coordinator
// without it, so every service started here held them: one that outlived
// a worker KILLed at the end of -fuzztime kept the coordinator waiting for
// the pipe to close (a sleep's lifetime) after the last input.
func closeOnExecInherited(f *testing.F) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		f.Fatal(err)
	}
	for _, ent := range ents {
		if fd, err := strconv.Atoi(ent.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// fuzzEngine is engine() for one fuzz input: its own reaper, stopped and
// checked by the input itself rather than at cleanup.
func fuzzEngine(t *testing.T, devnull *os.File) (*services.Engine, *reaper.Reaper) {
	rp := reaper.New()
	sigc := make(chan os.Signal, 16)
	signal.Notify(sigc, syscall.SIGCHLD)
	stop, reaped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(reaped)
		for {
			select {
			case <-sigc:
				rp.Reap()
			case <-stop:
				return
			}
		}
	}()
	e, err := services.New(services.Config{
		Reaper: rp, Messages: io.Discard, Pace: time.Millisecond,
		Stdin: devnull, Stdout: devnull, Stderr: devnull,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Shutdown(time.Now())
		e.KillAll()
		select {
		case <-e.Done():
		case <-time.After(30 * time.Second):
		}
		signal.Stop(sigc)
		close(stop)
		<-reaped
	})
	return e, rp
}

// wantAfter is the want a status file holds after bytes: the last of
// u, d, o (and x, except for a logger) decides, as in runsv.
func wantAfter(b []byte, want byte, isLog bool) byte {
	for _, c := range b {
		switch c {
		case 'u':
			want = 'u'
		case 'd', 'o':
			want = 'd'
		case 'x':
			if !isLog {
				want = 'd'
			}
		}
	}
	return want
}

// checkStatus: the status file decodes, holds a pid exactly when a
// process runs (and TERM only for one), and, when every byte was served
// (the engine lives and no hook held any back), says the want last asked.
func checkStatus(t *testing.T, sup string, ctl []byte, served bool, want byte) {
	t.Helper()
	st, err := supervise.ReadStatus(sup)
	if err != nil {
		t.Fatalf("after %q: %s/status: %v", ctl, sup, err)
	}
	if (st.State == supervise.Down) != (st.Pid == 0) || (st.Term && st.Pid == 0) {
		t.Errorf("after %q: %s/status %+v; want a pid exactly when not down, TERM only with one", ctl, sup, st)
	}
	got := byte('d')
	if st.Want == supervise.WantUp {
		got = 'u'
	}
	if served && got != want {
		t.Errorf("after %q: %s/status says want %c; want %c", ctl, sup, got, want)
	}
}

// checkExtended: a service with opt-in files has a supervise/vigil that
// decodes.
func checkExtended(t *testing.T, sup string, ctl []byte) {
	t.Helper()
	if _, err := supervise.ReadExtended(sup); err != nil {
		t.Errorf("after %q: %s/%s: %v", ctl, sup, supervise.ExtendedName, err)
	}
}

// unread is how many bytes wait in a control FIFO.
func unread(sup string) (int, error) {
	fd, err := unix.Open(filepath.Join(sup, "control"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.IoctlGetInt(fd, unix.TIOCINQ)
}

// children lists this process's children, zombies included.
func children(t *testing.T) []string {
	self := strconv.Itoa(os.Getpid())
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, p := range procs {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[1] == self {
			kids = append(kids, p.Name()+" "+string(b[:bytes.LastIndexByte(b, ')')+1]))
		}
	}
	return kids
}
