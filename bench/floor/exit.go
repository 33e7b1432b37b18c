//go:build ignore

// The Go start-up floor: a static Go program that exits at once.
package main

func main() {}
