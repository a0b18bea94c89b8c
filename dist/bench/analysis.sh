#!/usr/bin/env bash
# Analysis benchmark: cold analysis time, retained heap and cached re-analysis of large Go binaries.
# Budgets (issues 3, 11): a 50 MB stripped binary analysed in <= 300 ms, a 200 MB one in <= 1 s, both with
# <= 64 MB heap; cached <= 5 ms; a node with 50 different Go binaries parses each once.
#
# Usage: dist/bench/analysis.sh [packages funcsPerPackage] [extra binaries...]
#   Generates a big net/http program (default 100 packages x 400 functions, stripped -s -w), builds it (GOPATH
#   mode) and measures it, plus esbuild when GOSCOPE_ESBUILD points at it.
#   GO=go1.27.3  build with that Go release (fetched through the module proxy) instead of Debian's golang-go
#   MANY=50      also measure a node of MANY different Go binaries (3 pods each, 4 reconciles)
#   XMX=64m      the JVM heap limit (default 64m, the budget)
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
args=()
if [[ -n "${GO:-}" ]]; then
  args+=(--go "$GO")
fi
args+=(--generate target/bench-bigapp "$packages" "$funcs")
if [[ -n "${MANY:-}" ]]; then
  args+=(--many target/bench-many "$MANY")
fi
if [[ -n "${GOSCOPE_ESBUILD:-}" && -f "$GOSCOPE_ESBUILD" ]]; then
  args+=("$GOSCOPE_ESBUILD")
fi
args+=("$@")
exec java -Xmx"${XMX:-64m}" -XX:+UseSerialGC -cp "$cp" io.goscope.bench.AnalysisBenchmark "${args[@]}"
