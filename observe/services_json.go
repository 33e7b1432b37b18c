package observe

import (
	"encoding/json"
	"time"

	"github.com/vigil-init/vigil/services"
)

// serviceJSON is one element of GET /v1/services.
type serviceJSON struct {
	Name     string    `json:"name"`
	State    string    `json:"state"` // run, down, finish
	Want     string    `json:"want"`  // up, down
	Pid      *int      `json:"pid"`   // null when nothing runs
	Since    *string   `json:"since"` // RFC 3339; null before the first start
	Ready    bool      `json:"ready"`
	Restarts uint64    `json:"restarts"`
	LastExit *exitJSON `json:"last_exit"` // null until run has exited once
	Failed   bool      `json:"failed"`
	Healthy  bool      `json:"healthy"`
	Waiting  []string  `json:"waiting"` // dependencies not ready yet
	OOMKills uint64    `json:"oom_kills"`
	Log      *logJSON  `json:"log"` // null without log/
}

type exitJSON struct {
	Code   int `json:"code"`
	Signal int `json:"signal"` // 0 unless a signal killed it
}

type logJSON struct {
	State string  `json:"state"`
	Want  string  `json:"want"`
	Pid   *int    `json:"pid"`
	Since *string `json:"since"`
}

func pidJSON(pid int) *int {
	if pid <= 0 {
		return nil
	}
	return &pid
}

func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func toJSON(snap *services.Snapshot) []serviceJSON {
	list := []serviceJSON{}
	if snap == nil {
		return list
	}
	for _, st := range snap.Services {
		j := serviceJSON{
			Name: st.Name, State: st.State, Want: st.Want,
			Pid: pidJSON(st.Pid), Since: timeJSON(st.Since),
			Ready: st.Ready, Restarts: st.Restarts,
			Failed: st.Failed, Healthy: st.Healthy,
			Waiting: append([]string{}, st.Waiting...), OOMKills: st.OOMKills,
		}
		if x := st.LastExit; x != nil {
			j.LastExit = &exitJSON{Code: x.Code, Signal: x.Signal}
		}
		if l := st.Log; l != nil {
			j.Log = &logJSON{State: l.State, Want: l.Want, Pid: pidJSON(l.Pid), Since: timeJSON(l.Since)}
		}
		list = append(list, j)
	}
	return list
}

// servicesJSON writes GET /v1/services: a JSON array, one object per
// service, sorted by name; empty before the first snapshot.
func servicesJSON(snap *services.Snapshot) response {
	b, err := json.MarshalIndent(toJSON(snap), "", "  ")
	if err != nil {
		return text(500, "encoding the services: "+err.Error()+"\n")
	}
	return response{code: 200, contentType: "application/json", body: append(b, '\n')}
}
