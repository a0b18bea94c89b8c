#!/usr/bin/env bash
# Throughput of a traced grpc-go server (grpc-go v1.85.0, the grpcdemo server of the end-to-end tests) under the
# closed-loop load generator dist/bench/grpcload (grpc-go, unary calls from 8 goroutines over one connection), in
# one run: untraced (before and after), traced by the agent (exporter none), and the same probes with nothing
# consuming the ring buffer (GOSCOPE_DRAIN_INTERVAL=1h). Then the uprobe hits per unary call on each side, from the
# kernel's BPF run counts (kernel.bpf_stats_enabled, switched on for that phase only and restored).
# Usage: dist/bench/grpc-throughput.sh [seconds-per-run]   (needs root, a built distribution, a Go for modules)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
HOME_DIR=dist/target/goscope
GO=${GOSCOPE_GO_MODULES:-/usr/local/go}/bin/go
[ -x "$HOME_DIR/bin/goscope" ] || { echo "grpc-throughput.sh: build first (make build)" >&2; exit 1; }
[ -x "$GO" ] || { echo "grpc-throughput.sh: no Go for module builds at $GO (set GOSCOPE_GO_MODULES)" >&2; exit 1; }
WORK=$(mktemp -d)
mkdir -p "$WORK/server"
cp dist/src/test/go/grpcdemo/main.go dist/src/test/go/grpcdemo/modules/v1.85.0/go.* "$WORK/server/"
(cd "$WORK/server" && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local "$GO" build -o "$WORK/grpcdemo-bench" .)
(cd dist/bench/grpcload && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local "$GO" build -o "$WORK/grpcload-bench" .)
PORT=$((20000 + RANDOM % 20000))
"$WORK/grpcdemo-bench" -role server -addr 127.0.0.1:$PORT 2>"$WORK/server.log" &
SPID=$!
STATS_BEFORE=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'kill $SPID 2>/dev/null; [ -n "${APID:-}" ] && kill $APID 2>/dev/null; echo "$STATS_BEFORE" > /proc/sys/kernel/bpf_stats_enabled; true' EXIT
sleep 0.5
load() { "$WORK/grpcload-bench" -target 127.0.0.1:$PORT -c 8 "$@"; }
rate() { load -d ${DUR}s | sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }
agent() { # $1 = drain interval, $2 = GO_APPS, $3 = pid to wait for
  env GO_APPS=$2 OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none GOSCOPE_DRAIN_INTERVAL=$1 \
    $HOME_DIR/bin/goscope agent >"$WORK/agent-$1.log" 2>&1 &
  APID=$!
  for _ in $(seq 1 300); do grep -q "process instrumented pid=$3 " "$WORK/agent-$1.log" && return 0; sleep 0.1; done
  echo "agent did not attach; log in $WORK" >&2; exit 1
}
stop_agent() { kill -TERM $APID; wait $APID || true; APID=; }

load -d 2s >/dev/null  # warm-up
base=$(rate)
agent 10ms grpcdemo-bench $SPID; traced=$(rate); stop_agent
agent 1h grpcdemo-bench $SPID; floor=$(rate); stop_agent
base2=$(rate)
calc() { awk "BEGIN { print $1 }"; }
avg=$(calc "($base + $base2) / 2")
printf 'untraced            %10.0f calls/s (before %.0f, after %.0f)\n' "$avg" "$base" "$base2"
printf 'probes, no consumer %10.0f calls/s  ratio %.2f\n' "$floor" "$(calc "$floor / $avg")"
printf 'traced (agent)      %10.0f calls/s  ratio %.2f\n' "$traced" "$(calc "$traced / $avg")"
printf 'agent vs floor      ratio %.2f\n' "$(calc "$traced / $floor")"

# Uprobe hits per unary call: the run counts of the programs this agent loaded (the ids that appear with it; other
# BPF users on the machine are left out), over N calls, one side traced at a time.
N=2000
progs() { bpftool prog show -j | python3 -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))'; }
runs() { # $1 = ids before the agent started
  bpftool prog show -j | python3 -c 'import json,sys
before=set(sys.argv[1].split())
print(sum(p.get("run_cnt",0) for p in json.load(sys.stdin) if str(p["id"]) not in before))' "$1"; }
echo 1 > /proc/sys/kernel/bpf_stats_enabled
ids=$(progs)
agent 10ms grpcdemo-bench $SPID
load -n 200 >/dev/null; r0=$(runs "$ids"); load -n $N >/dev/null; r1=$(runs "$ids"); stop_agent
printf 'server side: %.2f uprobe hits per unary call\n' "$(calc "($r1 - $r0) / $N")"
# The client side: the load generator waits (-wait) until the agent has attached to it.
mkfifo "$WORK/go"
"$WORK/grpcload-bench" -target 127.0.0.1:$PORT -c 8 -n $N -wait < "$WORK/go" > "$WORK/client.out" &
CPID=$!
exec 3>"$WORK/go"
ids=$(progs)
agent 10ms grpcload-bench $CPID
r0=$(runs "$ids"); echo go >&3; wait $CPID; r1=$(runs "$ids"); exec 3>&-; stop_agent
printf 'client side: %.2f uprobe hits per unary call (%s)\n' "$(calc "($r1 - $r0) / $N")" "$(tail -1 "$WORK/client.out")"
