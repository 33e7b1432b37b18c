package services

import (
	"slices"
	"strings"

	"github.com/vigil-init/vigil/services/supervise"
)

// The dependency graph, from each service's dependencies.d/ (s6-rc's
// format: one empty file per service it needs). Edges are by name, so a
// dependency may appear after its dependent, or never (it is waited for,
// with one warning).

// link enters s in the graph.
func (e *Engine) link(s *service) {
	e.byName[s.name] = s
	for _, d := range s.pol.deps {
		e.rdeps[d] = append(e.rdeps[d], s)
	}
	e.graphChanged = true
	e.wakeRelated(s)
}

// unlink takes s out of the graph.
func (e *Engine) unlink(s *service) {
	if e.byName[s.name] == s {
		delete(e.byName, s.name)
	}
	for _, d := range s.pol.deps {
		e.rdeps[d] = slices.DeleteFunc(e.rdeps[d], func(t *service) bool { return t == s })
		if len(e.rdeps[d]) == 0 {
			delete(e.rdeps, d)
		}
	}
	e.graphChanged = true
	e.wakeRelated(s)
}

// waitingFor lists the dependencies of s that are not ready.
func (s *service) waitingFor() []string {
	var w []string
	for _, d := range s.pol.deps {
		if t := s.e.byName[d]; t == nil || t.phase != phReady {
			w = append(w, d)
		}
	}
	return w
}

// dependentsRun reports whether a service that depends on s still runs
// something: s must not stop under it.
func (s *service) dependentsRun() bool {
	for _, t := range s.e.rdeps[s.name] {
		if t.phase.runs() {
			return true
		}
	}
	return false
}

// wakeRelated has the neighbours of s look again at the end of the turn:
// its dependents may start now, its dependencies may stop now.
func (e *Engine) wakeRelated(s *service) {
	for _, t := range e.rdeps[s.name] {
		e.wake(t)
	}
	for _, d := range s.pol.deps {
		if t := e.byName[d]; t != nil {
			e.wake(t)
		}
	}
}

func (e *Engine) wake(s *service) {
	if !slices.Contains(e.woken, s) {
		e.woken = append(e.woken, s)
	}
}

// settle runs what the turn's changes made due, until nothing moves, then
// reports what a complete graph shows: cycles and missing dependencies.
func (e *Engine) settle() {
	for len(e.woken) > 0 {
		s := e.woken[0]
		e.woken = e.woken[1:]
		if !s.closed {
			s.advance()
		}
	}
	if !e.graphChanged || e.scanning {
		return // the graph is incomplete until the scan has added every entry
	}
	e.graphChanged = false
	for _, c := range e.cycles() {
		key := strings.Join(c, " ")
		if !e.cyclesSaid[key] {
			e.cyclesSaid[key] = true
			e.message("", "warning: ", "dependency cycle: %s -> %s: none of them starts", strings.Join(c, " -> "), c[0])
		}
	}
	for s := range e.services {
		for _, d := range s.pol.deps {
			if e.byName[d] == nil && !s.noted["missing "+d] {
				s.note("missing " + d)
				e.warnf(s.name, "waiting for %s, which is not a service (dependencies.d/%s)", d, d)
			}
		}
	}
}

// cycles finds every cycle of the graph, each once, as the names along it
// starting from the smallest.
func (e *Engine) cycles() [][]string {
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[string]int{}
	var path []string
	var found [][]string
	var visit func(name string)
	visit = func(name string) {
		mark[name] = onPath
		path = append(path, name)
		if s := e.byName[name]; s != nil {
			for _, d := range s.pol.deps {
				switch mark[d] {
				case unseen:
					visit(d)
				case onPath:
					i := slices.Index(path, d)
					c := slices.Clone(path[i:])
					m := slices.Index(c, slices.Min(c))
					found = append(found, append(c[m:], c[:m]...))
				}
			}
		}
		path = path[:len(path)-1]
		mark[name] = done
	}
	names := make([]string, 0, len(e.byName))
	for n, s := range e.byName {
		if len(s.pol.deps) > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if mark[n] == unseen {
			visit(n)
		}
	}
	return found
}

// wantUp brings the dependencies of s up with it ('u' to each), as
// s6-rc and systemd's Requires= do.
func (e *Engine) wantUp(s *service) {
	for _, d := range s.pol.deps {
		t := e.byName[d]
		if t == nil || t.closed || t.main.st.Want == supervise.WantUp {
			continue
		}
		if t.main.st.Want == supervise.WantExit {
			continue // on its way out; the scan brings it back
		}
		t.main.st.Want = supervise.WantUp
		t.main.once = false
		t.main.write(false)
		t.stopPending = false
		t.clearFailed()
		e.wantUp(t)
		e.wake(t)
	}
}

// wantDown brings down what depends on s first ('d' to each): the stop
// of s waits until they no longer run.
func (e *Engine) wantDown(s *service) {
	for _, t := range e.rdeps[s.name] {
		wanted := t.main.st.Want == supervise.WantUp || t.main.once
		if wanted {
			t.main.st.Want = supervise.WantDown
			t.main.once = false
			t.main.write(false)
		}
		// Also one that runs without being wanted up (started by 'o'):
		// s would wait for it for ever. (No loop: a cycle never runs.)
		if wanted || t.phase.runs() && t.phase != phStopping && !t.stopPending {
			t.stopWhenFree()
			e.wake(t)
		}
	}
}

// note records that a one-time message about s was said.
func (s *service) note(what string) {
	if s.noted == nil {
		s.noted = map[string]bool{}
	}
	s.noted[what] = true
}
