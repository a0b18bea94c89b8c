#!/usr/bin/env bash
# Cost of dropping a traced process's trace contexts at its exit (process_events.bpf.c, gs_process_exit_purge): the
# kernel's own BPF run-time statistics of the agent's exit program, over N exits of traced Go servers and N exits of
# untraced processes. Reports microseconds per exit for each.
# Usage: dist/bench/exit-purge.sh [runs]   (root, built distribution)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-100}
HOME_DIR=dist/target/goscope
WORK=$(mktemp -d)
cp "$HOME_DIR/demo/goscope-demo-server" "$WORK/goscope-purge"
was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
env GO_APPS=goscope-purge OTEL_TRACES_EXPORTER=none GOSCOPE_POLL_INTERVAL=30s \
  "$HOME_DIR/bin/goscope" agent >"$WORK/agent.log" 2>&1 &
APID=$!
trap 'kill $APID 2>/dev/null || true; sysctl -q kernel.bpf_stats_enabled=$was; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
grep -q "exitProgram=gs_process_exit_purge" "$WORK/agent.log" \
  || { echo "the agent did not load the purging exit program:"; grep "process events" "$WORK/agent.log"; exit 1; }
stats() {  # prints "run_time_ns run_cnt" of the agent's exit program
  bpftool prog show name gs_process_exit_purge | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' | awk '{print $2, $4}'
}
read -r t0 c0 < <(stats)
for _ in $(seq 1 "$RUNS"); do /bin/true; done
read -r t1 c1 < <(stats)
for _ in $(seq 1 "$RUNS"); do
  port=$((30000 + RANDOM % 20000))
  "$WORK/goscope-purge" -addr 127.0.0.1:$port >/dev/null 2>&1 &
  spid=$!
  for _ in $(seq 1 300); do grep -q "process instrumented pid=$spid " "$WORK/agent.log" && break; sleep 0.01; done
  kill "$spid"; wait "$spid" 2>/dev/null || true
done
read -r t2 c2 < <(stats)
traced=$(grep -c "process instrumented pid=" "$WORK/agent.log" || true)
# The traced phase also counts the exits of the shell's own helpers (grep, sleep): untraced, at the first rate.
awk -v t0="$t0" -v c0="$c0" -v t1="$t1" -v c1="$c1" -v t2="$t2" -v c2="$c2" -v n="$traced" 'BEGIN {
  u = (t1 - t0) / (c1 - c0)
  other = (c2 - c1) - n
  printf "untraced exits: %d, %.2f us each\n", c1 - c0, u / 1000
  printf "traced exits: %d (plus %d untraced helpers), %.1f us each\n", n, other, ((t2 - t1) - other * u) / n / 1000
}'
