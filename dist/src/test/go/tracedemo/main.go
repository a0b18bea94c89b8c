// tracedemo: the front and back services of the whole-trace end-to-end tests. Standard library only, so that every
// toolchain of the test matrix builds it in GOPATH mode.
//
// Back (-role back): /ok 200 (body "ok <traceparent received> <number of traceparent headers>"), /missing 404,
// /fail 500, /slow 20 ms then 200; any sub-path.
//
// Front (-role front -back URL): its handlers call the back service with an http.Client (HTTP/1.1 for http://,
// HTTP/2 over TLS for https://, trusting -back-cert):
//
//	/fanout/{id}   two calls from the handler goroutine (back/ok, back/missing) and one from a goroutine the
//	               handler starts and waits for (back/fail); answers 200
//	/chain/{depth} a chain of {depth} nested goroutines, the innermost calls back/ok; answers 200
//	/one/{id}      one call from the handler goroutine (back/ok); answers 200 (benchmarks)
//	/deep/{n}      n calls, each from a fresh goroutine that first recurses 0, 1, ... n-1 frames deep, so that one
//	               of them runs out of its first stack right at the entry of a hooked function (Go then grows the
//	               stack and runs that function's first instructions again); answers 200
//	/pool/{id}     hands a call to a worker goroutine started at program start (its span must not inherit this
//	               request's context); answers 200
//	/own/{id}      a call that carries a traceparent header the application set itself
//	/down/{id}     a call to a port nobody listens on (a transport error); answers 502
//	/missing       404 without calling anything
//	/fail          500 without calling anything
//
// CLI (-role cli -back URL [-hold d]): one GET of back/ok/cli/<pid> as soon as it starts, then it exits (after
// holding d, e.g. to be seen running once).
//
// Usage: tracedemo -role back|front|cli [-addr 127.0.0.1:0] [-back URL] [-back-cert file] [-tls-cert-out file]
// A server prints "listening <addr> pid=<pid>" on stdout once it accepts connections.
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
	"io/ioutil"
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

var (
	buildTag string // set with -ldflags -X main.buildTag=... to make distinct binaries of one source (benchmarks)
	client   *http.Client
	backURL  string
	jobs     = make(chan job)
)

type job struct {
	path string
	done chan error
}

func get(path string, header http.Header) error {
	req, err := http.NewRequest("GET", backURL+path, nil)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(ioutil.Discard, resp.Body)
	return resp.Body.Close()
}

// worker runs from program start: calls it makes belong to no request.
func worker() {
	for j := range jobs {
		j.done <- get(j.path, nil)
	}
}

// descend recurses depth frames deep (a few words of stack each), then sends req with the Transport: nothing between
// here and the hooked (*Transport).roundTrip takes more stack, so for some depth its stack check is the one that
// finds the stack too small.
//
//go:noinline
func descend(depth int, req *http.Request) error {
	if depth > 0 {
		return descend(depth-1, req)
	}
	resp, err := client.Transport.RoundTrip(req)
	if err != nil {
		return err
	}
	io.Copy(ioutil.Discard, resp.Body)
	return resp.Body.Close()
}

func chain(depth int, done chan error) {
	if depth <= 1 {
		done <- get("/ok/chain", nil)
		return
	}
	go chain(depth-1, done)
}

func front(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/fanout/"):
		if err := get("/ok"+p, nil); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		get("/missing"+p, nil)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			get("/fail"+p, nil)
		}()
		wg.Wait()
		fmt.Fprintln(w, "fanout done")
	case strings.HasPrefix(p, "/one/"):
		if err := get("/ok"+p, nil); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "one done")
	case strings.HasPrefix(p, "/chain/"):
		depth, _ := strconv.Atoi(strings.TrimPrefix(p, "/chain/"))
		done := make(chan error, 1)
		go chain(depth, done)
		if err := <-done; err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "chain done")
	case strings.HasPrefix(p, "/deep/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(p, "/deep/"))
		for depth := 0; depth < n; depth++ {
			req, err := http.NewRequest("GET", backURL+"/ok/deep", nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			done := make(chan error, 1)
			go func(depth int) { done <- descend(depth, req) }(depth)
			if err := <-done; err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
		}
		fmt.Fprintln(w, "deep done")
	case strings.HasPrefix(p, "/pool/"):
		j := job{path: "/ok" + p, done: make(chan error, 1)}
		jobs <- j
		if err := <-j.done; err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "pool done")
	case strings.HasPrefix(p, "/own/"):
		h := http.Header{}
		h.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		if err := get("/ok"+p, h); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "own done")
	case strings.HasPrefix(p, "/down/"):
		resp, err := client.Get("http://127.0.0.1:1" + p)
		if err == nil {
			resp.Body.Close()
		}
		http.Error(w, "back service down", http.StatusBadGateway)
	case strings.HasPrefix(p, "/fail"):
		http.Error(w, "deliberate failure", http.StatusInternalServerError)
	default:
		http.NotFound(w, r)
	}
}

func back(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/ok"):
		// What arrived: the traceparent and how many traceparent headers (propagation must never add a second).
		fmt.Fprintln(w, "ok", r.Header.Get("Traceparent"), len(r.Header.Values("Traceparent")))
	case strings.HasPrefix(p, "/missing"):
		http.NotFound(w, r)
	case strings.HasPrefix(p, "/fail"):
		http.Error(w, "deliberate failure", http.StatusInternalServerError)
	case strings.HasPrefix(p, "/slow"):
		time.Sleep(20 * time.Millisecond)
		fmt.Fprintln(w, "slow")
	default:
		http.NotFound(w, r)
	}
}

func selfSigned(certOut string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "tracedemo"},
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
	if err := ioutil.WriteFile(certOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func main() {
	role := flag.String("role", "back", "front or back")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.StringVar(&backURL, "back", "", "the back service's base URL (front)")
	backCert := flag.String("back-cert", "", "PEM certificate to trust for an https back service (front)")
	certOut := flag.String("tls-cert-out", "", "serve HTTPS (h2 and HTTP/1.1) with a self-signed certificate written here")
	hold := flag.Duration("hold", 0, "how long the cli waits before it exits")
	flag.Parse()
	if buildTag != "" {
		log.Printf("build %s", buildTag)
	}

	transport := &http.Transport{MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: true}
	if *backCert != "" {
		pemBytes, err := ioutil.ReadFile(*backCert)
		if err != nil {
			log.Fatalf("back cert: %v", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client = &http.Client{Transport: transport, Timeout: 10 * time.Second}
	if *role == "cli" {
		err := get(fmt.Sprintf("/ok/cli/%d", os.Getpid()), nil)
		time.Sleep(*hold)
		if err != nil {
			log.Fatal(err)
		}
		return
	}
	go worker()

	handler := http.HandlerFunc(back)
	if *role == "front" {
		handler = http.HandlerFunc(front)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	fmt.Printf("listening %s pid=%d\n", ln.Addr(), os.Getpid())
	os.Stdout.Sync()
	if *certOut == "" {
		log.Fatal(srv.Serve(ln))
	}
	cert, err := selfSigned(*certOut)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
