#!/usr/bin/env bash
# Analysis benchmark: cold analysis time, retained heap and cached re-analysis of large Go binaries.
# Budget (issue): a 50 MB stripped binary analysed in <= 300 ms with <= 64 MB heap; cached <= 5 ms.
#
# Usage: dist/bench/analysis.sh [packages funcsPerPackage] [extra binaries...]
#   Generates a big net/http program (default 100 packages x 400 functions, stripped -s -w), builds it with the
#   local Go toolchain (GOPATH mode) and measures it, plus esbuild when GOSCOPE_ESBUILD points at it.
# Needs: platform test classes compiled (mvn -o -q -pl platform -am test-compile).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
packages="${1:-100}"
funcs="${2:-400}"
shift $(( $# >= 2 ? 2 : $# )) || true
cp_file="$root/platform/target/bench-classpath.txt"
if [[ ! -s "$cp_file" ]]; then
  # In the reactor (no install): plugin-api resolves to its target/classes; platform's run writes the file last.
  (cd "$root" && mvn -o -q -B -pl platform -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$cp_file" >/dev/null)
fi
cd "$root/platform"
cp="target/test-classes:target/classes:$(cat "$cp_file")"
args=(--generate target/bench-bigapp "$packages" "$funcs")
if [[ -n "${GOSCOPE_ESBUILD:-}" && -f "$GOSCOPE_ESBUILD" ]]; then
  args+=("$GOSCOPE_ESBUILD")
fi
args+=("$@")
exec java -Xmx512m -XX:+UseSerialGC -cp "$cp" io.goscope.bench.AnalysisBenchmark "${args[@]}"
