package observe

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-init/vigil/services"
)

// FuzzRequest sends raw bytes as a request through a connection of the
// server as Serve makes it. Whatever arrives, the answer is well-formed HTTP with a
// status the endpoint gives, the server never hangs past its timeouts,
// and a 200 from /metrics parses.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /readyz?service=web,db HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /readyz?service=%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.0\r\n\r\n",
		"HEAD /v1/services HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET /../metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://other/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	} {
		f.Add([]byte(seed))
	}
	src := source(up("web"), with(up("db\"\n"), func(s *services.ServiceState) { s.Ready = false }))
	// Short timeouts keep each run short: most inputs never end their
	// headers, and a kept-alive connection waits out IdleTimeout.
	opts := Options{ReadHeaderTimeout: 20 * time.Millisecond, ReadTimeout: 50 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, IdleTimeout: 5 * time.Millisecond, MaxHeaderBytes: 4096}.withDefaults()
	srv := newServer(src, opts)

	allowed := map[int]bool{200: true, 400: true, 404: true, 405: true, 413: true, 431: true, 503: true, 505: true}
	f.Fuzz(func(t *testing.T, req []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go srv.serveConn(server)
		client.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			client.Write(req)
		}()
		r := bufio.NewReader(client)
		for {
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				// The server closed the connection: the end, unless the
				// pipe's deadline passed, which means it hung.
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("no answer and no close within 10 s for %q", req)
				}
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("a body that never ended for %q", req)
				}
				return
			}
			if !allowed[resp.StatusCode] {
				t.Fatalf("status %d for %q", resp.StatusCode, req)
			}
			if resp.StatusCode == 200 && resp.Request == nil && bytes.HasPrefix(body, []byte("# HELP")) {
				parseMetrics(t, string(body))
			}
			if strings.Contains(resp.Header.Get("Connection"), "close") || resp.Close {
				return
			}
		}
	})
}
