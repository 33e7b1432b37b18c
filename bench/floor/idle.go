//go:build ignore

// The Go memory floor: the smallest static Go program that blocks in
// epoll_wait, a read on a pipe parked in the runtime's netpoller.
package main

import "os"

func main() {
	r, _, err := os.Pipe()
	if err != nil {
		os.Exit(1)
	}
	r.Read(make([]byte, 1))
}
