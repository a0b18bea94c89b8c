// goscope-demo-server: a small net/http server that Goscope traces in `goscope demo` and in the end-to-end tests.
//
// It runs in one of two roles. The back role (the default) answers by itself; each route also matches any sub-path,
// so every request can carry a unique path:
//
//	/hello           200
//	/missing         404
//	/fail            500
//	/slow            sleeps 20 ms, then 200
//	/inventory       200
//	/price           sleeps 5 ms, then 200
//	/recommendations 500 (a failing dependency)
//	/cart            404
//
// The front role (-role front -back URL) calls the back service with a net/http client, so that one request to the
// front is one trace across both processes:
//
//	/checkout/{id}  calls back/inventory/{id} from the handler goroutine, then back/price/{id} and
//	                back/recommendations/{id} from two goroutines it starts and waits for; answers 200
//	/cart/{id}      calls back/cart/{id} and answers with the back's status (404)
//	anything else   as the back role
//
// With -tls-cert-out it serves HTTPS instead, with a self-signed certificate made at start (for 127.0.0.1 and
// localhost, written there as PEM for clients to trust), so that clients negotiate HTTP/2 (ALPN "h2", served by the
// standard library's bundled HTTP/2 server) or HTTP/1.1 on the same port.
//
// Standard library only, for Go 1.19 and later (the build uses whichever go is on PATH, in GOPATH mode).
//
// Usage: goscope-demo-server [-role back|front] [-addr 127.0.0.1:8080] [-back http://host:port] [-tls-cert-out cert.pem]
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
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
	case strings.HasPrefix(p, "/inventory"):
		fmt.Fprintln(w, "in stock")
	case strings.HasPrefix(p, "/price"):
		time.Sleep(5 * time.Millisecond)
		fmt.Fprintln(w, "4.20 EUR")
	case strings.HasPrefix(p, "/recommendations"):
		http.Error(w, "recommendations unavailable", http.StatusInternalServerError)
	case strings.HasPrefix(p, "/cart"):
		http.Error(w, "no such cart", http.StatusNotFound)
	default:
		http.NotFound(w, r)
	}
}

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

func front(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/checkout/"):
		id := strings.TrimPrefix(p, "/checkout/")
		stock, err := call("/inventory/" + id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		// Goroutines inherit the handler's trace context: their calls are children of this request's span.
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
		http.Error(w, "cart: back answered "+strconv.Itoa(status), status)
	default:
		route(w, r)
	}
}

// selfSigned makes a P-256 certificate for 127.0.0.1 and localhost, valid for a day, and writes it as PEM to certOut.
func selfSigned(certOut string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "goscope-demo-server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certOut, pemBytes, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func main() {
	role := flag.String("role", "back", "back (answers by itself) or front (calls -back)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.StringVar(&backURL, "back", "", "the back service's base URL, e.g. http://127.0.0.1:8081 (front)")
	certOut := flag.String("tls-cert-out", "", "serve HTTPS with a self-signed certificate, written here (PEM)")
	flag.Parse()
	handler := http.HandlerFunc(route)
	switch *role {
	case "back":
	case "front":
		if backURL == "" {
			log.Fatal("-role front needs -back URL")
		}
		handler = front
	default:
		log.Fatalf("unknown -role %q (back or front)", *role)
	}
	srv := &http.Server{Addr: *addr, Handler: handler}
	fmt.Fprintf(os.Stderr, "goscope-demo-server %s listening on %s pid=%d\n", *role, *addr, os.Getpid())
	if *certOut == "" {
		log.Fatal(srv.ListenAndServe())
	}
	cert, err := selfSigned(*certOut)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	// Certificates come from TLSConfig; ListenAndServeTLS enables HTTP/2 (ALPN h2) by itself.
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
