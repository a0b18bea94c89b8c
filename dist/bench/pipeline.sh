#!/usr/bin/env bash
# Pipeline throughput on one core: synthetic net/http records written by BPF into the real ring buffer, drained,
# decoded and exported over OTLP/HTTP to a counting receiver in another process (io.goscope.bench.PipelineBenchmark).
# The benchmark JVM runs on CPU 1 with the agent's JVM options; the BPF filler thread and the receiver on CPU 0.
# Usage: dist/bench/pipeline.sh [seconds-per-rate] [rates...]   (root; platform test classes compiled)
# BENCH_JAVA_OPTS replaces the JVM options; -Dbench.compression=gzip|none (default none), -Dbench.batch=N.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
secs="${1:-10}"
shift $(( $# >= 1 ? 1 : 0 )) || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(50000 100000 150000 200000 250000 300000 400000)
cp_file="$root/platform/target/bench-classpath.txt"
if [[ ! -s "$cp_file" ]]; then
  (cd "$root" && mvn -o -q -B -pl platform -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$cp_file" >/dev/null)
fi
cd "$root/platform"
cp="target/test-classes:target/classes:$(cat "$cp_file")"
port=$((20000 + RANDOM % 20000))
# TCP_NODELAY on the JDK server's sockets: without it Nagle and delayed ACKs add ~40 ms to every request.
taskset -c 0 java -Xmx256m -XX:+UseSerialGC -Dsun.net.httpserver.nodelay=true -cp "$cp" io.goscope.bench.CountingOtlpReceiver "$port" &
rpid=$!
trap 'kill $rpid 2>/dev/null || true' EXIT
sleep 2
# The agent's own JVM options (dist/src/main/dist/bin/goscope).
taskset -c 1 java ${BENCH_JAVA_OPTS:--Xms16m -Xmx256m -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:TieredStopAtLevel=1 -Xshare:auto} -Dgoscope.root="$root" \
  -cp "$cp" io.goscope.bench.PipelineBenchmark "http://127.0.0.1:$port" "$secs" 0 "${rates[@]}"
