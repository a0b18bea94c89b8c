// sysprobe calls work(i) for i in [0, n) once the file named by its second argument exists, pausing
// pauseMillis every pauseEvery calls, then prints the sum and exits. Traced by SysBpfTest.
//
// "sysprobe deep n start" instead calls big(i) for i in [0, n), each from a fresh goroutine that first recurses i
// frames deep: for some i, big's stack-bound check is the one that finds the goroutine's first stack too small, and
// Go runs big's first instructions again once it has grown the stack.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

//go:noinline
func work(i int) int {
	return i*2 + 1
}

// big has a frame of about 2 KiB.
//
//go:noinline
func big(i int) int {
	var buf [256]int
	buf[i%256] = i
	return buf[(i*7)%256] + i
}

//go:noinline
func descend(depth, i int) int {
	if depth > 0 {
		return descend(depth-1, i) + 1
	}
	return big(i)
}

func awaitStart(start string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(start); err == nil {
			return
		}
		if time.Now().After(deadline) {
			os.Exit(2)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func deep(n int, start string) {
	fmt.Println("ready")
	awaitStart(start)
	s := 0
	for i := 0; i < n; i++ {
		done := make(chan int)
		go func(i int) { done <- descend(i, i) }(i)
		s += <-done
	}
	fmt.Println(s)
}

func main() {
	if os.Args[1] == "deep" {
		n, _ := strconv.Atoi(os.Args[2])
		deep(n, os.Args[3])
		return
	}
	n, _ := strconv.Atoi(os.Args[1])
	start := os.Args[2]
	pauseEvery, pauseMillis := 0, 0
	if len(os.Args) > 4 {
		pauseEvery, _ = strconv.Atoi(os.Args[3])
		pauseMillis, _ = strconv.Atoi(os.Args[4])
	}
	fmt.Println("ready")
	awaitStart(start)
	s := 0
	for i := 0; i < n; i++ {
		s += work(i)
		if pauseEvery > 0 && (i+1)%pauseEvery == 0 {
			time.Sleep(time.Duration(pauseMillis) * time.Millisecond)
		}
	}
	fmt.Println(s)
}
