// h2server: a net/http server over TLS with a self-signed certificate made at start, so that clients negotiate
// HTTP/2 (ALPN "h2", served by the standard library's bundled HTTP/2 server) or HTTP/1.1 on the same port.
//
// Routes (each also matches any sub-path, so every request can carry a unique path), as in the demo server:
//
//	/hello   200
//	/missing 404
//	/fail    500
//	/slow    sleeps 20 ms, then 200
//
// The certificate (PEM, for 127.0.0.1 and localhost) is written to -cert-out before the server listens, for the
// client to trust.
//
// Usage: h2server -addr 127.0.0.1:8443 -cert-out /path/cert.pem
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
	"strings"
	"time"
)

func route(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/hello"):
		fmt.Fprintln(w, "hello over", r.Proto)
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

// selfSigned makes a P-256 certificate for 127.0.0.1 and localhost, valid for a day, and writes it as PEM to certOut.
func selfSigned(certOut string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "goscope-h2server"},
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
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	certOut := flag.String("cert-out", "h2server-cert.pem", "where to write the server certificate (PEM)")
	flag.Parse()
	cert, err := selfSigned(*certOut)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	srv := &http.Server{
		Addr:      *addr,
		Handler:   http.HandlerFunc(route),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	fmt.Fprintf(os.Stderr, "h2server listening on %s pid=%d\n", *addr, os.Getpid())
	// Certificates come from TLSConfig; ListenAndServeTLS enables HTTP/2 (ALPN h2) by itself.
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
