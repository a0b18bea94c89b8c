#!/usr/bin/env bash
# Throughput of a Go net/http server: untraced, traced by the full agent, and with the same probes attached but
# nothing consuming the ring buffer (the kernel floor). One run, ratios against the untraced server.
# Usage: dist/bench/throughput.sh [seconds-per-run]   (needs root, wrk, a built distribution)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
HOME_DIR=dist/target/goscope
SERVER=$HOME_DIR/demo/goscope-demo-server
command -v wrk >/dev/null || { echo "throughput.sh: wrk missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$SERVER" ] || { echo "throughput.sh: build first (make build)" >&2; exit 1; }
PORT=$((20000 + RANDOM % 20000))
LOG=$(mktemp -d)/bench
mkdir -p "$LOG"
"$SERVER" -addr 127.0.0.1:$PORT 2>"$LOG/server.log" &
SPID=$!
trap 'kill $SPID 2>/dev/null; [ -n "${APID:-}" ] && kill $APID 2>/dev/null; true' EXIT
sleep 0.5
rps() { wrk -t1 -c8 -d${DUR}s "http://127.0.0.1:$PORT/hello" | awk '/Requests\/sec/ {print $2}'; }
agent() { # $1 = drain interval
  env GO_APPS=goscope-demo-server OTEL_TRACES_EXPORTER=none GOSCOPE_DRAIN_INTERVAL=$1 \
    $HOME_DIR/bin/goscope agent >"$LOG/agent-$1.log" 2>&1 &
  APID=$!
  for _ in $(seq 1 300); do grep -q "process instrumented pid=$SPID" "$LOG/agent-$1.log" && return 0; sleep 0.1; done
  echo "agent did not attach; log in $LOG" >&2; exit 1
}
stop_agent() { kill -TERM $APID; wait $APID || true; APID=; }

wrk -t1 -c8 -d2s "http://127.0.0.1:$PORT/hello" >/dev/null  # warm-up
base=$(rps)
agent 10ms; traced=$(rps); stop_agent
agent 1h; floor=$(rps); stop_agent
base2=$(rps)
calc() { awk "BEGIN { print $1 }"; }
avg=$(calc "($base + $base2) / 2")
printf 'untraced            %10.0f req/s (before %.0f, after %.0f)\n' "$avg" "$base" "$base2"
printf 'probes, no consumer %10.0f req/s  ratio %.2f\n' "$floor" "$(calc "$floor / $avg")"
printf 'traced (agent)      %10.0f req/s  ratio %.2f\n' "$traced" "$(calc "$traced / $avg")"
printf 'agent vs floor      ratio %.2f\n' "$(calc "$traced / $floor")"
