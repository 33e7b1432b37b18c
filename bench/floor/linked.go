//go:build ignore

// The Go start-up floor of a program of vigil's kind: it links the
// standard packages vigil links (the network, JSON, exec, signals,
// formatting) and exits at once. Its distance from exit.go is what those
// packages cost every start-up of a Go program, through their size and
// their initialisation, before any code of the program runs.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// keep holds one entry point of each package, so that the linker keeps
// them and what they reach.
var keep = []any{
	bufio.NewScanner, context.WithTimeout, binary.Write, hex.EncodeToString,
	json.Marshal, json.Unmarshal, fmt.Fprintf, net.Dial, net.Listen,
	url.Parse, os.ReadFile, exec.Command, signal.Notify, filepath.Walk,
	debug.SetGCPercent, slices.Sort[[]int], sort.Strings, strconv.Quote,
	strings.Fields, time.Now, time.NewTimer,
}

func main() {
	if len(os.Args) > 1<<30 {
		fmt.Println(keep...)
	}
}
