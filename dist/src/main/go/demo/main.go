// goscope-demo-server: a small net/http server that Goscope traces in `goscope demo` and in the end-to-end tests.
//
// Routes (each also matches any sub-path, so every request can carry a unique path):
//
//	/hello   200
//	/missing 404
//	/fail    500
//	/slow    sleeps 20 ms, then 200
//
// Usage: goscope-demo-server [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

func route(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/hello"):
		fmt.Fprintln(w, "hello from a traced Go server")
	case strings.HasPrefix(p, "/missing"):
		http.NotFound(w, r)
	case strings.HasPrefix(p, "/fail"):
		http.Error(w, "deliberate failure", http.StatusInternalServerError)
	case strings.HasPrefix(p, "/slow"):
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "slow")
	default:
		http.NotFound(w, r)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(route)}
	fmt.Fprintf(os.Stderr, "goscope-demo-server listening on %s pid=%d\n", *addr, os.Getpid())
	log.Fatal(srv.ListenAndServe())
}
