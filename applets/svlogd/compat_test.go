package svlogd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleInput is realistic and awkward log text: levels for the patterns,
// tabs, control bytes, NUL, invalid UTF-8, empty lines and lines longer
// than any -l used below. It ends in a newline (runit drops a last line
// without one; vigil keeps it, tested elsewhere).
func sampleInput() string {
	var b strings.Builder
	levels := []string{"info", "debug", "warn", "error", "xxx"}
	for i := range 120 {
		lv := levels[i%len(levels)]
		switch {
		case i%17 == 0:
			fmt.Fprintf(&b, "%s line %d %s\n", lv, i, strings.Repeat("long-", 30+i%7))
		case i%13 == 0:
			fmt.Fprintf(&b, "%s\tnul\x00byte and \xff\xfe bad utf-8 %d \x01ctl é\n", lv, i)
		case i%11 == 0:
			b.WriteString("\n")
		case lv == "xxx":
			fmt.Fprintf(&b, "xxx%d\n", i)
		default:
			fmt.Fprintf(&b, "%s: request %d served in %dms\n", lv, i, i*7%300)
		}
	}
	return b.String()
}

// TestSameFilesAsRunit runs vigil's and Debian's svlogd on the same input
// and config and compares the directories file by file (kind, size, mode,
// contents with timestamps normalised), stderr, and UDP datagrams. The
// table covers every config letter.
func TestSameFilesAsRunit(t *testing.T) {
	runit := runitImpl(t)
	vigil := vigilImpl()
	input := sampleInput()
	tests := []struct {
		name   string
		args   []string
		config string   // "" means no config file; PORT is a UDP port
		old    []string // rotated files in the directory before the run
	}{
		{"no config", []string{"-tt"}, "", nil},
		{"s rotates and splits lines", []string{"-tt"}, "s200\nn0\n", nil},
		{"s with k suffix", []string{"-t"}, "s1k\nn0\n", nil},
		{"s with m suffix", []string{"-ttt"}, "s1m\n", nil},
		{"s smaller than l", nil, "s50\nn0\n", nil},
		{"s0 never rotates", nil, "s0\n", nil},
		{"n keeps the newest", nil, "s300\nn3\n", nil},
		{"N below n", nil, "s300\nn4\nN2\n", nil},
		{"t with m and h", []string{"-ttt"}, "t1m\ns400\nn0\nt2h\n", nil},
		{"processor", []string{"-t"}, "s300\nn0\n!tr a-z A-Z; echo processed >&5; cat <&4 >&5\n", nil},
		{"prefix", []string{"-tt"}, "pweb: \n", nil},
		{"select", []string{"-tt"}, "-*\n+*error*\n+warn*\n", nil},
		{"deselect", nil, "-*debug*\n-\n", nil},
		{"plus pattern", nil, "-+x*\n", nil},
		{"stderr e and E", []string{"-tt"}, "pP \ne*error*\nE*error 3*\n", nil},
		{"replace -r -R", []string{"-r", "#", "-R", "ab"}, "s500\nn0\n", nil},
		{"replace -R alone", []string{"-R", "e"}, "", nil},
		{"long lines -l", []string{"-tt", "-l", "40", "-b", "64"}, "e*\ns500\nn0\n", nil},
		{"udp u", []string{"-tt"}, "pudp \nuPORT\n-*debug*\n", nil},
		{"udp U", []string{"-tt"}, "UPORT\n", nil},
		{"udp bad address", nil, "u1.2.3\nuabc\nu1.2.3.4:0\n", nil},
		{"junk config", nil, "\x00\xff\njunk\n#comment\n\n\t\ns\x01\nzzz\n+", nil},
		// .u files wait for their processor: n neither counts nor
		// deletes them; other rotated names it does.
		{"n skips unprocessed .u", nil, "s300\nn2\n", []string{
			"@400000005000000000000001.u", "@400000005000000000000002.u",
			"@400000005000000000000003.x", "@400000005000000000000004.s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [2]string
			for i, im := range []impl{vigil, runit} {
				dir := filepath.Join(t.TempDir(), "log")
				config := tt.config
				var conn net.PacketConn
				if strings.Contains(config, "PORT") {
					var err error
					if conn, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					config = strings.ReplaceAll(config, "PORT", conn.LocalAddr().String())
				}
				mkdir(t, dir, config)
				for _, name := range tt.old {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(name+"\n"), 0o744); err != nil {
						t.Fatal(err)
					}
				}
				args := append(slices.Clone(tt.args), dir)
				stderr, code := runOnce(t, im, filepath.Dir(dir), input, args...)
				got[i] = fmt.Sprintf("exit %d\nstderr:\n%s\nfiles:\n%s", code, normal(stderr), snapshot(t, dir))
				if conn != nil {
					got[i] += "\nudp:\n" + normal(receiveAll(conn))
				}
			}
			if got[0] != got[1] {
				t.Errorf("vigil and runit differ\nvigil:\n%s\nrunit:\n%s", got[0], got[1])
			}
		})
	}
}

// rotatedRE is a rotated file's name in a "rename:" message.
var rotatedRE = regexp.MustCompile(`@[0-9a-f]{24}\.s`)

// TestVerboseOrderLikeRunit: with several directories, a line's copies on
// stderr come before the rotation the line causes, as in runit.
func TestVerboseOrderLikeRunit(t *testing.T) {
	runit := runitImpl(t)
	vigil := vigilImpl()
	var got [2]string
	for i, im := range []impl{vigil, runit} {
		root := t.TempDir()
		mkdir(t, filepath.Join(root, "d0"), "s5\n")
		mkdir(t, filepath.Join(root, "d1"), "e*\n")
		stderr, code := runOnce(t, im, root, "abcd\nefgh\nijkl\n", "-v", "d0", "d1")
		got[i] = fmt.Sprintf("exit %d\nstderr:\n%s", code, rotatedRE.ReplaceAllString(stderr, "@<tai64n>.s"))
	}
	if got[0] != got[1] {
		t.Errorf("vigil and runit differ\nvigil:\n%s\nrunit:\n%s", got[0], got[1])
	}
}

// receiveAll reads the datagrams waiting on conn.
func receiveAll(conn net.PacketConn) string {
	var b strings.Builder
	buf := make([]byte, 65536)
	for {
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return b.String()
		}
		b.Write(buf[:n])
	}
}

// TestUsageLikeRunit compares the usage errors and exit codes.
func TestUsageLikeRunit(t *testing.T) {
	runit := runitImpl(t)
	vigil := vigilImpl()
	dir := t.TempDir()
	mkdir(t, filepath.Join(dir, "d"), "")
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{},
		{"-V"},
		{"-x", "d"},
		{"-l"},
		{"-r", "ab", "d"},
		{"-l", "10", "-b", "10", "d"},
		{"-b", "1000", "d"},
		{"f"},
		{"-t", "--", "f"},
	} {
		var got [2]string
		for i, im := range []impl{vigil, runit} {
			c := im.cmd(args...)
			c.Dir = dir
			out, _ := c.CombinedOutput()
			s := strings.ReplaceAll(string(out), c.Path, "PROG")
			for _, m := range []string{": illegal", ": option"} {
				s = strings.ReplaceAll(s, filepath.Base(c.Path)+m, "PROG"+m)
			}
			got[i] = fmt.Sprintf("%s[exit %d]", s, c.ProcessState.ExitCode())
		}
		if got[0] != got[1] {
			t.Errorf("svlogd %q: got %q; want (runit) %q", args, got[0], got[1])
		}
	}
}
