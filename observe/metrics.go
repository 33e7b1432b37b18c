package observe

import (
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-init/vigil/services"
)

// metricsContentType is Prometheus' text exposition format 0.0.4.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// family is one metric family of /metrics, with a sample per service.
type family struct {
	name, typ, help string
	value           func(st *services.ServiceState, now time.Time) (float64, bool)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var serviceFamilies = []family{
	{"vigil_service_up", "gauge", "1 while the service's run process runs.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return b2f(st.State == "run"), true }},
	{"vigil_service_want_up", "gauge", "1 when the service is wanted up.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return b2f(st.Want == "up"), true }},
	{"vigil_service_ready", "gauge", "1 while the service runs and is ready.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return b2f(st.Ready), true }},
	{"vigil_service_healthy", "gauge", "0 once the service's liveness checks failed.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return b2f(st.Healthy), true }},
	{"vigil_service_failed", "gauge", "1 once the restart limit gave up on the service.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return b2f(st.Failed), true }},
	{"vigil_service_restarts_total", "counter", "Exits of the service's run process that nobody asked for.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return float64(st.Restarts), true }},
	{"vigil_service_last_exit_code", "gauge", "How run last ended: its exit code, or 128+signal when a signal killed it.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) {
			if st.LastExit == nil {
				return 0, false
			}
			if st.LastExit.Signal != 0 {
				return float64(128 + st.LastExit.Signal), true
			}
			return float64(st.LastExit.Code), true
		}},
	{"vigil_service_uptime_seconds", "gauge", "Seconds since run started, 0 while it does not run.",
		func(st *services.ServiceState, now time.Time) (float64, bool) {
			if st.State != "run" || st.Since.IsZero() {
				return 0, true
			}
			return max(now.Sub(st.Since).Seconds(), 0), true
		}},
	{"vigil_service_oom_kills_total", "counter", "Deaths of the service's run process by the kernel's OOM killer.",
		func(st *services.ServiceState, _ time.Time) (float64, bool) { return float64(st.OOMKills), true }},
}

// appendMetrics writes /metrics by hand: the format is small, and the
// Prometheus client library would add more to PID 1 than the endpoint.
func appendMetrics(b []byte, snap *services.Snapshot, opts Options) []byte {
	now := time.Now()
	var list []services.ServiceState
	if snap != nil {
		list = snap.Services
	}
	for _, f := range serviceFamilies {
		b = header(b, f.name, f.typ, f.help)
		for i := range list {
			v, ok := f.value(&list[i], now)
			if ok {
				b = sample(b, f.name, v, "service", list[i].Name)
			}
		}
	}
	b = header(b, "vigil_orphans_reaped_total", "counter", "Processes reparented to vigil and reaped by it.")
	b = sample(b, "vigil_orphans_reaped_total", float64(opts.Orphans()))
	if opts.OOMKills != nil {
		b = header(b, "vigil_cgroup_oom_kills_total", "counter", "OOM kills in vigil's cgroup, of any process.")
		b = sample(b, "vigil_cgroup_oom_kills_total", float64(opts.OOMKills()))
	}
	b = header(b, "vigil_build_info", "gauge", "Always 1; the labels say which vigil runs.")
	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	b = sample(b, "vigil_build_info", 1, "version", version, "goversion", runtime.Version())
	return b
}

func header(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "+name+" "...)
	b = append(b, escapeHelp(help)...)
	b = append(b, "\n# TYPE "+name+" "+typ+"\n"...)
	return b
}

// sample writes `name{k="v",...} value`; labels are pairs.
func sample(b []byte, name string, v float64, labels ...string) []byte {
	b = append(b, name...)
	if len(labels) > 0 {
		b = append(b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, labels[i]...)
			b = append(b, `="`...)
			b = append(b, escapeLabel(labels[i+1])...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

// Label values escape backslash, double quote and newline; HELP text
// backslash and newline.
var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
