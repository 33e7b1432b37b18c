package pid1

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// parseExitCode reads one CODE of -e: a number an exit status can hold.
func parseExitCode(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("want an exit code from 0 to 255, got %q", s)
	}
	return n, nil
}

// parseExitCodes reads VIGIL_EXIT_ZERO: codes separated by spaces or
// commas ("143 130", "143,130").
func parseExitCodes(s string) ([]int, error) {
	var codes []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		n, err := parseExitCode(f)
		if err != nil {
			return nil, err
		}
		codes = append(codes, n)
	}
	return codes, nil
}

// remapExit is tini's -e: a code listed in zero becomes 0, so that a
// sidecar or a Job whose command ends on the TERM of `docker stop` (143)
// counts as a success.
func remapExit(code int, zero []int) int {
	if slices.Contains(zero, code) {
		return 0
	}
	return code
}

// mainExitCode is the container's exit code for the main command's code,
// saying so when -e turns it into 0. It applies to the code of a main
// command that ran, whether it exited or was killed (128+n), not to one
// that could not be started (126, 127), nor to a code a service asked for.
func (p *initProc) mainExitCode(code int) int {
	if got := remapExit(code, p.opts.ExitZero); got != code {
		p.infof("exit code %d of the main command counts as %d (-e %d)", code, got, code)
		return got
	}
	return code
}
