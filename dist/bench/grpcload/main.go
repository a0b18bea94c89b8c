// grpcload: a closed-loop load generator for the grpc-go benchmarks (dist/bench/grpc-throughput.sh). It calls
// goscope.test.Echo/Unary (the grpcdemo server of the end-to-end tests) from -c goroutines over one connection, for
// -d or for -n calls in all, and prints the calls per second it achieved.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/protobuf/ptypes/wrappers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	target := flag.String("target", "127.0.0.1:50051", "grpcdemo server")
	conc := flag.Int("c", 8, "concurrent callers")
	dur := flag.Duration("d", 10*time.Second, "how long to run (when -n is 0)")
	total := flag.Int64("n", 0, "calls in all (0: run for -d)")
	wait := flag.Bool("wait", false, "start only after a line on standard input (so that a tracer can attach first)")
	flag.Parse()
	if *wait {
		fmt.Println("waiting")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	cc, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	var calls, failures atomic.Int64
	stop := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &wrappers.StringValue{Value: "ok"}
			for {
				if *total > 0 {
					if calls.Add(1) > *total {
						calls.Add(-1)
						return
					}
				} else if time.Now().After(stop) {
					return
				}
				out := new(wrappers.StringValue)
				if err := cc.Invoke(context.Background(), "/goscope.test.Echo/Unary", in, out); err != nil {
					failures.Add(1)
				}
				if *total == 0 {
					calls.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	fmt.Printf("calls=%d failures=%d seconds=%.2f rate=%.0f\n", calls.Load(), failures.Load(), elapsed,
		float64(calls.Load())/elapsed)
}
