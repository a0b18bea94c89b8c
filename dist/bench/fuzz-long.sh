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
for m in "${methods[@]}"; do
  echo "=== fuzzing ParserFuzzTest#$m for $duration"
  JAZZER_FUZZ=1 timeout --signal=INT $((secs + 90)) mvn -o -q -B -pl platform -am test \
    -Dtest="ParserFuzzTest#$m" -Dsurefire.failIfNoSpecifiedTests=false \
    -Djazzer.max_duration="$duration" -Djazzer.instrumentation_includes='io.goscope.**' \
    -Djazzer.keep_going=5 || echo "!!! $m: findings (see above and ParserFuzzTestInputs/$m/)"
done
