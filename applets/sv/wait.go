package sv

import (
	"time"

	"github.com/vigil-init/vigil/services/supervise"
)

// Timing of the wait phase.
//
// For its first fastPhase sv polls every fastPoll (per 10 services) and
// uses no inotify: a healthy supervisor answers within milliseconds, and
// tearing an inotify instance down costs the exiting process an SRCU grace
// period (measured: 0 to 25 ms, more than the whole restart). After that
// it waits on file events, polling every pollWatched as a safety net (a
// lost watch, a check script that has not passed yet), or every
// pollUnwatched where inotify is unavailable.
const (
	fastPhase     = 100 * time.Millisecond
	fastPoll      = time.Millisecond
	pollWatched   = 50 * time.Millisecond
	pollUnwatched = 10 * time.Millisecond
	// checkEvery spaces the runs of a ./check that failed; runit runs it
	// every 420 ms.
	checkEvery = 20 * time.Millisecond
	// round is runit's sleep between two looks at every service.
	round = 420 * time.Millisecond
	// minWait: runit looks once, after its first sleep, before it can
	// time out, so -w 0 means "if it is done by then", not "fail".
	minWait = round
)

// waitAll is sv's wait phase: it re-checks every pending service whenever
// one of their supervise directories changes, until each is satisfied,
// gone, or out of time. runit polls every 420 ms and gives up when more
// than wait seconds have passed since sv started; so does vigil, without
// the polling.
func (r *run) waitAll(cmd command, svcs []*service, start time.Time) {
	var w *watcher
	defer func() {
		if w != nil {
			w.close()
		}
	}()
	wait := max(r.wait, minWait)
	deadline := start.Add(wait)
	r.deadline = deadline
	fastUntil := time.Now().Add(fastPhase)
	defer func() { r.held = nil }()
	for {
		now := time.Now()
		left := 0
		for _, s := range svcs {
			if s.done {
				continue
			}
			r.held = &s.out
			if r.check(s, cmd.acts, now) != 0 {
				s.done, s.doneAt = true, now
				continue
			}
			if now.Sub(start) > wait {
				r.timeout(s, cmd, now)
				s.done, s.doneAt = true, now
				continue
			}
			left++
		}
		r.writeDone(svcs, now)
		if left == 0 {
			return
		}
		if now.Before(fastUntil) {
			d := fastPoll * time.Duration(1+left/10)
			if untilDeadline := time.Until(deadline) + time.Millisecond; untilDeadline < d {
				d = max(untilDeadline, 0)
			}
			time.Sleep(d)
			continue
		}
		if w == nil {
			// Watch, then look again before sleeping: a change made
			// before the watch existed is seen by that look.
			w = newWatcher()
			for _, s := range svcs {
				if !s.done {
					w.add(supervise.Locate(s.dir))
				}
			}
			continue
		}
		d := pollWatched
		if !w.ok() {
			d = pollUnwatched
		}
		if untilDeadline := time.Until(deadline) + time.Millisecond; untilDeadline < d {
			d = max(untilDeadline, time.Millisecond)
		}
		w.wait(d)
	}
}

// writeDone writes the lines of the services that are done, in the order
// they were named, as runit writes those it finds done in one look. A line
// waits behind an earlier service still pending for at most one of runit's
// rounds; then it goes out, as it would in runit's next look.
func (r *run) writeDone(svcs []*service, now time.Time) {
	behind := false
	for _, s := range svcs {
		switch {
		case s.written:
		case !s.done:
			behind = true
		case !behind || now.Sub(s.doneAt) >= round:
			r.stdout.Write(s.out)
			s.written = true
		}
	}
}

// timeout prints "timeout:" or "kill:" and the status, and for the force
// commands sends 'k', as runit does.
func (r *run) timeout(s *service, cmd command, now time.Time) {
	if cmd.kill {
		r.outs("kill: ")
	} else {
		r.outs("timeout: ")
	}
	if st, ext, g := r.look(s.name, s.dir, false, cmd.acts[0], true); g > 0 {
		r.buf, _ = r.statusLine(r.buf, s.name, s.name, s.dir, st, ext, now)
		r.rc++
	}
	r.outs("\n")
	r.flush()
	if cmd.kill {
		r.control(s, "k")
	}
}

