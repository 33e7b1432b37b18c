package services

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// policy is what a service directory's opt-in files ask for. The zero
// value is runit's behaviour: a directory without any of the files gets
// it, and a supervise/ without vigil's extra state file.
type policy struct {
	// Readiness: the first source present wins, in this order.
	notifyFD     int  // notification-fd (s6): run gets a pipe as this fd
	notifySocket bool // notification-socket: sd_notify's NOTIFY_SOCKET
	checkReady   bool // ./check, run by the engine after each start

	deps []string // dependencies.d/ (s6-rc): started once these are ready

	essential   bool          // its unasked end ends the container
	limit       int           // restart-limit: N; -1 for none
	window      time.Duration // restart-limit: the window of the N exits
	backoffMin  time.Duration // restart-backoff MIN MAX; zero: runit's pace
	backoffMax  time.Duration
	downSignal  unix.Signal   // down-signal (s6); 0: TERM
	timeoutKill time.Duration // timeout-kill (s6), from ms; 0: never
	killGroup   bool          // kill-group: signals go to the process group

	// Liveness: ./check (or check-tcp, check-http) every interval.
	checkInterval time.Duration
	checkTimeout  time.Duration
	checkFailures int
	checkTCP      string // host:port
	checkHTTP     string // URL
}

// extended reports whether the service uses any of vigil's files, and so
// gets supervise/vigil.
func (p *policy) extended() bool {
	return p.notifyFD > 0 || p.notifySocket || p.checkReady || len(p.deps) > 0 || p.essential ||
		p.limit >= 0 || p.backoffMin > 0 || p.downSignal != 0 || p.timeoutKill > 0 || p.killGroup ||
		p.checkInterval > 0
}

// readySource names the readiness source as supervise/vigil says it.
func (p *policy) readySource() string {
	switch {
	case p.notifyFD > 0:
		return "fd"
	case p.notifySocket:
		return "socket"
	case p.checkReady:
		return "check"
	}
	return ""
}

// policyFiles are the names readPolicy looks at; a directory that holds
// none of them costs one getdents and nothing more.
var policyFiles = map[string]bool{
	"notification-fd": true, "notification-socket": true, "check": true, "dependencies.d": true,
	"essential": true, "restart-limit": true, "restart-backoff": true, "down-signal": true,
	"timeout-kill": true, "kill-group": true, "check-interval": true, "check-timeout": true,
	"check-failures": true, "check-tcp": true, "check-http": true,
}

