package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-init/vigil/internal/testenv"
)

// zombieCheck is a main command: it makes args[0] orphans (a shell forks
// them and exits, so they are reparented to PID 1), checks that they all
// were, then makes them exit at the same instant (they all read one pipe,
// whose write end it closes), and waits until no process but PID 1 and
// itself is left. It exits 0 when none is, 1 listing what is left after
// $ZOMBIE_DEADLINE (default 10s).
func zombieCheck(args []string) int {
	n, _ := strconv.Atoi(args[0])
	deadline := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("ZOMBIE_DEADLINE")); err == nil {
		deadline = d
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		return 2
	}
	// Half are plain background subshells, half double-fork through
	// setsid as daemons do; each exits with its own code. The pipe is
	// fd 3: a shell gives background commands /dev/null for stdin.
	spawn := exec.Command("/bin/sh", "-c", `i=0
while [ $i -lt $1 ]; do
	if [ $((i % 2)) = 0 ]; then (read x <&3; exit $((i % 256))) &
	else (setsid sh -c 'read x <&3; exit 3' &) ; fi
	i=$((i+1))
done`, "sh", strconv.Itoa(n))
	spawn.ExtraFiles = []*os.File{r}
	if err := spawn.Run(); err != nil {
		fmt.Println("spawner:", err)
		return 2
	}
	r.Close()
	self := os.Getpid()
	others := func() (all, zombies, adopted int) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == 1 || pid == self {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			i := bytes.LastIndexByte(b, ')')
			f := strings.Fields(string(b[i+1:]))
			all++
			if f[0] == "Z" {
				zombies++
			}
			if f[1] == "1" {
				adopted++
			}
		}
		return
	}
	// All of them must be orphans of PID 1 before they exit, or the test
	// proves nothing.
	start := time.Now()
	for {
		_, _, adopted := others()
		if adopted >= n {
			break
		}
		if time.Since(start) > deadline {
			fmt.Printf("only %d of %d processes were reparented to PID 1\n", adopted, n)
			return 2
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Close() // all exit now
	start = time.Now()
	for {
		all, zombies, _ := others()
		if all == 0 {
			fmt.Printf("all %d reaped in %v\n", n, time.Since(start).Round(time.Millisecond))
			return 0
		}
		if time.Since(start) > deadline {
			fmt.Printf("%d processes left (%d zombies) after %v\n", all, zombies, deadline)
			return 1
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noReapInit is a PID 1 that runs helper args[0] with args[1:], waits for
// that one child and reaps nothing else: the control that shows
// zombieCheck can fail.
func noReapInit(args []string) int {
	self, _ := os.Executable()
	env := append(os.Environ(), initHelperEnv+"="+args[0])
	p, err := os.StartProcess(self, append([]string{self}, args[1:]...), &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		fmt.Println(err)
		return 2
	}
	st, err := p.Wait()
	if err != nil {
		fmt.Println(err)
		return 2
	}
	return st.ExitCode()
}

// TestInitReapsOrphans: 200 orphans, half of them double-forked daemons,
// exit at the same instant; vigil reaps every one and no zombie is left
// (R1, R4, R5, R6). The control runs the same check under a PID 1 that
// reaps only its own child and must see the zombies.
func TestInitReapsOrphans(t *testing.T) {
	requireInitNS(t)
	zombies, zenv := initHelperCmd(t, "zombies", "200")
	noreap, nenv := initHelperCmd(t, "noreap", "zombies", "200")
	cases := []struct {
		name string
		argv []string
		env  []string
		want int
	}{
		{"vigil", append([]string{vigilInit(t), "--"}, zombies...), []string{zenv, "ZOMBIE_DEADLINE=" + testenv.Scale(10*time.Second).String()}, 0},
		// The deadline bounds the adoption of the 200 too, which a loaded
		// machine may take a while over; then it is waited out.
		{"control without reaping", noreap, []string{nenv, "ZOMBIE_DEADLINE=" + testenv.Scale(3*time.Second).String()}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, c.argv...)...)
			cmd.Env = append(initBaseEnv(dir), c.env...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != c.want {
				t.Errorf("%s: zombie check exited %d; want %d\n%s", c.name, got, c.want, out)
			}
			t.Logf("%s", bytes.TrimSpace(out))
		})
	}
}
