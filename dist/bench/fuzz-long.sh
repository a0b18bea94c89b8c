#!/usr/bin/env bash
# Long fuzzing of the binary/YAML parsers with Jazzer (JAZZER_FUZZ=1), one @FuzzTest method at a time.
# Usage: dist/bench/fuzz-long.sh [duration, default 10m] [method...]
#   methods: elfRaw elfPatched pclntab buildInfo dwarf typeMetadata offsetTable wholeBinary (default: all)
# Findings (crash-*, timeout-*) land in platform/src/test/resources/.../ParserFuzzTestInputs/<method>/ and then
# replay in every `mvn test` (regression mode). The generated corpus goes to platform/.cifuzz-corpus/ (not committed).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration="${1:-10m}"
shift || true
methods=("$@")
if [[ ${#methods[@]} -eq 0 ]]; then
  methods=(elfRaw elfPatched pclntab buildInfo dwarf typeMetadata offsetTable wholeBinary)
fi
cd "$root"
# @FuzzTest(maxDuration = "10m") caps each target; a shorter duration is enforced here with SIGINT, which libFuzzer
# handles by printing its final statistics (the corpus is saved as it grows).
case "$duration" in
  *h) secs=$(( ${duration%h} * 3600 )) ;;
  *m) secs=$(( ${duration%m} * 60 )) ;;
  *s) secs=${duration%s} ;;
  *) secs=$duration ;;
esac
inputs=platform/src/test/resources/io/goscope/platform/gobinary/fuzz/ParserFuzzTestInputs
for m in "${methods[@]}"; do
  echo "=== fuzzing ParserFuzzTest#$m for $duration"
  before=$(find "$inputs/$m" -name 'crash-*' -o -name 'timeout-*' 2>/dev/null | wc -l)
  # The run ends by SIGINT (or maxDuration), which Maven reports as a failure: judge by the findings saved, not
  # by the exit status.
  JAZZER_FUZZ=1 timeout --signal=INT $((secs + 90)) mvn -o -q -B -pl platform -am test \
    -Dtest="ParserFuzzTest#$m" -Dsurefire.failIfNoSpecifiedTests=false \
    -Djazzer.max_duration="$duration" -Djazzer.instrumentation_includes='io.goscope.**' \
    -Djazzer.keep_going=5 || true
  after=$(find "$inputs/$m" -name 'crash-*' -o -name 'timeout-*' 2>/dev/null | wc -l)
  if [[ $after -gt $before ]]; then
    echo "!!! $m: $((after - before)) new finding(s) in $inputs/$m/"
  else
    echo "--- $m: no finding"
  fi
done
