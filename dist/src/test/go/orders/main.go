// orders: the Go application the example probe-set plugin (examples/probe-example) traces. Every request to
// /orders/<id> calls processOrder(id, r.URL) from its handler goroutine; the example probe set hooks
// main.processOrder and records an INTERNAL span, child of the net/http SERVER span of the same request, with the
// order id (the first argument), the URL's raw query (a struct field read at an offset the host resolves) and
// the probe's BPF cookie.
//
// Standard library only, built in GOPATH mode.
//
// Usage: orders -addr 127.0.0.1:8080
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// processOrder is what the example probe hooks: id arrives in the first integer register, source in the second
// (Go's register ABI). It must stay a real function: never inlined.
//
//go:noinline
func processOrder(id int, source *url.URL) int {
	time.Sleep(2 * time.Millisecond) // the work: long enough for a visible span
	return id * len(source.RawQuery)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	http.HandleFunc("/orders/", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/orders/"))
		if err != nil {
			http.Error(w, "bad order id", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "order %d: %d\n", id, processOrder(id, r.URL))
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
