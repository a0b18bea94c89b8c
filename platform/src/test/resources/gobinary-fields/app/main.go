// Prints unsafe.Offsetof for the exported net/http and net/url fields Goscope resolves, one "struct.field offset"
// per line, and links a real HTTP server so unexported types (net/http.response) are in the binary.
package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"unsafe"
)

func main() {
	var r http.Request
	var u url.URL
	fmt.Println("net/http.Request.Method", unsafe.Offsetof(r.Method))
	fmt.Println("net/http.Request.URL", unsafe.Offsetof(r.URL))
	fmt.Println("net/http.Request.Proto", unsafe.Offsetof(r.Proto))
	fmt.Println("net/http.Request.Host", unsafe.Offsetof(r.Host))
	fmt.Println("net/http.Request.RemoteAddr", unsafe.Offsetof(r.RemoteAddr))
	fmt.Println("net/http.Request.RequestURI", unsafe.Offsetof(r.RequestURI))
	fmt.Println("net/http.Request.TLS", unsafe.Offsetof(r.TLS))
	fmt.Println("net/http.Request.Header", unsafe.Offsetof(r.Header))
	fmt.Println("net/url.URL.Path", unsafe.Offsetof(u.Path))
	fmt.Println("net/url.URL.Scheme", unsafe.Offsetof(u.Scheme))
	fmt.Println("net/url.URL.RawQuery", unsafe.Offsetof(u.RawQuery))
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, r.URL.Path) })
		_ = http.ListenAndServe("127.0.0.1:0", nil)
	}
}
