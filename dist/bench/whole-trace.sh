#!/usr/bin/env bash
# A front service making one HTTP/1.1 client call to a back service per request (dist/src/test/go/tracedemo,
# route /one/): throughput untraced, traced by the agent (both services, spans + metrics, exporter none), and with
# the same probes attached but nothing draining the ring buffer (the kernel floor); then, with the kernel's BPF
# statistics on, the uprobe hits per request by program. Optionally with propagation (socket-level under lockdown).
# Usage: dist/bench/whole-trace.sh [seconds-per-run] [propagation: true|false]   (root, wrk, jq, bpftool, built dist)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
PROPAGATION=${2:-false}
HOME_DIR=dist/target/goscope
GO=${GO:-/usr/local/go/bin/go}
for t in wrk jq bpftool; do command -v $t >/dev/null || { echo "whole-trace.sh: $t missing" >&2; exit 1; }; done
[ -x "$HOME_DIR/bin/goscope" ] || { echo "whole-trace.sh: build first (make build)" >&2; exit 1; }
WORK=$(mktemp -d)
(cd dist/src/test/go/tracedemo && GO111MODULE=off GOFLAGS= CGO_ENABLED=0 "$GO" build -o "$WORK/bench-front" .)
cp "$WORK/bench-front" "$WORK/bench-back"
mkdir -p "$WORK/rules"
cat >"$WORK/rules/bench.yaml" <<YAML
rules:
  - {name: front, match: {executable: bench-front}, options: {serviceName: bench-front, propagation: $PROPAGATION}}
  - {name: back, match: {executable: bench-back}, options: {serviceName: bench-back}}
YAML
BPORT=$((20000 + RANDOM % 10000)); FPORT=$((30000 + RANDOM % 10000))
APID=; SP=()
cleanup() { [ -n "$APID" ] && kill $APID 2>/dev/null; kill "${SP[@]}" 2>/dev/null; sysctl -qw kernel.bpf_stats_enabled=0; true; }
trap cleanup EXIT
servers() {
  "$WORK/bench-back" -role back -addr 127.0.0.1:$BPORT >"$WORK/back.log" 2>&1 & SP=($!)
  "$WORK/bench-front" -role front -addr 127.0.0.1:$FPORT -back http://127.0.0.1:$BPORT >"$WORK/front.log" 2>&1 &
  SP+=($!)
  sleep 0.5
}
stop_servers() { kill "${SP[@]}" 2>/dev/null; wait "${SP[@]}" 2>/dev/null || true; SP=(); }
URL=http://127.0.0.1:$FPORT/one/bench
rps() { wrk -t1 -c8 -d${DUR}s "$URL" | awk '/Requests\/sec/ {print $2}'; }
agent() { # $1 = drain interval; servers start after the agent so their connections are seen opened
  env GOSCOPE_RULES_DIR="$WORK/rules" GO_APPS=none OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none \
    GOSCOPE_DRAIN_INTERVAL=$1 "$HOME_DIR/bin/goscope" agent >"$WORK/agent-$1.log" 2>&1 &
  APID=$!
  for _ in $(seq 1 300); do grep -q "agent started" "$WORK/agent-$1.log" && break; sleep 0.1; done
  servers
  for p in "${SP[@]}"; do
    for _ in $(seq 1 300); do grep -q "process instrumented pid=$p " "$WORK/agent-$1.log" && break; sleep 0.1; done
  done
}
stop_agent() { stop_servers; kill -TERM $APID; wait $APID || true; APID=; }
calc() { awk "BEGIN { print $1 }"; }

servers; wrk -t1 -c8 -d2s "$URL" >/dev/null; base=$(rps); stop_servers
agent 10ms; wrk -t1 -c8 -d2s "$URL" >/dev/null; traced=$(rps)
# Uprobe hits: run counts of every program of the agent over a fixed number of requests.
sysctl -qw kernel.bpf_stats_enabled=1
snap() { # "<name> <run_cnt>" for each program the agent holds (prog ids from its fds' fdinfo)
  grep -h '^prog_id:' /proc/$APID/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | while read -r id; do
    bpftool prog show id "$id" -j | jq -r '"\(.name) \(.run_cnt // 0)"'
  done | awk '{c[$1] += $2} END {for (n in c) print n, c[n]}' | sort
}
snap >"$WORK/before"
N=2000
# 4 curl processes, each sending its share of the N requests over one keep-alive connection
for c in 0 1 2 3; do
  for i in $(seq $((c + 1)) 4 $N); do printf 'url = "%s%d"\noutput = "/dev/null"\n' "${URL%bench}h" "$i"; done \
    >"$WORK/curl-$c.conf"
done
CP=()
for c in 0 1 2 3; do curl -s -K "$WORK/curl-$c.conf" & CP+=($!); done
wait "${CP[@]}"
snap >"$WORK/after"
sysctl -qw kernel.bpf_stats_enabled=0
stop_agent
agent 1h; wrk -t1 -c8 -d2s "$URL" >/dev/null; floor=$(rps); stop_agent
servers; base2=$(rps); stop_servers
avg=$(calc "($base + $base2) / 2")
printf 'front -> back, one HTTP/1.1 client call per request, propagation=%s, wrk -t1 -c8 -d%ss\n' "$PROPAGATION" "$DUR"
printf 'untraced            %10.0f req/s (before %.0f, after %.0f)\n' "$avg" "$base" "$base2"
printf 'probes, no consumer %10.0f req/s  ratio %.2f\n' "$floor" "$(calc "$floor / $avg")"
printf 'traced (agent)      %10.0f req/s  ratio %.2f\n' "$traced" "$(calc "$traced / $avg")"
printf 'agent vs floor      ratio %.2f\n' "$(calc "$traced / $floor")"
echo "uprobe hits over $N front requests (each: a front server request, one client call, a back server request):"
join -a2 "$WORK/before" "$WORK/after" | awk -v n=$N 'NF == 3 { d = $3 - $2 } NF == 2 { d = $2 }
  d > 0 { printf "  %-28s %8d  %.2f per request\n", $1, d, d / n; total += d }
  END { printf "  %-28s %8d  %.2f per request\n", "total", total, total / n }'
rm -rf "$WORK"
