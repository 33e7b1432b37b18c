package observe

import (
	"context"
	"net/http"
	"strings"

	"github.com/vigil-init/vigil/services"
)

// Handler answers the endpoint's routes from src. Every route is
// read-only: GET (and HEAD) only, and no request body.
func Handler(src Source, opts Options) http.Handler {
	opts = opts.withDefaults()
	routes := map[string]http.HandlerFunc{
		"/healthz": func(w http.ResponseWriter, r *http.Request) { healthz(w, r, src, opts) },
		"/readyz":  func(w http.ResponseWriter, r *http.Request) { readyz(w, r, src) },
		"/v1/services": func(w http.ResponseWriter, r *http.Request) {
			servicesJSON(w, src.Snapshot())
		},
		"/metrics": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", metricsContentType)
			w.Write(appendMetrics(nil, src.Snapshot(), opts))
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		route, ok := routes[r.URL.Path]
		if !ok {
			text(w, http.StatusNotFound, "404 not found: "+r.URL.Path+"\n")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			text(w, http.StatusMethodNotAllowed, "405 method not allowed: "+r.Method+"\n")
			return
		}
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			// Not read, so not kept: the connection is closed after
			// the answer rather than drained.
			w.Header().Set("Connection", "close")
			text(w, http.StatusRequestEntityTooLarge, "413 no request body is accepted\n")
			return
		}
		route(w, r)
	})
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write([]byte(body))
}

// healthz: vigil itself is alive while the engine's loop answers.
func healthz(w http.ResponseWriter, r *http.Request, src Source, opts Options) {
	ctx, cancel := context.WithTimeout(r.Context(), opts.PingTimeout)
	defer cancel()
	if err := src.Ping(ctx); err != nil {
		text(w, http.StatusServiceUnavailable, "engine not answering: "+err.Error()+"\n")
		return
	}
	text(w, http.StatusOK, "ok\n")
}

// readyz: 200 when every service that wants up (or every one named in
// ?service=a,b) is up, ready, not failed and healthy; otherwise 503 and
// a line for each that is not, saying why. A name that is not a service
// is 404.
func readyz(w http.ResponseWriter, r *http.Request, src Source) {
	snap := src.Snapshot()
	if snap == nil {
		text(w, http.StatusServiceUnavailable, "no state published yet\n")
		return
	}
	var names []string
	for _, v := range r.URL.Query()["service"] {
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
			text(w, http.StatusNotFound, b.String())
			return
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
		text(w, http.StatusServiceUnavailable, body.String())
		return
	}
	text(w, http.StatusOK, "ok\n")
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
