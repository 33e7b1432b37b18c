package pid1

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-init/vigil/internal/getopt"
	"github.com/vigil-init/vigil/services"
)

const usage = `usage: vigil [-hpqvV] [-g grace] [-s svdir] [-i initdir] [-e code]... [-H addr] [--] [command [arg...]]
  -g grace    time services get between TERM and KILL at shutdown (VIGIL_GRACE, 7s)
  -s svdir    directory of services to supervise (SVDIR, /etc/service)
  -i initdir  start-up scripts run in order before services (VIGIL_INIT_DIR, /etc/vigil/init.d)
  -e code     exit 0 when the main command exits with code; repeatable (VIGIL_EXIT_ZERO="143 130")
  -H addr     serve /healthz, /readyz, /metrics on host:port or unix:/path (VIGIL_HTTP)
  -p          prefix each line services write to the console with their name (VIGIL_PREFIX=1)
  -q          only errors (VIGIL_VERBOSITY=0); -v more, up to -vv (2, 3)
  -V          print the version (also --version); -h this help (also --help)
called as runsvdir, runsv, sv, svc, svok, svlogd, chpst, envdir, envuidgid,
setuidgid, softlimit, setlock or pgrphack (or as "vigil NAME ..."), it is that tool.
`

// Options configure init mode. Each has an environment variable, so a
// Dockerfile can set it with ENV and a command line can override it.
type Options struct {
	SvDir        string
	InitDir      string
	ShutdownDir  string
	Grace        time.Duration
	Prefix       bool
	Verbosity    int
	InitContinue bool     // a failing start-up script does not stop the container
	ExitZero     []int    // the main command's codes that count as 0 (-e)
	HTTP         string   // the HTTP endpoint's address (VIGIL_HTTP, -H); "" for none
	Command      []string // the main command, if any
}

var (
	errHelp    = errors.New("help")
	errVersion = errors.New("version")
)

func parseOptions(args []string, getenv func(string) string) (Options, error) {
	o := Options{
		SvDir:       "/etc/service",
		InitDir:     "/etc/vigil/init.d",
		ShutdownDir: "/etc/vigil/shutdown.d",
		Grace:       services.DefaultGrace,
		Verbosity:   1,
	}
	if v := getenv("SVDIR"); v != "" {
		o.SvDir = v
	}
	if v := getenv("VIGIL_INIT_DIR"); v != "" {
		o.InitDir = v
	}
	if v := getenv("VIGIL_SHUTDOWN_DIR"); v != "" {
		o.ShutdownDir = v
	}
	if v := getenv("VIGIL_GRACE"); v != "" {
		d, err := services.ParseGrace(v)
		if err != nil {
			return o, fmt.Errorf("VIGIL_GRACE: %w", err)
		}
		o.Grace = d
	}
	o.Prefix = getenv("VIGIL_PREFIX") == "1"
	o.HTTP = getenv("VIGIL_HTTP")
	o.InitContinue = getenv("VIGIL_INIT_FAIL") == "continue"
	if v := getenv("VIGIL_VERBOSITY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3 {
			return o, fmt.Errorf("VIGIL_VERBOSITY: want 0 to 3, got %q", v)
		}
		o.Verbosity = n
	}
	if v := getenv("VIGIL_EXIT_ZERO"); v != "" {
		codes, err := parseExitCodes(v)
		if err != nil {
			return o, fmt.Errorf("VIGIL_EXIT_ZERO: %w", err)
		}
		o.ExitZero = codes
	}
	// -e replaces VIGIL_EXIT_ZERO, as every flag overrides its variable.
	var exitZero []int
	// The long forms every init answers to, alone.
	if len(args) == 1 {
		switch args[0] {
		case "--help":
			return o, errHelp
		case "--version":
			return o, errVersion
		}
	}
	// Only "--" itself ends the options; "--foo" is an unknown option '-'.
	g := getopt.Getopt{Args: args, Opts: "hVpqvg:s:i:e:H:", DashDashOnly: true}
	for g.Next() {
		switch g.Opt {
		case 'h':
			return o, errHelp
		case 'V':
			return o, errVersion
		case 'p':
			o.Prefix = true
		case 'q':
			o.Verbosity = 0
		case 'v':
			o.Verbosity = min(o.Verbosity+1, 3)
		case 'g':
			d, err := services.ParseGrace(g.Arg)
			if err != nil {
				return o, fmt.Errorf("-g: %w", err)
			}
			o.Grace = d
		case 's':
			o.SvDir = g.Arg
		case 'i':
			o.InitDir = g.Arg
		case 'e':
			n, err := parseExitCode(g.Arg)
			if err != nil {
				return o, fmt.Errorf("-e: %w", err)
			}
			exitZero = append(exitZero, n)
		case 'H':
			o.HTTP = g.Arg
		}
	}
	var e *getopt.Error
	if errors.As(g.Err(), &e) {
		if e.Missing {
			return o, fmt.Errorf("option -%c needs a value", e.Opt)
		}
		return o, fmt.Errorf("unknown option -%c", e.Opt)
	}
	if exitZero != nil {
		o.ExitZero = exitZero
	}
	o.Command = g.Rest()
	return o, nil
}