// check decides whether every control byte in acts has taken effect: 1
// (and "ok:" printed), 0 not yet, -1 the service is out (a message was
// printed). A byte runit's runsv has not read yet cannot have taken
// effect, so nothing passes while the control FIFO holds unread bytes.
//
// The rules, per byte, against the status now (st) and the status read
// just before sending (pre). runit compares the status time with sv's own
// start in whole seconds, so a command sent in the second the service
// started "succeeds" at once; vigil asks for evidence instead:
//
//	u  a process runs (pid, state run), want is up, ./check passes.
//	d  no process (pid 0, state down) and want is down.
//	x  the supervisor has exited (ok FIFO without reader): "ok: NAME:
//	   runsv not running".
//	t,k  either the service is down and wants to stay down (nothing to
//	   restart: runit's rule), or a new process runs: started after pre
//	   (timestamp strictly newer, or another pid), TERM flag clear, state
//	   run, ./check passes. The timestamp has nanosecond (vigil) or
//	   microsecond (runsv) resolution, so a restart is never mistaken
//	   for the process that was there before.
//	o  want is down and either a process runs (the one run, or the
//	   running one that will not be restarted), or the service is down
//	   with a timestamp newer than pre (it ran and has exited).
//	p  no process, or paused.   c  no process, or not paused.
//	h a i q 1 2  the supervisor has read the byte (signals are sent on
//	   reading and change no status).
//	C  (check, sends nothing) 'u' if want is up, else 'd': runit 2.3.0's
//	   fix; 2.1.2 only ran ./check when a pid existed. A service that
//	   wants up but that the restart limit gave up on fails at once:
//	   "fail: " and its status line (nothing but sv up clears it).
//
// supervise/vigil (extended.go) adds to u and to the new process of t and
// k: where the service has a readiness source, the process is ready; and
// it is neither failed nor unhealthy. Without the file, runit's rules
// alone apply.
func (r *run) check(s *service, acts string, now time.Time) int {
	st, ext, g := r.look(s.name, s.dir, false, acts[0], true)
	if g < 0 {
		return -1
	}
	if g == 0 {
		if acts[0] == 'x' {
			return 1
		}
		return -1
	}
	if n, err := pending(supervise.Locate(s.dir)); err == nil && n > 0 {
		return 0
	}
	checked, checkOK := false, false
	script := func() bool {
		if !checked {
			checked = true
			if !s.checkFailed.IsZero() && now.Sub(s.checkFailed) < checkEvery {
				return false
			}
			if checkOK = r.checkScript(s.name, s.dir); !checkOK {
				s.checkFailed = now
			}
		}
		return checkOK
	}
	pid := st.Pid != 0
	wantUp := st.Want == supervise.WantUp
	newer := st.Since.After(s.pre.Since)
	if acts == "C" && wantUp && ext.failed(st) {
		r.rc++
		r.outs("fail: ")
		r.buf, _ = r.statusLine(r.buf, s.name, s.name, s.dir, st, ext, now)
		r.outs("\n")
		r.flush()
		return -1
	}
	for i := 0; i < len(acts); i++ {
		c := acts[i]
		if c == 'C' {
			c = 'u'
			if !wantUp {
				c = 'd'
			}
		}
		switch c {
		case 'x':
			return 0
		case 'u':
			if !pid || st.State != supervise.Run || !wantUp || !ext.up(st) || !script() {
				return 0
			}
		case 'd':
			if pid || st.State != supervise.Down || wantUp {
				return 0
			}
		case 't', 'k':
			if !pid && !wantUp {
				break
			}
			if !pid || st.State != supervise.Run || st.Term || !(newer || st.Pid != s.pre.Pid) || !ext.up(st) || !script() {
				return 0
			}
		case 'o':
			if wantUp || (!pid && (st.State != supervise.Down || !newer)) {
				return 0
			}
		case 'p':
			if pid && !st.Paused {
				return 0
			}
		case 'c':
			if pid && st.Paused {
				return 0
			}
		}
	}
	r.outs("ok: ")
	r.buf, _ = r.statusLine(r.buf, s.name, s.name, s.dir, st, ext, now)
	r.outs("\n")
	r.flush()
	return 1
}
