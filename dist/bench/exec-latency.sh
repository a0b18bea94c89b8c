#!/usr/bin/env bash
# Exec -> probes attached latency: starts a Go HTTP server N times under a running agent and reads the agent's
# execToAttachedMicros (kernel timestamp of the sched_process_exec event to the last uprobe attached).
# The first start analyses the binary; later starts hit the analysis cache (a pod restart). Reports p50/p99.
# Usage: dist/bench/exec-latency.sh [runs]   (root, built distribution)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-50}
HOME_DIR=dist/target/goscope
WORK=$(mktemp -d)
cp "$HOME_DIR/demo/goscope-demo-server" "$WORK/goscope-latency"
env GO_APPS=goscope-latency OTEL_TRACES_EXPORTER=none GOSCOPE_POLL_INTERVAL=30s \
  "$HOME_DIR/bin/goscope" agent >"$WORK/agent.log" 2>&1 &
APID=$!
trap 'kill $APID 2>/dev/null || true; cp "$WORK/agent.log" /tmp/latency-agent.log; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
start_one() {  # starts a server, waits for the agent to attach; prints its pid
  local port=$((30000 + RANDOM % 20000))
  "$WORK/goscope-latency" -addr 127.0.0.1:$port >/dev/null 2>&1 &
  local spid=$!
  for _ in $(seq 1 300); do grep -q "process instrumented pid=$spid " "$WORK/agent.log" && break; sleep 0.01; done
  echo $spid
}
# Phase 1: new processes (deployments scaling up), each kept running.
pids=()
for i in $(seq 1 "$RUNS"); do pids+=("$(start_one)"); done
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
sleep 2
mark=$(wc -l < "$WORK/agent.log")
# Phase 2: churn (restart loop): each process is killed right after it was attached, so detaches overlap attaches.
for i in $(seq 1 "$RUNS"); do p=$(start_one); kill "$p"; wait "$p" 2>/dev/null || true; done
sleep 0.5
report() {  # $1 = title, stdin = agent log lines
  grep -o 'execToAttachedMicros=[0-9-]*' | cut -d= -f2 | grep -v '^-' > "$WORK/raw" || true
  sort -n "$WORK/raw" > "$WORK/lat"
  local n; n=$(wc -l < "$WORK/lat")
  [ "$n" -gt 0 ] || { echo "$1: no measurements; agent log:"; tail -20 "$WORK/agent.log"; return 1; }
  pct() { awk -v p="$1" -v n="$n" 'NR == int((n - 1) * p / 100) + 1 { printf "%.1f ms", $1 / 1000 }' "$WORK/lat"; }
  printf '%s (%d starts): first %s  p50 %s  p99 %s  max %s\n' "$1" "$n" \
    "$(head -1 "$WORK/raw" | awk '{printf "%.1f ms", $1/1000}')" "$(pct 50)" "$(pct 99)" \
    "$(tail -1 "$WORK/lat" | awk '{printf "%.1f ms", $1/1000}')"
}
echo "exec -> probes attached (the first start of phase 1 includes the binary's analysis)"
head -n "$mark" "$WORK/agent.log" | report "new processes"
tail -n +"$((mark + 1))" "$WORK/agent.log" | report "restart churn"
