// Package observe is vigil's read-only HTTP endpoint: /healthz, /readyz,
// /v1/services and /metrics, served from the snapshot the engine
// publishes. It never calls into the engine's loop beyond Ping, which
// only queues a no-op, so a slow or hostile client cannot stall
// supervision: every connection is bounded in time (header, read, write
// and idle timeouts), in size (header bytes, no body) and in number (a
// fixed count of connections at once; the rest wait in the kernel's
// backlog, costing vigil nothing).
//
// When idle the endpoint is one goroutine blocked in accept: no timer
// runs, so it adds no wake-ups. It speaks HTTP/1.1 itself (http1.go)
// rather than through net/http, which would nearly double PID 1's size.
package observe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-init/vigil/services"
)

// Source is what the endpoint reads: *services.Engine is one.
type Source interface {
	// Snapshot is the latest published state, nil before the first.
	Snapshot() *services.Snapshot
	// Ping returns nil once the engine's loop has answered.
	Ping(ctx context.Context) error
}

// Options tune the endpoint; the zero value gives the defaults below.
type Options struct {
	Version  string        // vigil_build_info's version label
	Orphans  func() uint64 // orphans reaped so far (reaper.Orphans); nil: 0
	OOMKills func() uint64 // OOM kills in vigil's cgroup, any process; nil: not exported

	MaxConns          int           // connections served at once (64)
	MaxHeaderBytes    int           // request line and headers (8 KiB)
	PingTimeout       time.Duration // /healthz fails when the loop takes longer (1 s)
	ReadHeaderTimeout time.Duration // a slow client's headers (5 s)
	ReadTimeout       time.Duration // a whole request (10 s)
	WriteTimeout      time.Duration // a response (10 s)
	IdleTimeout       time.Duration // a kept-alive connection between requests (30 s)
	ErrorLog          io.Writer     // accept errors; nil discards them
}

// Defaults of Options.
const (
	DefaultMaxConns          = 64
	DefaultMaxHeaderBytes    = 8 << 10
	DefaultPingTimeout       = time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
)

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	def(&o.PingTimeout, DefaultPingTimeout)
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.Orphans == nil {
		o.Orphans = func() uint64 { return 0 }
	}
	if o.ErrorLog == nil {
		o.ErrorLog = io.Discard
	}
	return o
}

// Server is a running endpoint.
type Server struct {
	src      Source
	opts     Options
	ln       net.Listener
	done     chan struct{}
	err      error
	unixPath string // the socket to remove on Close
	once     sync.Once
	stopCtx  func() bool

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newServer(src Source, opts Options) *Server {
	return &Server{src: src, opts: opts.withDefaults(), done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

// Serve listens on addr ("host:port", or "unix:/path" for a socket of
// mode 0660, replacing a stale one) and serves src in the background
// until ctx ends or Close is called. Errors in listening are returned
// at once.
func Serve(ctx context.Context, addr string, src Source, opts Options) (*Server, error) {
	s := newServer(src, opts)
	ln, unixPath, err := listen(addr)
	if err != nil {
		return nil, err
	}
	s.ln, s.unixPath = ln, unixPath
	go func() {
		defer close(s.done)
		if err := s.serve(limitListener(ln, s.opts.MaxConns)); err != nil {
			s.err = fmt.Errorf("http endpoint %s: %w", addr, err)
		}
	}()
	// No goroutine waits for ctx: AfterFunc only registers.
	s.stopCtx = context.AfterFunc(ctx, func() { s.Close() })
	return s, nil
}

// serve accepts until the listener is closed, a goroutine per
// connection (at most MaxConns of them, by the limit listener).
func (s *Server) serve(ln net.Listener) error {
	var delay time.Duration
	logf := func(format string, args ...any) { fmt.Fprintf(s.opts.ErrorLog, "vigil: http: "+format+"\n", args...) }
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors, or the like: wait a little, as long
			// as it lasts, rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			logf("accept: %v; retrying in %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !s.track(c, true) {
			c.Close()
			return nil
		}
		go func() {
			defer s.track(c, false)
			s.serveConn(c)
		}()
	}
}

// track adds or removes a connection; false once the server is closed.
func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		s.wg.Done()
		return true
	}
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// crowded reports whether three quarters of the connection slots are
// taken.
func (s *Server) crowded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)*4 >= s.opts.MaxConns*3
}

// Addr is the address listened on (the port chosen for ":0").
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Done is closed when the server has stopped accepting.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the server stopped, nil after Close; valid after Done.
func (s *Server) Err() error { return s.err }

// Close stops listening, closes every connection at once and waits for
// their goroutines.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		err = s.ln.Close()
		if s.unixPath != "" {
			os.Remove(s.unixPath)
		}
	})
	<-s.done
	s.wg.Wait()
	return err
}

// listen opens addr. A Unix socket is bound under a temporary name,
// given mode 0660 and renamed into place, so no client ever finds it
// open to all, and a socket left by a previous vigil is replaced
// atomically; one that still answers is in use and refused.
func listen(addr string) (net.Listener, string, error) {
	path, isUnix := strings.CutPrefix(addr, "unix:")
	if !isUnix {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, "", fmt.Errorf("http endpoint %q: want host:port or unix:/path: %w", addr, err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("http endpoint: unable to listen: %w", err)
		}
		return ln, "", nil
	}
	if path == "" {
		return nil, "", fmt.Errorf("http endpoint %q: empty socket path", addr)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, "", fmt.Errorf("http endpoint: %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, "", fmt.Errorf("http endpoint: %s: in use by another server", path)
		}
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid()))
	os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, "", fmt.Errorf("http endpoint: unable to listen: %w", err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // it would unlink tmp, gone once renamed
	if err := os.Chmod(tmp, 0o660); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, "", fmt.Errorf("http endpoint: %s: unable to set mode 0660: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, "", fmt.Errorf("http endpoint: %s: unable to put the socket in place: %w", path, err)
	}
	return ln, path, nil
}
