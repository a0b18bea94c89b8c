#!/usr/bin/env bash
# Compiles one BPF C source into an object: build-bpf.sh <source.bpf.c> <output.o> [extra clang args...]
# Used by the Maven builds of the platform and of every probe plugin.
set -euo pipefail
src=$1; out=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
arch=$(uname -m)
case "$arch" in
  x86_64) target_arch=x86; multiarch=x86_64-linux-gnu ;;
  aarch64) target_arch=arm64; multiarch=aarch64-linux-gnu ;;
  *) echo "build-bpf.sh: unsupported architecture $arch" >&2; exit 1 ;;
esac
command -v clang >/dev/null || { echo "build-bpf.sh: clang not found; run 'make deps'" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_${target_arch} \
  -I"$here/include" -I/usr/include/$multiarch "$@" -c "$src" -o "$out"
