package services

// A service's run moves through these phases; its logger keeps runit's
// plain want/state pair. Every change of phase happens in transition,
// and advance decides what is due next. runit's State byte (down, run,
// finish) is derived from the phase, so supervise/status stays runit's.
//
//	              'u', a dependency ready, the delay over
//	┌────────┐ ────────────────────────────────▶ ┌──────────┐ control/u, then run
//	│  down  │ ◀──┐  waiting ◀─┐ paced ◀──┐      │ starting │ ───────────┐
//	└────────┘    │ (deps)     │ (pace,   │      └──────────┘            ▼
//	    ▲         │            │ back-off)│      ready: newline on  ┌─────────┐
//	    │ 'd','x' │            │          │      notification-fd,   │ running │
//	    │         │            │          │      READY=1, ./check   └─────────┘
//	    │         │            │          │      passes, or no source    │
//	    │    ┌──────────┐  exit ┌───────────┐                          ▼
//	    └────│finishing │ ◀──── │ stopping  │ ◀── 'd','x','t', unhealthy ── ready
//	         └──────────┘       └───────────┘     (after its dependents are down)
//	              │ an unasked exit over restart-limit
//	              ▼
//	         ┌────────┐  'u' clears it
//	         │ failed │
//	         └────────┘
//
// running, ready and stopping may also end by themselves (run exits):
// they go to finishing when ./finish is readable, else straight to down,
// paced or failed. A control/<c> hook in flight holds back the service's
// further commands, in any phase (it is a gate, not a phase).
type phase uint8

const (
	phDown      phase = iota // nothing runs and nothing is due
	phWaiting                // wanted up; a dependency is not ready
	phPaced                  // wanted up; the restart delay has not passed
	phStarting               // control/u runs; run starts when it ends
	phRunning                // run runs; its readiness has not come yet
	phReady                  // run runs and is ready
	phStopping               // run runs and was sent its down signal
	phFinishing              // ./finish runs
	phFailed                 // restart-limit gave up; 'u' clears it
)

var phaseNames = [...]string{"down", "waiting", "paced", "starting", "running", "ready", "stopping", "finishing", "failed"}

func (p phase) String() string { return phaseNames[p] }

// runs reports whether a process of the service's own (run or finish)
// is alive in p: a dependency waits for such a dependent to end.
func (p phase) runs() bool {
	return p >= phStarting && p <= phFinishing
}

// event is what moves a service.
type event uint8

const (
	evWake  event = iota // a want changed, a dependency moved, a timer fired: look again
	evStop               // stop run now ('t', a failed liveness check)
	evExit               // the phase's process (run or finish) ended
	evReady              // run said it is ready
	evKill               // timeout-kill: run outlived its down signal
)
