package observe

import (
	"context"
	"net/url"
	"strings"

	"github.com/vigil-init/vigil/services"
)

// request is what the endpoint reads of an HTTP request.
type request struct {
	method   string
	path     string // as sent, before '?'
	rawQuery string // after '?'
	body     bool   // a body was announced (never read)
}

// response is an answer, written whole by the connection.
type response struct {
	code        int
	contentType string
	allow       bool // 405: say which methods are
	close       bool // close the connection after it
	body        []byte
}

func text(code int, body string) response {
	return response{code: code, contentType: "text/plain; charset=utf-8", body: []byte(body)}
}

// answer routes a request. Every route is read-only: GET (and HEAD)
// only, and no request body.
func answer(req *request, src Source, opts Options) response {
	var route func() response
	switch req.path {
	case "/healthz":
		route = func() response { return healthz(src, opts) }
	case "/readyz":
		route = func() response { return readyz(req.rawQuery, src) }
	case "/v1/services":
		route = func() response { return servicesJSON(src.Snapshot()) }
	case "/metrics":
		route = func() response {
			return response{code: 200, contentType: metricsContentType, body: appendMetrics(nil, src.Snapshot(), opts)}
		}
	default:
		return text(404, "404 not found: "+req.path+"\n")
	}
	if req.method != "GET" && req.method != "HEAD" {
		r := text(405, "405 method not allowed: "+req.method+"\n")
		r.allow = true
		return r
	}
	if req.body {
		// Not read, so not kept: the connection is closed after the
		// answer rather than drained.
		r := text(413, "413 no request body is accepted\n")
		r.close = true
		return r
	}
	return route()
}

// healthz: vigil itself is alive while the engine's loop answers.
func healthz(src Source, opts Options) response {
	ctx, cancel := context.WithTimeout(context.Background(), opts.PingTimeout)
	defer cancel()
	if err := src.Ping(ctx); err != nil {
		return text(503, "engine not answering: "+err.Error()+"\n")
	}
	return text(200, "ok\n")
}

// readyz: 200 when every service that wants up (or every one named in
// ?service=a,b) is up, ready, not failed and healthy; otherwise 503 and
// a line for each that is not, saying why. A name that is not a service
// is 404.
func readyz(rawQuery string, src Source) response {
	snap := src.Snapshot()
	if snap == nil {
		return text(503, "no state published yet\n")
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return text(400, "400 bad query: "+err.Error()+"\n")
	}
	var names []string
	for _, v := range query["service"] {
		for _, n := range strings.Split(v, ",") {
			if n != "" {
				names = append(names, n)
			}
		}
	}
	var body strings.Builder
	if len(names) > 0 {
		var unknown []string
		for _, n := range names {
			st := find(snap, n)
			if st == nil {
				unknown = append(unknown, n)
				continue
			}
			if why := notReady(st, true); why != "" {
				body.WriteString(st.Name + ": " + why + "\n")
			}
		}
		if len(unknown) > 0 {
			var b strings.Builder
			for _, n := range unknown {
				b.WriteString(n + ": unknown service\n")
			}
			return text(404, b.String())
		}
	} else {
		for i := range snap.Services {
			st := &snap.Services[i]
			if why := notReady(st, false); why != "" {
				body.WriteString(st.Name + ": " + why + "\n")
			}
		}
	}
	if body.Len() > 0 {
		return text(503, body.String())
	}
	return text(200, "ok\n")
}

func find(snap *services.Snapshot, name string) *services.ServiceState {
	for i := range snap.Services {
		if snap.Services[i].Name == name {
			return &snap.Services[i]
		}
	}
	return nil
}

// notReady says why st is not up and ready, or "" when it is. A service
// that wants down is fine unless it was named (named reports it).
func notReady(st *services.ServiceState, named bool) string {
	if st.Want != "up" && !named {
		return ""
	}
	switch {
	case st.Failed:
		return "failed"
	case len(st.Waiting) > 0:
		return "waiting for " + strings.Join(st.Waiting, ", ")
	case st.State != "run" && st.Want != "up":
		return st.State + ", wants down"
	case st.State == "finish":
		return "finishing"
	case st.State != "run":
		return "down"
	case !st.Healthy:
		return "unhealthy"
	case !st.Ready:
		return "not ready"
	case st.Want != "up":
		return "running, wants down"
	}
	return ""
}
