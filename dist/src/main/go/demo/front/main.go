// goscope-demo-front: the caller in `goscope demo`. Each request to it calls goscope-demo-server (the back service)
// with a net/http client, so that Goscope shows one trace across both processes:
//
//	/checkout/{id}  calls back/inventory/{id} from the handler goroutine, then back/price/{id} and
//	                back/recommendations/{id} (which fails with 500) from two goroutines it starts and waits for;
//	                answers 200
//	/cart/{id}      calls back/cart/{id} and answers with the back's status (404)
//	anything else   404
//
// Standard library only, for Go 1.19 and later (the build uses whichever go is on PATH, in GOPATH mode).
//
// Usage: goscope-demo-front -back http://127.0.0.1:8081 [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	backURL string
	client  = &http.Client{Timeout: 5 * time.Second}
)

// call GETs backURL+path and returns the response status.
func call(path string) (int, error) {
	resp, err := client.Get(backURL + path)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func route(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/checkout/"):
		id := strings.TrimPrefix(p, "/checkout/")
		stock, err := call("/inventory/" + id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		// Goroutines inherit the handler's trace context: their calls are children of this request's span too.
		var price, recommendations int
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			price, _ = call("/price/" + id)
		}()
		go func() {
			defer wg.Done()
			recommendations, _ = call("/recommendations/" + id)
		}()
		wg.Wait()
		fmt.Fprintf(w, "checkout %s: inventory %d, price %d, recommendations %d\n", id, stock, price, recommendations)
	case strings.HasPrefix(p, "/cart/"):
		status, err := call("/cart/" + strings.TrimPrefix(p, "/cart/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Error(w, "cart: the back answered "+strconv.Itoa(status), status)
	default:
		http.NotFound(w, r)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.StringVar(&backURL, "back", "", "the back service's base URL, e.g. http://127.0.0.1:8081")
	flag.Parse()
	if backURL == "" {
		log.Fatal("-back URL is required")
	}
	fmt.Fprintf(os.Stderr, "goscope-demo-front listening on %s pid=%d, calling %s\n", *addr, os.Getpid(), backURL)
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(route)))
}
