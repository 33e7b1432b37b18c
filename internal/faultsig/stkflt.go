//go:build !mips && !mipsle && !mips64 && !mips64le

package faultsig

import "golang.org/x/sys/unix"

// SIGSTKFLT, which no fault raises any more but the Go runtime still
// takes for a crash, exists everywhere but on MIPS.
func init() { List = append(List, unix.SIGSTKFLT) }
