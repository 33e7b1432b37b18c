// Package svlogd is runit 2.1.2's svlogd: it reads log lines on standard
// input and writes them, filtered, prefixed and timestamped, into rotated
// files in one or more log directories.
//
// vigil differs from runit on purpose where runit loses data:
//
//   - a last line without a newline at end of input is kept (runit drops it);
//   - on TERM, a line in the middle of being read is finished first (for at
//     most termLinger), so restarting a logger never cuts a line in two;
//   - a write error is reported once and retried until it succeeds, with
//     pauses shorter than runit's 3 s; a removed current or log directory is
//     recreated instead of writing on into an unlinked file;
//   - a missing log directory is created;
//   - a `U` line with an unusable address does not make the directory
//     UDP-only (runit then silently drops every line);
//   - a processor killed by a signal counts as failed (runit deletes the
//     input as if it had succeeded), and a failing processor is restarted
//     after a growing pause instead of in a tight loop;
//   - a log directory given as `-` is standard output (see logdir.stdout).
package svlogd

import (
	"io"
	"path/filepath"
	"strconv"

	"github.com/vigil-init/vigil/internal/getopt"
)

const usageText = " [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n"

// version is what runit's svlogd -V prints.
const version = "$Id: 5e55a90e0a1b35ec47fed3021453c50675ea1117 $"

// options are svlogd's command line.
type options struct {
	verbose bool
	stamp   int    // 0 none, 1 TAI64N, 2 -tt, 3 -ttt
	linemax uint64 // -l
	buflen  uint64 // -b
	repl    byte   // -r; 0 means no replacement
	replace string // -R
	dirs    []string
}

// maxBuflen bounds -b (and so -l, which must be smaller).
const maxBuflen = 1 << 30

// Main is svlogd. args[0] is the name it was called by.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prog := "svlogd"
	if len(args) > 0 {
		prog = args[0]
	}
	opt, ok := parseArgs(args, stderr)
	if !ok {
		io.WriteString(stderr, "usage: "+prog+usageText+"\n")
		return 111
	}
	// runit allocates the buffer and dies when it cannot; a size no
	// logger needs is refused the same way before Go's allocator panics.
	if opt.buflen > maxBuflen {
		io.WriteString(stderr, "svlogd: fatal: out of memory\n")
		return 111
	}
	return run(opt, stdin, stdout, stderr)
}

// parseArgs is djb's getopt with svlogd's "R:r:l:b:tvV". It returns false
// when the usage line is due.
func parseArgs(args []string, stderr io.Writer) (options, bool) {
	opt := options{linemax: 1000, buflen: 1024}
	base := "svlogd"
	if len(args) > 0 {
		base = filepath.Base(args[0])
	}
	g := getopt.Getopt{Args: args[min(1, len(args)):], Opts: "R:r:l:b:tvV"}
	for g.Next() {
		switch g.Opt {
		case 't':
			if opt.stamp < 3 {
				opt.stamp++
			}
		case 'v':
			opt.verbose = true
		case 'V':
			io.WriteString(stderr, version+"\n")
			return opt, false
		case 'R':
			opt.replace = g.Arg
			if opt.repl == 0 {
				opt.repl = '_'
			}
		case 'r':
			if len(g.Arg) != 1 {
				return opt, false
			}
			opt.repl = g.Arg[0]
		case 'l':
			opt.linemax, _ = scanUlong(g.Arg)
			if opt.linemax == 0 {
				opt.linemax = 1000
			}
		case 'b':
			opt.buflen, _ = scanUlong(g.Arg)
			if opt.buflen == 0 {
				opt.buflen = 1024
			}
		}
	}
	if err := g.Err(); err != nil {
		io.WriteString(stderr, base+": "+err.Error()+"\n")
		return opt, false
	}
	opt.dirs = g.Rest()
	if len(opt.dirs) == 0 || opt.buflen <= opt.linemax {
		return opt, false
	}
	return opt, true
}

// scanUlong is djb's scan_ulong: leading decimal digits, wrapping on
// overflow; it returns the value and how many bytes it used.
func scanUlong[T string | []byte](s T) (uint64, int) {
	var u uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		u = u*10 + uint64(s[i]-'0')
	}
	return u, i
}

func utoa(u uint64) string { return strconv.FormatUint(u, 10) }
