package observe

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"
)

// The endpoint speaks just enough HTTP/1.1 for probes, scrapers and curl
// (RFC 9112): GET and HEAD, no bodies, keep-alive, one request at a time.
// net/http would do it too, but would add 3 MB to PID 1 (README), most of
// it for what the endpoint refuses: bodies, TLS, HTTP/2, multipart.

var statusText = map[int]string{
	200: "OK",
	400: "Bad Request",
	404: "Not Found",
	405: "Method Not Allowed",
	413: "Request Entity Too Large",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
	503: "Service Unavailable",
	505: "HTTP Version Not Supported",
}

var (
	errHeadTooLarge = errors.New("request head too large")
	errBadRequest   = errors.New("malformed request")
)

// serveConn answers the requests of one connection until the client
// closes it, a timeout passes, or an answer says to close.
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	first := true
	for {
		if !first && br.Buffered() == 0 {
			// Between requests: wait for the next one's first byte.
			c.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
			if _, err := br.Peek(1); err != nil {
				return
			}
		}
		first = false
		c.SetReadDeadline(time.Now().Add(min(s.opts.ReadHeaderTimeout, s.opts.ReadTimeout)))
		req, keep, err := readRequest(br, s.opts.MaxHeaderBytes)
		var resp response
		switch {
		case errors.Is(err, errHeadTooLarge):
			resp = text(431, "431 request header fields too large\n")
			resp.close = true
		case errors.Is(err, errVersion):
			resp = text(505, "505 HTTP version not supported\n")
			resp.close = true
		case errors.Is(err, errBadRequest):
			resp = text(400, "400 bad request\n")
			resp.close = true
		case err != nil:
			// A timeout or the client gone: nothing to answer.
			return
		default:
			resp = answer(req, s.src, s.opts)
			// Near the connection limit nobody keeps a slot between
			// requests: idle kept-alive connections would starve the
			// clients waiting in the backlog until the idle timeout.
			resp.close = resp.close || !keep || s.crowded()
		}
		c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		if _, err := c.Write(resp.bytes(req != nil && req.method == "HEAD", time.Now())); err != nil || resp.close {
			return
		}
	}
}

// dateFormat is HTTP's IMF-fixdate (RFC 9110 5.6.7).
const dateFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// bytes is the whole answer on the wire; head leaves the body out.
func (r response) bytes(head bool, now time.Time) []byte {
	b := make([]byte, 0, 256+len(r.body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(r.code), 10)
	b = append(b, ' ')
	b = append(b, statusText[r.code]...)
	b = append(b, "\r\nContent-Type: "+r.contentType+"\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(r.body)), 10)
	b = append(b, "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nDate: "...)
	b = now.UTC().AppendFormat(b, dateFormat)
	b = append(b, "\r\n"...)
	if r.allow {
		b = append(b, "Allow: GET, HEAD\r\n"...)
	}
	if r.close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if !head {
		b = append(b, r.body...)
	}
	return b
}

var errVersion = errors.New("HTTP version not supported")

// readRequest reads a request line and its header fields, at most max
// bytes of them, and says whether the connection may be kept after the
// answer.
func readRequest(br *bufio.Reader, max int) (*request, bool, error) {
	lines, err := readHead(br, max)
	if err != nil {
		return nil, false, err
	}
	method, rest, ok1 := strings.Cut(lines[0], " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !isToken(method) || target == "" || strings.ContainsAny(target, " \t") || strings.Contains(proto, " ") {
		return nil, false, errBadRequest
	}
	switch {
	case proto == "HTTP/1.1" || proto == "HTTP/1.0":
	case len(proto) == 8 && strings.HasPrefix(proto, "HTTP/") && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]):
		return nil, false, errVersion
	default:
		return nil, false, errBadRequest
	}
	if target[0] != '/' {
		return nil, false, errBadRequest
	}
	for i := 0; i < len(target); i++ {
		if target[i] < 0x21 || target[i] == 0x7f {
			return nil, false, errBadRequest
		}
	}
	req := &request{method: method}
	req.path, req.rawQuery, _ = strings.Cut(target, "?")
	keep := proto == "HTTP/1.1"
	host, length := 0, ""
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok || !isToken(name) {
			return nil, false, errBadRequest // also obs-fold: a line starting with a space
		}
		value = strings.Trim(value, " \t")
		for i := 0; i < len(value); i++ {
			if value[i] < 0x20 && value[i] != '\t' || value[i] == 0x7f {
				return nil, false, errBadRequest
			}
		}
		switch strings.ToLower(name) {
		case "host":
			host++
		case "content-length":
			if value == "" || strings.Trim(value, "0123456789") != "" || length != "" && length != value {
				return nil, false, errBadRequest
			}
			length = value
			if strings.Trim(value, "0") != "" {
				req.body = true
			}
		case "transfer-encoding":
			req.body = true
		case "connection":
			for _, opt := range strings.Split(value, ",") {
				if strings.EqualFold(strings.TrimSpace(opt), "close") {
					keep = false
				}
			}
		}
	}
	if proto == "HTTP/1.1" && host != 1 {
		// RFC 9112 3.2: exactly one Host in an HTTP/1.1 request.
		return nil, false, errBadRequest
	}
	return req, keep, nil
}

// readHead reads lines up to the empty one that ends a request's head,
// skipping empty lines before the request line (RFC 9112 2.2).
func readHead(br *bufio.Reader, max int) ([]string, error) {
	var lines []string
	var cur []byte
	total := 0
	for {
		frag, err := br.ReadSlice('\n')
		total += len(frag)
		if total > max {
			return nil, errHeadTooLarge
		}
		cur = append(cur, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		line := strings.TrimSuffix(strings.TrimSuffix(string(cur), "\n"), "\r")
		cur = cur[:0]
		if strings.ContainsAny(line, "\r\x00") {
			return nil, errBadRequest
		}
		if line == "" {
			if len(lines) == 0 {
				continue
			}
			return lines, nil
		}
		lines = append(lines, line)
	}
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// isToken: RFC 9110's token, what methods and field names are made of.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
