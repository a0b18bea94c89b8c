// grpcdemo: the gRPC programs the grpc-go end-to-end tests trace, one source for every grpc-go release they cover
// (Debian's 1.33 in GOPATH mode, and module builds pinned by the go.mod files under modules/).
//
//	-role server  a gRPC server of goscope.test.Echo (unary, server, client and bidirectional streams)
//	-role client  runs one call per line of standard input against -target and prints one result line each
//	-role web     an HTTP server whose /call/<id> handler makes two unary calls to -target
//
// Messages are google.protobuf.StringValue, so that grpc-java can call (and serve) the same service without code
// generation. The unary call's request says what the server answers: "ok", "notfound", "internal", "sleep:<ms>".
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang/protobuf/ptypes/wrappers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const service = "goscope.test.Echo"

type echoServer interface{}

type echo struct{}

func unaryHandler(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(wrappers.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	v := in.GetValue()
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if tp := md.Get("traceparent"); len(tp) > 0 {
			log.Printf("unary %s traceparent=%s", v, tp[0])
		}
	}
	out, err := answer(ctx, v)
	// What the server answered, for tests whose outcome races (a deadline: the server's own timer, or the client's
	// cancellation, whichever it sees first).
	log.Printf("served unary %s code=%s", v, status.Code(err))
	return out, err
}

