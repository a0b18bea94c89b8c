// shortlived: a net/http server that exits on its own shortly after starting, so Goscope sees it appear and vanish
// while it is still analysing or attaching. The agent must log at most "exited during attach" and never fail.
//
// Usage: shortlived [-addr 127.0.0.1:0] [-after 100ms]
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	after := flag.Duration("after", 100*time.Millisecond, "exit this long after start")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "short-lived")
	}))
	time.Sleep(*after)
	os.Exit(0)
}
