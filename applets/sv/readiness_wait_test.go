package sv

import (
	"sync"
	"testing"
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// scene is a fake supervisor with readiness: its status and its
// supervise/vigil, changed together under one lock.
type scene struct {
	t  *testing.T
	f  *fake
	mu sync.Mutex
	st supervise.Status
	x  *supervise.Extended // nil: no file written (yet)
}

func (s *scene) write() {
	if s.x != nil {
		s.f.setExtended(s.t, *s.x)
	}
	s.f.set(s.t, s.st)
}

// started is what a supervisor writes when it starts pid: the process,
// and readiness cleared.
func started(pid int, want supervise.Want) supervise.Status {
	return supervise.Status{Since: time.Now(), Pid: pid, Want: want, State: supervise.Run}
}

// TestWaitReadiness: where supervise/vigil names a readiness source, the
// waits of up, start, restart and check end when the new process is
// ready, never earlier; not ready by the deadline is runit's timeout;
// check of a failed service fails at once. Without a readiness source
// the waits are runit's.
//
// "later" is the supervisor's next step, taken once sv has looked at
// supervise/vigil a few times after the supervisor answered its command
// (or, for check, which sends none, from the start), so sv has had every
// chance to answer too early.
func TestWaitReadiness(t *testing.T) {
	downDown := supervise.Status{Since: time.Now(), Want: supervise.WantDown}
	downUp := supervise.Status{Since: time.Now(), Want: supervise.WantUp}
	notify := func(pid int) *supervise.Extended { return &supervise.Extended{Pid: pid, Notify: "fd"} }
	readyNow := func(pid int) *supervise.Extended {
		return &supervise.Extended{Pid: pid, Notify: "fd", Ready: time.Now()}
	}
	// starts answers byte c by starting pid 12, not ready yet.
	starts := func(c byte) func(byte, *scene) {
		return func(b byte, s *scene) {
			if b == c {
				s.st, s.x = started(12, supervise.WantUp), notify(12)
				s.write()
			}
		}
	}
	becomesReady := func(s *scene) { s.x = readyNow(s.st.Pid); s.write() }
	for _, tc := range []struct {
		name   string
		args   []string
		env    []string
		st     supervise.Status
		x      *supervise.Extended
		answer func(c byte, s *scene) // the supervisor's answer to each control byte
		later  func(s *scene)
		want   string
		rc     int
	}{
		{"up: ready arrives later", []string{"-w", "10", "up"}, nil, downDown, notify(0),
			starts('u'), becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"up: not ready by the deadline", []string{"-w", "1", "up"}, nil, downDown, notify(0),
			starts('u'), nil,
			"timeout: run: db: (pid 12) 0s, not ready\n", 1},
		{"-v up: ready arrives later", []string{"-v", "up"}, []string{"SVWAIT=10"}, downDown, notify(0),
			starts('u'), becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"start: ready arrives later", []string{"start"}, []string{"SVWAIT=10"}, downDown, notify(0),
			starts('u'), becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"start: not ready by the deadline", []string{"start"}, []string{"SVWAIT=1"}, downDown, notify(0),
			starts('u'), nil,
			"timeout: run: db: (pid 12) 0s, not ready\n", 1},
		{"restart: ready arrives later", []string{"-w", "10", "restart"}, nil,
			started(11, supervise.WantUp), readyNow(11),
			starts('u'), becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		// The supervisor replaced status first; supervise/vigil still says
		// the old process was ready.
		{"restart: readiness of the old process", []string{"-w", "10", "restart"}, nil,
			started(11, supervise.WantUp), readyNow(11),
			func(c byte, s *scene) {
				if c == 'u' {
					s.st = started(12, supervise.WantUp)
					s.write()
				}
			}, becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"restart: not ready by the deadline", []string{"-w", "1", "restart"}, nil,
			started(11, supervise.WantUp), readyNow(11),
			starts('u'), nil,
			"timeout: run: db: (pid 12) 0s, not ready\n", 1},
		{"force-restart: not ready by the deadline", []string{"-w", "1", "force-restart"}, nil,
			started(11, supervise.WantUp), readyNow(11),
			starts('u'), nil,
			"kill: run: db: (pid 12) 0s, not ready\n", 1},
		{"check: ready arrives later", []string{"-w", "10", "check"}, nil,
			started(12, supervise.WantUp), notify(12),
			nil, becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"check: not ready by the deadline", []string{"-w", "1", "check"}, nil,
			started(12, supervise.WantUp), notify(12),
			nil, nil,
			"timeout: run: db: (pid 12) 0s, not ready\n", 1},
		{"check: ready", []string{"-w", "1", "check"}, nil,
			started(12, supervise.WantUp), readyNow(12),
			nil, nil,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"check: unhealthy", []string{"-w", "1", "check"}, nil,
			started(12, supervise.WantUp), &supervise.Extended{Pid: 12, Notify: "fd", Ready: time.Now(), Unhealthy: true},
			nil, nil,
			"timeout: run: db: (pid 12) 0s, ready 0s, unhealthy\n", 1},
		{"check: failed fails at once", []string{"-w", "10", "check"}, nil,
			downUp, &supervise.Extended{Notify: "fd", Failed: true},
			nil, nil,
			"fail: down: db: 0s, normally up, want up, failed\n", 1},
		{"check: failed without readiness source", []string{"-w", "10", "check"}, nil,
			downUp, &supervise.Extended{Failed: true, Restarts: 4},
			nil, nil,
			"fail: down: db: 0s, normally up, want up, failed\n", 1},
		{"up: clears failed, then ready", []string{"-w", "10", "up"}, nil,
			downUp, &supervise.Extended{Notify: "fd", Failed: true},
			starts('u'), becomesReady,
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"up: stays failed", []string{"-w", "1", "up"}, nil,
			downUp, &supervise.Extended{Notify: "fd", Failed: true},
			func(byte, *scene) {}, nil, // read, and ignored
			"timeout: down: db: 0s, normally up, want up, failed\n", 1},
		{"up: waiting for a dependency", []string{"-w", "1", "up"}, nil, downDown, notify(0),
			func(c byte, s *scene) {
				if c == 'u' {
					s.st.Want, s.x = supervise.WantUp, &supervise.Extended{Notify: "fd", Waiting: []string{"base"}}
					s.write()
				}
			}, nil,
			"timeout: down: db: 0s, normally up, want up, waiting for base\n", 1},
		{"up: the dependency gets ready, then the service", []string{"-w", "10", "up"}, nil, downDown, notify(0),
			func(c byte, s *scene) {
				if c == 'u' {
					s.st.Want, s.x = supervise.WantUp, &supervise.Extended{Notify: "fd", Waiting: []string{"base"}}
					s.write()
				}
			}, func(s *scene) {
				s.st, s.x = started(12, supervise.WantUp), readyNow(12)
				s.write()
			},
			"ok: run: db: (pid 12) 0s, ready 0s\n", 0},
		{"up: no readiness source, runit's wait", []string{"-w", "10", "up"}, nil,
			downDown, &supervise.Extended{Restarts: 2},
			func(c byte, s *scene) {
				if c == 'u' {
					s.st, s.x = started(12, supervise.WantUp), &supervise.Extended{Pid: 12, Restarts: 2}
					s.write()
				}
			}, nil,
			"ok: run: db: (pid 12) 0s\n", 0},
		{"down: readiness does not matter", []string{"-w", "10", "down"}, nil,
			started(12, supervise.WantUp), notify(12),
			func(c byte, s *scene) {
				if c == 'd' {
					s.st, s.x = supervise.Status{Since: time.Now(), Want: supervise.WantDown}, notify(0)
					s.write()
				}
			}, nil,
			"ok: down: db: 0s, normally up\n", 0},
		{"once: runs, not ready yet", []string{"-w", "10", "once"}, nil, downDown, notify(0),
			func(c byte, s *scene) {
				if c == 'o' {
					s.st, s.x = started(12, supervise.WantDown), notify(12)
					s.write()
				}
			}, nil,
			"ok: run: db: (pid 12) 0s, want down, not ready\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svdir := t.TempDir()
			dir := makeService(t, svdir, "db", "exec sleep 100")
			s := &scene{t: t, f: newFake(t, dir), st: tc.st}
			// The times of the table are from before the parallel wait.
			s.st.Since = time.Now()
			if tc.x != nil {
				x := *tc.x
				if !x.Ready.IsZero() {
					x.Ready = s.st.Since
				}
				s.x = &x
			}
			s.write()
			answered := make(chan struct{})
			if tc.answer == nil {
				close(answered)
			} else {
				var once sync.Once
				s.f.serve(t, func(c byte) {
					s.mu.Lock()
					defer s.mu.Unlock()
					before := s.st
					tc.answer(c, s)
					if s.st != before {
						once.Do(func() { close(answered) })
					}
				})
			}
			svDone := make(chan struct{})
			var laterAt time.Time
			stepped := make(chan struct{})
			if tc.later != nil {
				looks := opens(t, supervise.Locate(dir))
				go func() {
					defer close(stepped)
					select {
					case <-answered:
					case <-svDone:
						return
					}
					for len(looks) > 0 {
						<-looks
					}
					for range 3 {
						select {
						case <-looks:
						case <-svDone:
							return
						}
					}
					s.mu.Lock()
					defer s.mu.Unlock()
					tc.later(s)
					laterAt = time.Now()
				}()
			} else {
				close(stepped)
			}
			got := vigilSv(t).run(t, svEnv(svdir, tc.env...), append(tc.args, "db")...)
			close(svDone)
			<-stepped
			if !sameLine(got.stdout, tc.want) || got.rc != tc.rc {
				t.Errorf("got %s\nwant %q, rc %d", got, tc.want, tc.rc)
			}
			if tc.later != nil && laterAt.IsZero() {
				t.Errorf("sv ended before the supervisor's next step")
			}
			wait := 10 * time.Second
			if tc.want[:5] == "timeo" || tc.want[:5] == "kill:" {
				wait = time.Second
				if got.took < wait {
					t.Errorf("timed out after %v, before its deadline of %v", got.took, wait)
				}
			}
			if tc.want[:5] == "fail:" && got.took > wait/2 {
				t.Errorf("failing took %v", got.took)
			}
		})
	}
}
