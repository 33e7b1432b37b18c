package services

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// notifyMsg is what one sd_notify datagram says, of what vigil uses.
type notifyMsg struct {
	ready    bool   // READY=1
	stopping bool   // STOPPING=1
	status   string // STATUS=..., "" if absent
	hasState bool   // the datagram held STATUS=
}

// parseNotify reads an sd_notify datagram: newline-separated KEY=VALUE
// assignments (systemd's sd_notify(3)). Unknown and malformed lines are
// skipped, as systemd skips them.
func parseNotify(b []byte) notifyMsg {
	var m notifyMsg
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		key, val, ok := bytes.Cut(line, []byte("="))
		if !ok {
			continue
		}
		switch string(key) {
		case "READY":
			m.ready = m.ready || string(val) == "1"
		case "STOPPING":
			m.stopping = m.stopping || string(val) == "1"
		case "STATUS":
			m.status, m.hasState = string(val), true
		}
	}
	return m
}

// notifySocket is a service's NOTIFY_SOCKET: a datagram socket bound to
// supervise/notify, or, where that path is too long for a socket
// address, an abstract name. Any process may send to it (systemd's
// NotifyAccess=all): a service's helpers often report for it.
type notifySocket struct {
	fd   int
	path string // "" for an abstract socket
	addr string // NOTIFY_SOCKET's value
}

func openNotifySocket(superviseDir string) (*notifySocket, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("unable to create notification socket: %w", err)
	}
	// The address must make sense from run's directory too.
	if abs, err := filepath.Abs(superviseDir); err == nil {
		superviseDir = abs
	}
	n := &notifySocket{fd: fd, path: filepath.Join(superviseDir, "notify")}
	n.addr = n.path
	if len(n.path) >= len(unix.RawSockaddrUnix{}.Path) {
		// sun_path holds 108 bytes; the abstract name is unique per
		// vigil and per socket.
		n.path = ""
		n.addr = "@vigil/" + strconv.Itoa(os.Getpid()) + "/" + strconv.Itoa(fd) + "/" + filepath.Base(filepath.Dir(superviseDir))
	} else {
		unix.Unlink(n.path) // a stale socket of an earlier vigil
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: n.addr}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("unable to bind notification socket %s: %w", n.addr, err)
	}
	return n, nil
}

// receive reads every datagram waiting and merges what they say. Any
// descriptors passed along (FDSTORE) are closed: vigil keeps none.
func (n *notifySocket) receive() (notifyMsg, bool) {
	var m notifyMsg
	got := false
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(16*4))
	for {
		nb, noob, _, _, err := unix.Recvmsg(n.fd, buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return m, got
		}
		closeRights(oob[:noob])
		got = true
		one := parseNotify(buf[:nb])
		m.ready = m.ready || one.ready
		m.stopping = m.stopping || one.stopping
		if one.hasState {
			m.status, m.hasState = one.status, true
		}
	}
}

func closeRights(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, msg := range msgs {
		if fds, err := unix.ParseUnixRights(&msg); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
}

func (n *notifySocket) close() {
	unix.Close(n.fd)
	if n.path != "" {
		unix.Unlink(n.path)
	}
}
