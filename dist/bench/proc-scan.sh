#!/usr/bin/env bash
# /proc poll cost on a busy node: starts N idle processes (default 0, 1000, 4000 in turn), then measures one
# ProcessScanner.scan() (list pids, read each start time, diff) and its CPU share at the agent's 1 s poll.
# Usage: dist/bench/proc-scan.sh [N...]
# Needs: platform test classes compiled (mvn -o -q -pl platform -am test-compile).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cp_file="$root/platform/target/bench-classpath.txt"
if [[ ! -s "$cp_file" ]]; then
  (cd "$root" && mvn -o -q -B -pl platform -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$cp_file" >/dev/null)
fi
cp="$root/platform/target/test-classes:$root/platform/target/classes:$(cat "$cp_file")"
counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(0 1000 4000)
pids=()
cleanup() { [[ ${#pids[@]} -eq 0 ]] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
for n in "${counts[@]}"; do
  while [[ ${#pids[@]} -lt $n ]]; do
    sleep 3600 &
    pids+=($!)
  done
  echo "== extra idle processes: ${#pids[@]}"
  java -XX:+UseSerialGC -cp "$cp" io.goscope.bench.ProcScanBenchmark /proc 200 1000
done
