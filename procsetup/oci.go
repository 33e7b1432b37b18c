package procsetup

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ociRlimits are the OCI rlimit names, indexed by resource number (an
// array, not a map: no work at package initialisation).
var ociRlimits = [...]string{
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
	"RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
	"RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
}

func rlimitByName(name string) (int, bool) {
	for i, n := range ociRlimits {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// LoadProcessJSON reads an OCI runtime-spec Process object (a service's
// process.json) into a Spec. Unknown fields, fields vigil cannot honour
// and an empty args are errors naming the file and the field.
func LoadProcessJSON(path string) (*Spec, error) {
	origin := filepath.Clean(path)
	fail := func(field, msg string, err error) error {
		return &Error{Origin: origin, Field: field, Msg: msg, Err: err}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail("", "unable to read", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p specs.Process
	if err := dec.Decode(&p); err != nil {
		return nil, jsonError(origin, data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("", "not JSON: more data after the process object", nil)
	}
	// The OCI user is a plain struct; tell an absent "user" (keep vigil's
	// credentials) from uid 0.
	var present struct {
		User *json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(data, &present); err != nil {
		return nil, fail("", "not JSON", err)
	}
	return FromProcess(&p, present.User != nil, origin)
}

func jsonError(origin string, data []byte, dec *json.Decoder, err error) error {
	e := &Error{Origin: origin}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		e.Msg = "not JSON: the file is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Msg = "not JSON: unexpected end of file"
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		e.Msg = "not JSON: line " + itoaInt(line) + ", column " + itoaInt(col) + ": " + syn.Error()
	case errors.As(err, &typ):
		e.Field = typ.Field
		if e.Field == "" {
			e.Field = "(top level)"
		}
		e.Msg = "want " + typ.Type.String() + ", not JSON " + typ.Value
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		e.Msg = "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		e.Msg = "not JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	return e
}

func position(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off-1 && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// FromProcess turns an OCI Process into a Spec. hasUser says whether the
// user object was given; without it the credentials are left alone.
// origin names the source in errors.
func FromProcess(p *specs.Process, hasUser bool, origin string) (*Spec, error) {
	s := &Spec{Origin: origin}
	fail := func(field, msg string) error { return s.fail(field, msg, nil) }
	switch {
	case p.Terminal:
		return nil, fail("terminal", "not supported: a service has no terminal")
	case p.ConsoleSize != nil:
		return nil, fail("consoleSize", "not supported: a service has no terminal")
	case p.CommandLine != "":
		return nil, fail("commandLine", "not supported on Linux; use args")
	case p.ApparmorProfile != "":
		return nil, fail("apparmorProfile", "not supported by vigil")
	case p.SelinuxLabel != "":
		return nil, fail("selinuxLabel", "not supported by vigil")
	case p.Scheduler != nil:
		return nil, fail("scheduler", "not supported by vigil")
	case p.IOPriority != nil:
		return nil, fail("ioPriority", "not supported by vigil")
	case p.ExecCPUAffinity != nil:
		return nil, fail("execCPUAffinity", "not supported by vigil")
	case p.User.Username != "":
		return nil, fail("user.username", "not supported on Linux; use uid and gid")
	}
	if len(p.Args) == 0 || p.Args[0] == "" {
		return nil, fail("args", "must name the program to run")
	}
	s.Args = p.Args
	if p.Env != nil {
		for i, kv := range p.Env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return nil, fail("env["+itoaInt(i)+"]", "want NAME=value, not "+quote(kv))
			}
		}
		s.Env = p.Env
	}
	s.Cwd = p.Cwd
	if hasUser {
		s.User = &Account{Numeric: true, UID: p.User.UID, GID: p.User.GID, Groups: p.User.AdditionalGids}
		s.Umask = p.User.Umask
		if s.Umask != nil && *s.Umask > 0777 {
			return nil, fail("user.umask", "want a mode up to 0777 (511), not "+itoaInt(int(*s.Umask)))
		}
	}
	seen := map[int]bool{}
	for i, r := range p.Rlimits {
		field := "rlimits[" + itoaInt(i) + "]"
		res, ok := rlimitByName(r.Type)
		if !ok {
			return nil, fail(field+".type", "unknown rlimit "+quote(r.Type))
		}
		if seen[res] {
			return nil, fail(field+".type", r.Type+" is given twice")
		}
		seen[res] = true
		if r.Soft > r.Hard {
			return nil, fail(field, "soft limit "+utoaU(r.Soft)+" is above hard limit "+utoaU(r.Hard))
		}
		s.Rlimits = append(s.Rlimits, Rlimit{Resource: res, Name: r.Type, Soft: r.Soft, Hard: r.Hard})
	}
	s.NoNewPrivileges = p.NoNewPrivileges
	if p.OOMScoreAdj != nil {
		if *p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000 {
			return nil, fail("oomScoreAdj", "want -1000 to 1000, not "+itoaInt(*p.OOMScoreAdj))
		}
		s.OOMScoreAdj = p.OOMScoreAdj
	}
	if c := p.Capabilities; c != nil {
		s.Capabilities = &Capabilities{}
		for _, set := range []struct {
			field string
			names []string
			mask  *uint64
		}{
			{"capabilities.bounding", c.Bounding, &s.Capabilities.Bounding},
			{"capabilities.effective", c.Effective, &s.Capabilities.Effective},
			{"capabilities.permitted", c.Permitted, &s.Capabilities.Permitted},
			{"capabilities.inheritable", c.Inheritable, &s.Capabilities.Inheritable},
			{"capabilities.ambient", c.Ambient, &s.Capabilities.Ambient},
		} {
			for _, n := range set.names {
				bit, ok := capByName(n)
				if !ok {
					return nil, fail(set.field, "unknown capability "+quote(n))
				}
				*set.mask |= 1 << bit
			}
		}
	}
	return s, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
