// Package procsetup is vigil's one model of how a process is set up before
// it runs: user and groups, environment, root and working directory, nice,
// umask, resource limits, a lock, capabilities. chpst's command line (and
// its daemontools names) and an OCI process.json are both parsed into a
// Spec, and Spec.Exec applies it in runit's order and replaces the current
// process with the program.
package procsetup

import (
	"strings"

	"github.com/vigil-init/vigil/internal/errstr"
)

// Spec is everything that is done to a process before it becomes the
// program. The zero value runs Args unchanged.
type Spec struct {
	// Origin is where the spec came from, used in error messages: "" for
	// a chpst command line (messages are runit's), else the file name, so
	// that errors read "process.json: user.uid: unable to setuid: ...".
	Origin string

	// Args is the program and its arguments. Args[0] is searched in the
	// PATH of the base environment (Env, else this process's), default
	// "/bin:/usr/bin", after Chroot.
	Args []string
	// Argv0, when set, is the program's argv[0] instead of Args[0]
	// (chpst -b), even if empty. The PATH search still uses Args[0].
	Argv0 *string

	// Env is the environment the program starts from; nil means this
	// process's environment (chpst), non-nil replaces it (process.json).
	Env []string
	// EnvDir is an envdir read before the chroot (chpst -e, envdir).
	// The options that name a file (EnvDir, Chroot, Lock) are pointers:
	// an empty name given on the command line fails as runit's does, it
	// is not taken for no option.
	EnvDir *string
	// EnvDirStrict makes a subdirectory in EnvDir fatal (envdir) instead
	// of skipped (chpst -e).
	EnvDirStrict bool
	// EnvUser sets UID and GID in the environment from an account looked
	// up after the chroot (chpst -U, envuidgid).
	EnvUser *Account

	Setsid bool    // chpst -P, pgrphack: start a new session
	Chroot *string // chpst -/: chdir there, then chroot(".")
	Cwd    string  // process.json cwd: chdir after the chroot
	Nice   int64   // chpst -n: nice(2) increment; 0 leaves it alone

	// User is who the program runs as, with exactly its groups: the
	// supplementary group list is always replaced, never kept.
	User  *Account
	Umask *uint32 // process.json user.umask

	Lock     *string // chpst -l/-L, setlock: file to hold an exclusive flock on
	LockWait bool    // wait for the lock (-l, setlock -n) instead of failing

	// Close closes stdin, stdout, stderr (chpst -0 -1 -2).
	Close [3]bool

	// Rlimits are applied in order. Soft-only limits (chpst's) are set
	// after the user change, as runit does; limits with a hard value
	// (process.json's) before it, so that root can raise a hard limit for
	// an unprivileged program.
	Rlimits []Rlimit

	NoNewPrivileges bool // prctl(PR_SET_NO_NEW_PRIVS)
	OOMScoreAdj     *int // written to /proc/self/oom_score_adj
	// Capabilities, when non-nil, are the program's capability sets;
	// nil leaves them to the kernel's rules for the user.
	Capabilities *Capabilities

	// QuietFail: a failure to lock or to run exits 0 silently (setlock -x).
	QuietFail bool
	// Verbose enables warnings (chpst -v), written through Warn.
	Verbose bool
	Warn    func(msg string)
}

// Account is a user with the groups it runs with.
type Account struct {
	// Name is what to look up after the chroot, in runit's syntax:
	// "user", "user:group[:group...]" or ":uid:gid[:gid...]". An empty
	// name is an unknown user, as in runit.
	Name string
	// Numeric takes UID, GID and Groups below as they are, without a
	// lookup (process.json).
	Numeric bool
	// Strict is the daemontools syntax (setuidgid, envuidgid): a plain
	// account name, its primary group only, "unknown account".
	Strict bool

	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups besides GID
}

// Rlimit is one resource limit.
type Rlimit struct {
	Resource int    // RLIMIT_* number
	Name     string // "RLIMIT_NOFILE", for messages
	// Soft is the soft limit. With SoftOnly it is chpst's value: read as
	// a signed long, a negative value or one above the hard limit means
	// the hard limit (math.MaxUint64 is softlimit's "=").
	Soft     uint64
	Hard     uint64
	SoftOnly bool
}

// Capabilities are the five capability sets as bit masks (bit n is
// capability n). Sets not named in process.json are empty.
type Capabilities struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// Error is a failure to load or apply a Spec. It prints as runit does for
// chpst ("unable to setuid: permission denied") and names the file and
// field for process.json ("process.json: user.uid: unable to setuid: ...").
type Error struct {
	Origin string // file name; "" for chpst
	Field  string // the process.json field; shown only with Origin
	Msg    string
	Err    error // the cause, in runit's words (errstr); may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Origin != "" {
		b.WriteString(e.Origin)
		b.WriteString(": ")
		if e.Field != "" {
			b.WriteString(e.Field)
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(errstr.Of(e.Err))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// UsageError is a command line chpst cannot use (exit 100). Text is the
// whole message, newlines included, as runit prints it.
type UsageError struct{ Text string }

func (e *UsageError) Error() string { return e.Text }

func (s *Spec) fail(field, msg string, err error) *Error {
	return &Error{Origin: s.Origin, Field: field, Msg: msg, Err: err}
}
