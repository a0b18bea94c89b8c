#!/usr/bin/env bash
# Load once, attach many: 20 Go server processes of 5 binaries (tracedemo built by Go 1.19, 1.26 three times with
# different -X values, and 1.27) under one agent. Reports the BPF objects loaded, the kernel memory of every BPF map
# the agent holds (memlock in /proc/<agent>/fdinfo, what `bpftool map` shows), the agent's RSS and heap after GC,
# and the time from the first process start to the last one traced.
# Usage: dist/bench/load-once.sh [processes-per-binary]   (root, a built distribution, Go 1.26 at /usr/local/go,
# Debian's Go at /usr/lib/go, go1.27.3 fetched by GOTOOLCHAIN into the module cache)
set -euo pipefail
cd "$(dirname "$0")/../.."
PER=${1:-4}
HOME_DIR=dist/target/goscope
[ -x "$HOME_DIR/bin/goscope" ] || { echo "load-once.sh: build first (make build)" >&2; exit 1; }
WORK=$(mktemp -d)
SRC=dist/src/test/go/tracedemo
G127=$(ls -d /root/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.27.3.linux-amd64 2>/dev/null || true)
build() { # $1 = GOROOT, $2 = output name, $3 = -X value
  (cd $SRC && GOROOT=$1 GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 "$1/bin/go" build \
    -ldflags "-X main.buildTag=$3" -o "$WORK/$2" .)
}
build /usr/lib/go lo-go119 a
build /usr/local/go lo-go126a a
build /usr/local/go lo-go126b b
build /usr/local/go lo-go126c c
if [ -n "$G127" ]; then build "$G127" lo-go127 a; else build /usr/local/go lo-go127 d; fi
BINS="lo-go119 lo-go126a lo-go126b lo-go126c lo-go127"
env GO_APPS="$(echo $BINS | tr ' ' ',')" OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none \
  GOSCOPE_STATS_INTERVAL=1s GOSCOPE_ADMIN_ADDR=off "$HOME_DIR/bin/goscope" agent >"$WORK/agent.log" 2>&1 &
APID=$!
SP=()
trap 'kill "${SP[@]}" 2>/dev/null; [ -n "$APID" ] && kill $APID 2>/dev/null; cp "$WORK/agent.log" /tmp/load-once-agent.log; rm -rf "$WORK"' EXIT
for _ in $(seq 1 300); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$APID/status; }
heap() {
  jcmd $APID GC.run >/dev/null
  jcmd $APID GC.heap_info | grep -o 'used [0-9]*K' | awk '{s += $2} END {printf "%.1f", s / 1024}'
}
maps() { # MB of memlock over the distinct maps the agent holds (several fds may hold one map), and how many
  for fd in /proc/$APID/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf-map" ] || continue
    awk '/^map_id:/ {id = $2} /^memlock:/ {m = $2} END {print id, m}' "/proc/$APID/fdinfo/${fd##*/}"
  done | sort -un -k1,1 | awk '{s += $2; n++} END {printf "%.1f MB in %d maps", s / 1048576, n}'
}
progs() { for fd in /proc/$APID/fd/*; do readlink "$fd"; done 2>/dev/null | grep -c 'anon_inode:bpf-prog' || true; }
echo "idle agent: RSS $(rss) MB, heap $(heap) MB, maps $(maps)"
t0=$(date +%s%N)
for b in $BINS; do
  for i in $(seq 1 "$PER"); do
    "$WORK/$b" -role back -addr 127.0.0.1:0 >/dev/null 2>&1 & SP+=($!)
  done
done
for p in "${SP[@]}"; do
  for _ in $(seq 1 600); do grep -q "process instrumented pid=$p " "$WORK/agent.log" && break; sleep 0.05; done
done
t1=$(date +%s%N)
sleep 2
n=$(grep -c "process instrumented" "$WORK/agent.log")
stats=$(grep "stats instrumented=" "$WORK/agent.log" | tail -1 | grep -o 'instrumented=[0-9]* binaries=[0-9]* bpfObjects=[0-9]*')
echo "$((${#SP[@]})) processes of 5 binaries, $n traced in $(( (t1 - t0) / 1000000 )) ms from the first start"
echo "  $stats"
echo "  BPF programs held: $(progs); maps $(maps)"
echo "  agent RSS $(rss) MB, heap after GC $(heap) MB"
grep -o 'micros=[0-9]*' "$WORK/agent.log" | cut -d= -f2 | sort -n | awk '{a[NR] = $1} END {
  printf "  per process, decision to traced: p50 %.1f ms, max %.1f ms\n", a[int((NR + 1) / 2)] / 1000, a[NR] / 1000 }'
kill "${SP[@]}"; wait "${SP[@]}" 2>/dev/null || true; SP=()
s0=$(date +%s%N); kill -TERM $APID; wait $APID || true; s1=$(date +%s%N)
echo "  agent stop (SIGTERM to exit, binaries still attached while lingering): $(( (s1 - s0) / 1000000 )) ms"
APID=; cp "$WORK/agent.log" /tmp/load-once-agent.log
