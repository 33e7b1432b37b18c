package pid1

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/vigil-init/vigil/services"
)

// Kubernetes shows a container's termination message (the file at its
// terminationMessagePath, /dev/termination-log by default) in kubectl
// describe pod, and reads at most 4096 bytes of it.
const (
	defaultTerminationLog = "/dev/termination-log"
	terminationLogMax     = 4096
	terminationLogLines   = 20 // of stderr, at most
)

// Termination is why the container ends: the essential service or the
// main command whose end ended it.
type Termination struct {
	Who    string // "service web", "command /usr/bin/app"
	Code   int    // its exit code, when Signal is 0
	Signal int    // the signal that killed it, or 0
	OOM    bool   // the kernel's OOM killer sent that signal
	Reason string // how it ended in words, when the caller has them; else made from the above
	Stderr []byte // the last of its stderr, when vigil relayed it
}

// endedTermination is an essential service's end as the engine reports it.
func endedTermination(x services.Ended) Termination {
	return Termination{Who: "service " + x.Service, Code: x.Code, Reason: x.Reason}
}

// mainTermination is the main command's end: its reaped exit code,
// 128+n for signal n.
func mainTermination(name string, code int) Termination {
	t := Termination{Who: "command " + name, Code: code}
	if code > 128 && code < 128+65 {
		t.Signal, t.Code = code-128, 0
	}
	return t
}

// message is the termination message: one line saying who ended how,
// then the last lines of stderr, cut at the front to fit 4096 bytes.
func (t Termination) message() []byte {
	var head string
	switch {
	case t.Reason != "":
		head = t.Who + ": " + t.Reason
		if code := strconv.Itoa(t.Code); t.Code != 0 && !strings.Contains(t.Reason, code) {
			head += " (exit " + code + ")"
		}
	case t.OOM:
		head = fmt.Sprintf("%s: killed by the OOM killer (exit %d)", t.Who, 128+t.Signal)
	case t.Signal != 0:
		head = fmt.Sprintf("%s: killed by %s (exit %d)", t.Who, signalName(t.Signal), 128+t.Signal)
	default:
		head = fmt.Sprintf("%s: exited with code %d", t.Who, t.Code)
	}
	head = strings.ToValidUTF8(head, "?") + "\n"
	if len(head) > terminationLogMax {
		return []byte(truncUTF8(head, terminationLogMax-1) + "\n")
	}
	tail := lastLines(t.Stderr, terminationLogLines)
	if len(tail) == 0 {
		return []byte(head)
	}
	const sep = "last lines of stderr:\n"
	room := terminationLogMax - len(head) - len(sep)
	if room <= 0 {
		return []byte(head)
	}
	if len(tail) > room {
		tail = tail[len(tail)-room:]
		// Start at a line if one starts in what is left, else at a
		// whole character.
		if i := bytes.IndexByte(tail, '\n'); i >= 0 && i+1 < len(tail) {
			tail = tail[i+1:]
		}
		for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
			tail = tail[1:]
		}
	}
	return []byte(head + sep + string(tail))
}

// lastLines is the last n lines of b, newline-terminated.
func lastLines(b []byte, n int) []byte {
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return nil
	}
	start := len(b)
	for range n {
		i := bytes.LastIndexByte(b[:start], '\n')
		if i < 0 {
			start = 0
			break
		}
		start = i
		if start == 0 {
			break
		}
	}
	out := b[start:]
	if len(out) > 0 && out[0] == '\n' {
		out = out[1:]
	}
	return append(bytes.ToValidUTF8(out, []byte("?")), '\n')
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func signalName(sig int) string {
	if name := unix.SignalName(unix.Signal(sig)); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", sig)
}

// terminationLogPath is VIGIL_TERMINATION_LOG, or /dev/termination-log
// when it exists and vigil may write it (Kubernetes mounts it in every
// container; elsewhere it is absent), or "" for none. "off" turns it off.
func terminationLogPath(getenv func(string) string) string {
	switch v := getenv("VIGIL_TERMINATION_LOG"); v {
	case "off":
		return ""
	case "":
		if unix.Access(defaultTerminationLog, unix.W_OK) == nil {
			return defaultTerminationLog
		}
		return ""
	default:
		return v
	}
}

// writeTerminationLog writes t's message to path, replacing what was
// there, in one write.
func writeTerminationLog(path string, t Termination) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("termination log: %w", err)
	}
	_, err = f.Write(t.message())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("termination log: %s: %w", path, err)
	}
	return nil
}

// terminated records why the container ends in the termination log, if
// there is one; a failure is a warning, never a change of exit code.
func (p *initProc) terminated(t Termination) {
	path := terminationLogPath(os.Getenv)
	if path == "" {
		return
	}
	if err := writeTerminationLog(path, t); err != nil {
		p.warnf("%v", err)
	}
}
