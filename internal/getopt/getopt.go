// Package getopt is djb's getopt (sgetopt), as runit's tools parse their
// command lines.
//
// Options are single bytes introduced by '-' and may be clustered ("-vt"
// is -v -t). An option followed by ':' in the option string takes an
// argument: the rest of its word if any ("-w5"), else the next word
// whatever it is ("-w 5", "-w --"). Options end at the first word that is
// not an option (kept, as is "-" alone or the empty word) or at "--"
// (dropped). ':' and '-' are never options.
//
// A typical loop:
//
//	g := getopt.Getopt{Args: args[1:], Opts: "w:vV"}
//	for g.Next() {
//		switch g.Opt {
//		case 'w':
//			wait = g.Arg
//		...
//		}
//	}
//	if err := g.Err(); err != nil {
//		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
//		return usage()
//	}
//	operands := g.Rest()
package getopt

// Getopt walks a command line. The zero value with Args and Opts set is
// ready to use.
type Getopt struct {
	Args []string // the command line without the program name
	Opts string   // option letters, each followed by ':' if it takes an argument

	// DashDashOnly ends the options only at "--" itself. By default, as in
	// djb's sgetopt, any word starting with "--" ends them and is dropped
	// ("--foo" is not an error); with DashDashOnly, "--foo" is a cluster
	// whose first option, '-', is illegal.
	DashDashOnly bool

	Opt byte   // the option Next found
	Arg string // its argument, for an option that takes one

	ind  int // the word being read
	pos  int // the byte within Args[ind]; 0 between words
	done bool
	err  error
}

// Error is a command line getopt rejects.
type Error struct {
	Opt     byte // the option at fault
	Missing bool // Opt takes an argument and none is left; else Opt is unknown
}

// Error is runit's complaint without the program name:
// "illegal option -- x" or "option requires an argument -- x".
// The byte is printed as the rune of that value, as the applets always
// have (a byte over 0x7f becomes two bytes of UTF-8).
func (e *Error) Error() string {
	if e.Missing {
		return "option requires an argument -- " + string(rune(e.Opt))
	}
	return "illegal option -- " + string(rune(e.Opt))
}

// Next finds the next option, sets Opt and Arg and reports true; at the end
// of the options or at an error (see Err) it reports false, then always.
func (g *Getopt) Next() bool {
	g.Opt, g.Arg = 0, ""
	if g.done {
		return false
	}
	if g.pos > 0 && g.pos >= len(g.Args[g.ind]) {
		g.ind, g.pos = g.ind+1, 0
	}
	if g.pos == 0 {
		if g.ind >= len(g.Args) {
			return g.stop(nil)
		}
		a := g.Args[g.ind]
		if len(a) < 2 || a[0] != '-' {
			return g.stop(nil)
		}
		if a[1] == '-' && (len(a) == 2 || !g.DashDashOnly) {
			g.ind++
			return g.stop(nil)
		}
		g.pos = 1
	}
	a := g.Args[g.ind]
	c := a[g.pos]
	g.pos++
	i := g.index(c)
	if i < 0 {
		return g.stop(&Error{Opt: c})
	}
	if i+1 < len(g.Opts) && g.Opts[i+1] == ':' {
		g.Arg = a[g.pos:]
		g.ind, g.pos = g.ind+1, 0
		if g.Arg == "" {
			if g.ind >= len(g.Args) {
				return g.stop(&Error{Opt: c, Missing: true})
			}
			g.Arg = g.Args[g.ind]
			g.ind++
		}
	}
	g.Opt = c
	return true
}

// index is where option c is in Opts, or -1.
func (g *Getopt) index(c byte) int {
	if c == ':' || c == '-' {
		return -1
	}
	for i := 0; i < len(g.Opts); i++ {
		if g.Opts[i] == c {
			return i
		}
	}
	return -1
}

func (g *Getopt) stop(err error) bool {
	g.done = true
	if err != nil {
		g.err = err
	}
	return false
}

// Err is the *Error that stopped Next, or nil if the options simply ended.
func (g *Getopt) Err() error { return g.err }

// Rest is what follows the options, once Next has reported false without
// an error: the operands.
func (g *Getopt) Rest() []string { return g.Args[min(g.ind, len(g.Args)):] }
