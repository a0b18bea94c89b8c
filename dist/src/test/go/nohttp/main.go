// nohttp: a Go program that never uses net/http, so net/http.serverHandler.ServeHTTP is not linked in.
// It sleeps in a loop until killed; Goscope must decline it with one log line naming the missing symbol.
//
// Usage: nohttp [-tick 100ms]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	tick := flag.Duration("tick", 100*time.Millisecond, "sleep per loop iteration")
	flag.Parse()
	fmt.Fprintf(os.Stderr, "nohttp running pid=%d\n", os.Getpid())
	n := 0
	for {
		time.Sleep(*tick)
		n++
	}
}