func answer(ctx context.Context, v string) (interface{}, error) {
	switch {
	case v == "notfound":
		return nil, status.Error(codes.NotFound, "no such thing")
	case v == "internal":
		return nil, status.Error(codes.Internal, "it broke")
	case strings.HasPrefix(v, "sleep:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(v, "sleep:"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return &wrappers.StringValue{Value: "echo:" + v}, nil
}

// ServerStream: sends the request's number of messages.
func serverStreamHandler(srv interface{}, stream grpc.ServerStream) error {
	in := new(wrappers.StringValue)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	n, _ := strconv.Atoi(in.GetValue())
	for i := 0; i < n; i++ {
		if err := stream.SendMsg(&wrappers.StringValue{Value: strconv.Itoa(i)}); err != nil {
			return err
		}
	}
	return nil
}

// ClientStream: counts the messages until the client closes its side.
func clientStreamHandler(srv interface{}, stream grpc.ServerStream) error {
	n := 0
	for {
		in := new(wrappers.StringValue)
		err := stream.RecvMsg(in)
		if err == io.EOF {
			return stream.SendMsg(&wrappers.StringValue{Value: strconv.Itoa(n)})
		}
		if err != nil {
			return err
		}
		n++
	}
}

// Bidi: echoes each message until the client closes its side (or cancels).
func bidiHandler(srv interface{}, stream grpc.ServerStream) error {
	for {
		in := new(wrappers.StringValue)
		err := stream.RecvMsg(in)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.SendMsg(&wrappers.StringValue{Value: "echo:" + in.GetValue()}); err != nil {
			return err
		}
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*echoServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: unaryHandler}},
	Streams: []grpc.StreamDesc{
		{StreamName: "ServerStream", Handler: serverStreamHandler, ServerStreams: true},
		{StreamName: "ClientStream", Handler: clientStreamHandler, ClientStreams: true},
		{StreamName: "Bidi", Handler: bidiHandler, ServerStreams: true, ClientStreams: true},
	},
	Metadata: "grpcdemo",
}

var (
	serverStreamDesc = &grpc.StreamDesc{StreamName: "ServerStream", ServerStreams: true}
	clientStreamDesc = &grpc.StreamDesc{StreamName: "ClientStream", ClientStreams: true}
	bidiDesc         = &grpc.StreamDesc{StreamName: "Bidi", ServerStreams: true, ClientStreams: true}
)

func method(name string) string { return "/" + service + "/" + name }

func unary(ctx context.Context, cc *grpc.ClientConn, v string) (string, error) {
	out := new(wrappers.StringValue)
	err := cc.Invoke(ctx, method("Unary"), &wrappers.StringValue{Value: v}, out)
	return out.GetValue(), err
}

// call runs one client case and returns what it saw: the status code name, and a detail.
func call(cc *grpc.ClientConn, c string) (codes.Code, string) {
	ctx := context.Background()
	switch {
	case c == "unary-ok":
		v, err := unary(ctx, cc, "ok")
		return status.Code(err), v
	case c == "unary-notfound":
		_, err := unary(ctx, cc, "notfound")
		return status.Code(err), ""
	case c == "unary-internal":
		_, err := unary(ctx, cc, "internal")
		return status.Code(err), ""
	case c == "unary-deadline":
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := unary(dctx, cc, "sleep:1000")
		return status.Code(err), ""
	case c == "server-stream":
		s, err := cc.NewStream(ctx, serverStreamDesc, method("ServerStream"))
		if err != nil {
			return status.Code(err), "open"
		}
		if err := s.SendMsg(&wrappers.StringValue{Value: "3"}); err != nil {
			return status.Code(err), "send"
		}
		if err := s.CloseSend(); err != nil {
			return status.Code(err), "close"
		}
		n := 0
		for {
			m := new(wrappers.StringValue)
			if err := s.RecvMsg(m); err == io.EOF {
				return codes.OK, strconv.Itoa(n)
			} else if err != nil {
				return status.Code(err), strconv.Itoa(n)
			}
			n++
		}
	case c == "client-stream":
		s, err := cc.NewStream(ctx, clientStreamDesc, method("ClientStream"))
		if err != nil {
			return status.Code(err), "open"
		}
		for i := 0; i < 3; i++ {
			if err := s.SendMsg(&wrappers.StringValue{Value: strconv.Itoa(i)}); err != nil {
				return status.Code(err), "send"
			}
		}
		if err := s.CloseSend(); err != nil {
			return status.Code(err), "close"
		}
		m := new(wrappers.StringValue)
		if err := s.RecvMsg(m); err != nil {
			return status.Code(err), ""
		}
		// A client stream ends with the server's status after its one reply.
		if err := s.RecvMsg(new(wrappers.StringValue)); err != io.EOF {
			return status.Code(err), m.GetValue()
		}
		return codes.OK, m.GetValue()
	case c == "bidi":
		s, err := cc.NewStream(ctx, bidiDesc, method("Bidi"))
		if err != nil {
			return status.Code(err), "open"
		}
		for i := 0; i < 3; i++ {
			if err := s.SendMsg(&wrappers.StringValue{Value: strconv.Itoa(i)}); err != nil {
				return status.Code(err), "send"
			}
			if err := s.RecvMsg(new(wrappers.StringValue)); err != nil {
				return status.Code(err), "recv"
			}
		}
		if err := s.CloseSend(); err != nil {
			return status.Code(err), "close"
		}
		if err := s.RecvMsg(new(wrappers.StringValue)); err != io.EOF {
			return status.Code(err), "end"
		}
		return codes.OK, "3"
	case c == "bidi-cancel":
		cctx, cancel := context.WithCancel(ctx)
		s, err := cc.NewStream(cctx, bidiDesc, method("Bidi"))
		if err != nil {
			cancel()
			return status.Code(err), "open"
		}
		if err := s.SendMsg(&wrappers.StringValue{Value: "0"}); err != nil {
			cancel()
			return status.Code(err), "send"
		}
		if err := s.RecvMsg(new(wrappers.StringValue)); err != nil {
			cancel()
			return status.Code(err), "recv"
		}
		cancel()
		err = s.RecvMsg(new(wrappers.StringValue))
		return status.Code(err), ""
	case strings.HasPrefix(c, "unary:"):
		_, err := unary(ctx, cc, strings.TrimPrefix(c, "unary:"))
		return status.Code(err), ""
	}
	return codes.Unknown, "unknown case " + c
}

func dial(target string) *grpc.ClientConn {
	cc, err := grpc.Dial(target, grpc.WithInsecure())
	if err != nil {
		log.Fatalf("dial %s: %v", target, err)
	}
	return cc
}

func main() {
	role := flag.String("role", "server", "server, client or web")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (server, web)")
	target := flag.String("target", "", "gRPC server to call (client, web)")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)

	switch *role {
	case "server":
		lis, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		s := grpc.NewServer()
		s.RegisterService(&serviceDesc, echo{})
		log.Printf("serving %s", lis.Addr())
		log.Fatal(s.Serve(lis))
	case "client":
		cc := dial(*target)
		in := bufio.NewScanner(os.Stdin)
		fmt.Println("ready")
		for in.Scan() {
			c := strings.TrimSpace(in.Text())
			if c == "" {
				continue
			}
			code, detail := call(cc, c)
			fmt.Printf("%s %s %s\n", c, code, detail)
		}
	case "web":
		cc := dial(*target)
		http.HandleFunc("/call/", func(w http.ResponseWriter, r *http.Request) {
			id := strings.TrimPrefix(r.URL.Path, "/call/")
			if _, err := unary(r.Context(), cc, "ok"); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			if _, err := unary(r.Context(), cc, "notfound"); status.Code(err) != codes.NotFound {
				http.Error(w, fmt.Sprint(err), http.StatusBadGateway)
				return
			}
			fmt.Fprintf(w, "called %s\n", id)
		})
		log.Fatal(http.ListenAndServe(*addr, nil))
	default:
		log.Fatal(errors.New("unknown role " + *role))
	}
}
