#!/usr/bin/env bash
# Runs every benchmark once; results go to stdout (copy them into BENCHMARKS.md with the date and machine).
set -euo pipefail
cd "$(dirname "$0")"
for b in throughput.sh whole-trace.sh db-throughput.sh grpc-throughput.sh exec-latency.sh exit-purge.sh load-once.sh proc-scan.sh pipeline.sh; do
  echo "== $b"
  ./$b
done
