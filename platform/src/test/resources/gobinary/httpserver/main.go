package main

import (
	"fmt"
	"net/http"
	"os"
)

//go:noinline
func compute(n int) int {
	if n < 0 {
		return -n
	}
	s := 0
	for i := 0; i < n; i++ {
		s += i
	}
	return s
}

func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %d\n", compute(len(r.URL.Path)))
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", hello)
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	addr := ":8080"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	if err := http.ListenAndServe(addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
