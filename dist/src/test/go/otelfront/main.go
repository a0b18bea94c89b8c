// otelfront: a front service instrumented by hand with the OpenTelemetry Go SDK, as many teams run before they try
// an agent. Each request to /call starts an SDK span, injects its W3C context into the outgoing request (the SDK's
// own "traceparent" header) and calls the back service's /ok over HTTP/1.1. The response names what was sent and
// what the back service saw: "sent <traceparent> back <back's body>".
//
// Usage: otelfront -back URL [-addr 127.0.0.1:0]; prints "listening <addr> pid=<pid>" once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	back := flag.String("back", "", "the back service's base URL")
	flag.Parse()

	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer provider.Shutdown(context.Background())
	tracer := provider.Tracer("otelfront")
	prop := propagation.TraceContext{}
	client := &http.Client{Timeout: 10 * time.Second}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "call back")
		defer span.End()
		req, err := http.NewRequestWithContext(ctx, "GET", *back+"/ok"+r.URL.Path, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(w, "sent %s back %s\n", req.Header.Get("Traceparent"), strings.TrimSpace(string(body)))
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s pid=%d\n", ln.Addr(), os.Getpid())
	os.Stdout.Sync()
	log.Fatal((&http.Server{Handler: handler}).Serve(ln))
}
