// sysprobe calls work(i) for i in [0, n) once the file named by its second argument exists, pausing
// pauseMillis every pauseEvery calls, then prints the sum and exits. Traced by SysBpfTest.
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

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	start := os.Args[2]
	pauseEvery, pauseMillis := 0, 0
	if len(os.Args) > 4 {
		pauseEvery, _ = strconv.Atoi(os.Args[3])
		pauseMillis, _ = strconv.Atoi(os.Args[4])
	}
	fmt.Println("ready")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(start); err == nil {
			break
		}
		if time.Now().After(deadline) {
			os.Exit(2)
		}
		time.Sleep(2 * time.Millisecond)
	}
	s := 0
	for i := 0; i < n; i++ {
		s += work(i)
		if pauseEvery > 0 && (i+1)%pauseEvery == 0 {
			time.Sleep(time.Duration(pauseMillis) * time.Millisecond)
		}
	}
	fmt.Println(s)
}
