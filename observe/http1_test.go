package observe

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      *request
		keep      bool
		err       error
	}{
		{"GET", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &request{method: "GET", path: "/healthz"}, true, nil},
		{"query", "GET /readyz?service=a,b HTTP/1.1\r\nHost: x\r\n\r\n", &request{method: "GET", path: "/readyz", rawQuery: "service=a,b"}, true, nil},
		{"bare newlines", "GET / HTTP/1.1\nHost: x\n\n", &request{method: "GET", path: "/"}, true, nil},
		{"empty lines first", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", &request{method: "GET", path: "/"}, true, nil},
		{"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", &request{method: "GET", path: "/"}, false, nil},
		{"Connection: close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n", &request{method: "GET", path: "/"}, false, nil},
		{"a body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &request{method: "GET", path: "/", body: true}, true, nil},
		{"an empty body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &request{method: "GET", path: "/"}, true, nil},
		{"chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &request{method: "GET", path: "/", body: true}, true, nil},
		{"any method", "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", &request{method: "BREW", path: "/pot"}, true, nil},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", nil, false, errBadRequest},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", nil, false, errBadRequest},
		{"HTTP/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", nil, false, errVersion},
		{"not HTTP", "GET / FTP/1.1\r\nHost: x\r\n\r\n", nil, false, errBadRequest},
		{"no version", "GET /\r\nHost: x\r\n\r\n", nil, false, errBadRequest},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", nil, false, errBadRequest},
		{"absolute form", "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n", nil, false, errBadRequest},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", nil, false, errBadRequest},
		{"control byte in the target", "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", nil, false, errBadRequest},
		{"folded field", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", nil, false, errBadRequest},
		{"space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", nil, false, errBadRequest},
		{"bad Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", nil, false, errBadRequest},
		{"two Content-Lengths", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", nil, false, errBadRequest},
		{"a lone CR", "GET / HTTP/1.1\r\nHost: x\ry: z\r\n\r\n", nil, false, errBadRequest},
		{"NUL in a field", "GET / HTTP/1.1\r\nHost: x\x00\r\n\r\n", nil, false, errBadRequest},
		{"too large", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", nil, false, errHeadTooLarge},
		{"too many empty lines", strings.Repeat("\r\n", 3000), nil, false, errHeadTooLarge},
		{"cut short", "GET / HTTP/1.1\r\nHost: x\r\n", nil, false, io.EOF},
	} {
		got, keep, err := readRequest(bufio.NewReaderSize(strings.NewReader(tc.raw), 4096), 4096)
		if !errors.Is(err, tc.err) || (got == nil) != (tc.want == nil) || got != nil && (*got != *tc.want || keep != tc.keep) {
			t.Errorf("%s: got %+v, keep %v, %v; want %+v, keep %v, %v", tc.name, got, keep, err, tc.want, tc.keep, tc.err)
		}
	}
}

func TestResponseBytes(t *testing.T) {
	r := text(405, "no\n")
	r.allow, r.close = true, true
	want := "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n" +
		"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nDate: Mon, 07 Dec 2026 01:02:03 GMT\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\nno\n"
	if got := string(r.bytes(false, t0)); got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	if got := string(r.bytes(true, t0)); got != strings.TrimSuffix(want, "no\n") {
		t.Errorf("HEAD: got %q; want the head alone, Content-Length kept", got)
	}
}
