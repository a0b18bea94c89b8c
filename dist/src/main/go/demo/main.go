// goscope-demo-server: a small net/http server that Goscope traces in `goscope demo` (as demo-back, called by
// goscope-demo-front, see front/) and in the end-to-end tests. A server only: it links no HTTP client code, so the
// tests that trace it attach the server probes alone.
//
// Routes (each also matches any sub-path, so every request can carry a unique path):
//
//	/hello           200
//	/missing         404
//	/fail            500
//	/slow            sleeps 20 ms, then 200
//	/sleep/<ms>      sleeps that many milliseconds (at most 60 s), then 200
//	/inventory       200
//	/price           sleeps 5 ms, then 200
//	/recommendations 500 (a failing dependency)
//	/cart            404
//
// With -tls-cert-out it serves HTTPS instead, with a self-signed certificate made at start (for 127.0.0.1 and
// localhost, written there as PEM for clients to trust), so that clients negotiate HTTP/2 (ALPN "h2", served by the
// standard library's bundled HTTP/2 server) or HTTP/1.1 on the same port.
//
// Usage: goscope-demo-server [-addr 127.0.0.1:8080] [-tls-cert-out cert.pem]
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
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
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
	case strings.HasPrefix(p, "/sleep/"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(p, "/sleep/"))
		if ms > 60000 {
			ms = 60000
		}
		time.Sleep(time.Duration(ms) * time.Millisecond) // Go 1.19 builds this too: no min/max builtins
		fmt.Fprintln(w, "slept")
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
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	certOut := flag.String("tls-cert-out", "", "serve HTTPS with a self-signed certificate, written here (PEM)")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(route)}
	fmt.Fprintf(os.Stderr, "goscope-demo-server listening on %s pid=%d\n", *addr, os.Getpid())
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
