// Command vigil is a container init and, called by another name, each of
// the runit tools a multi-service container needs.
package main

import "os"

func main() {
	os.Exit(dispatch(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