// readPolicy reads the opt-in files of the service in dir. A file that
// cannot be used is reported (naming it) and ignored, so the service runs
// as if it were not there, and nothing else is lost.
func readPolicy(dir string) (policy, []error) {
	p := policy{limit: -1}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return p, nil // the service's own start reports the directory
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }
	has := map[string]bool{}
	for _, ent := range ents {
		if policyFiles[ent.Name()] {
			has[ent.Name()] = true
		}
	}
	if len(has) == 0 {
		return p, nil
	}
	value := func(name string) (string, bool) {
		if !has[name] {
			return "", false
		}
		b, err := readSmall(filepath.Join(dir, name))
		if err != nil {
			bad(name, err)
			return "", false
		}
		return strings.TrimSpace(string(b)), true
	}
	if v, ok := value("notification-fd"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 3 || n > 1<<20 {
			bad("notification-fd", fmt.Errorf("want a descriptor number of 3 or more, got %q", v))
		} else {
			p.notifyFD = n
		}
	}
	p.notifySocket = has["notification-socket"]
	p.checkReady = has["check"] && executable(filepath.Join(dir, "check"))
	if has["dependencies.d"] {
		deps, err := os.ReadDir(filepath.Join(dir, "dependencies.d"))
		if err != nil {
			bad("dependencies.d", err)
		}
		for _, d := range deps {
			if !strings.HasPrefix(d.Name(), ".") {
				p.deps = append(p.deps, d.Name())
			}
		}
	}
	p.essential = has["essential"]
	if v, ok := value("restart-limit"); ok {
		if n, w, err := parseRestartLimit(v); err != nil {
			bad("restart-limit", err)
		} else {
			p.limit, p.window = n, w
		}
	}
	if v, ok := value("restart-backoff"); ok {
		if lo, hi, err := parseBackoff(v); err != nil {
			bad("restart-backoff", err)
		} else {
			p.backoffMin, p.backoffMax = lo, hi
		}
	}
	if v, ok := value("down-signal"); ok {
		if sig, err := ParseSignal(v); err != nil {
			bad("down-signal", err)
		} else {
			p.downSignal = sig
		}
	}
	if v, ok := value("timeout-kill"); ok {
		if ms, err := strconv.ParseUint(v, 10, 32); err != nil {
			bad("timeout-kill", fmt.Errorf("want milliseconds, got %q", v))
		} else {
			p.timeoutKill = time.Duration(ms) * time.Millisecond
		}
	}
	p.killGroup = has["kill-group"]
	if v, ok := value("check-interval"); ok {
		if d, err := parseSeconds(v); err != nil || d <= 0 {
			bad("check-interval", fmt.Errorf("want a number of seconds above 0, got %q", v))
		} else {
			p.checkInterval = d
		}
	}
	p.checkTimeout = p.checkInterval
	if v, ok := value("check-timeout"); ok {
		if d, err := parseSeconds(v); err != nil || d <= 0 {
			bad("check-timeout", fmt.Errorf("want a number of seconds above 0, got %q", v))
		} else {
			p.checkTimeout = d
		}
	}
	p.checkFailures = 3
	if v, ok := value("check-failures"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			bad("check-failures", fmt.Errorf("want a count of 1 or more, got %q", v))
		} else {
			p.checkFailures = n
		}
	}
	if v, ok := value("check-tcp"); ok {
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad("check-tcp", fmt.Errorf("want host:port, got %q", v))
		} else {
			p.checkTCP = v
		}
	}
	if v, ok := value("check-http"); ok {
		if u, err := url.Parse(v); err != nil || u.Scheme != "http" || u.Host == "" {
			bad("check-http", fmt.Errorf("want an http:// URL, got %q", v))
		} else {
			p.checkHTTP = v
		}
	}
	return p, errs
}

// readSmall reads a configuration file of at most 4 KiB.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return nil, err
	}
	if len(b) > 4096 {
		return nil, errors.New("longer than 4096 bytes")
	}
	return b, nil
}

func executable(path string) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0
}

// parseRestartLimit reads "N [SECONDS]".
func parseRestartLimit(v string) (int, time.Duration, error) {
	f := strings.Fields(v)
	if len(f) < 1 || len(f) > 2 {
		return 0, 0, fmt.Errorf("want N [SECONDS], got %q", v)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 {
		return 0, 0, fmt.Errorf("want a count of 0 or more, got %q", f[0])
	}
	w := time.Minute
	if len(f) == 2 {
		if w, err = parseSeconds(f[1]); err != nil || w <= 0 {
			return 0, 0, fmt.Errorf("want a window in seconds above 0, got %q", f[1])
		}
	}
	return n, w, nil
}

// parseBackoff reads "MIN MAX" in seconds.
func parseBackoff(v string) (lo, hi time.Duration, err error) {
	f := strings.Fields(v)
	if len(f) == 2 {
		lo, err = parseSeconds(f[0])
		if err == nil {
			hi, err = parseSeconds(f[1])
		}
	}
	if len(f) != 2 || err != nil || lo <= 0 || hi < lo {
		return 0, 0, fmt.Errorf("want MIN MAX seconds, 0 < MIN <= MAX, got %q", v)
	}
	return lo, hi, nil
}

// parseSeconds reads a non-negative number of seconds, at most a year.
func parseSeconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 365*24*3600) {
		return 0, fmt.Errorf("not a number of seconds: %q", v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

var signalNames = map[string]unix.Signal{
	"HUP": unix.SIGHUP, "INT": unix.SIGINT, "QUIT": unix.SIGQUIT, "KILL": unix.SIGKILL,
	"USR1": unix.SIGUSR1, "USR2": unix.SIGUSR2, "ALRM": unix.SIGALRM, "TERM": unix.SIGTERM,
	"CONT": unix.SIGCONT, "STOP": unix.SIGSTOP, "TSTP": unix.SIGTSTP, "WINCH": unix.SIGWINCH,
	"PWR": unix.SIGPWR, "ABRT": unix.SIGABRT,
}

// ParseSignal reads a signal by name (QUIT, SIGQUIT, any case) or number.
func ParseSignal(v string) (unix.Signal, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("no signal %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(v), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", v)
}
