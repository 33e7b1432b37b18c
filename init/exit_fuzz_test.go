package pid1

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseExitCodes: VIGIL_EXIT_ZERO comes from the container's
// environment. Whatever it holds, it is either refused or read as codes
// from 0 to 255 that print back to a list read the same way.
func FuzzParseExitCodes(f *testing.F) {
	for _, seed := range []string{"143", "143 130", "143,130", " 0\t255 ", "x", "300", "-1", "", "1,,2", "0x8f", "+1", "01"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		codes, err := parseExitCodes(s)
		if err != nil {
			return
		}
		var text []string
		for _, n := range codes {
			if n < 0 || n > 255 {
				t.Fatalf("parseExitCodes(%q) = %v: %d is not an exit code", s, codes, n)
			}
			text = append(text, strconv.Itoa(n))
		}
		again, err := parseExitCodes(strings.Join(text, " "))
		if err != nil || !slices.Equal(again, codes) {
			t.Fatalf("parseExitCodes(%q) = %v, which reads back as %v, %v", s, codes, again, err)
		}
	})
}
