#!/usr/bin/env bash
# Compiles one BPF C source into objects: build-bpf.sh <source.bpf.c> <output.o> [extra clang args...]
# Used by the Maven builds of the platform and of every probe plugin. From that one call it writes
#   <dir of output>/x86_64/<name>   for amd64 nodes  (-D__TARGET_ARCH_x86,   x86-64 struct pt_regs)
#   <dir of output>/aarch64/<name>  for arm64 nodes  (-D__TARGET_ARCH_arm64, struct user_pt_regs)
#   <output.o>                      the build host's own architecture, as before
# (directory names as `uname -m` prints them: the host loads bpf/<uname -m>/<name> when a plugin has it, else
# bpf/<name>). The register-level differences live in include/go_abi.h; everything else is the same C.
# Each architecture's uapi asm headers come from the multiarch include directory when installed
# (/usr/include/<triple>, or /usr/<triple>/include from a cross package); otherwise uapi-fallback/<arch> supplies
# the asm/ptrace.h the programs need and the host's asm headers supply the rest (types only, identical on both).
set -euo pipefail
src=$1; out=$2; shift 2
extra=("$@")
here=$(cd "$(dirname "$0")" && pwd)
command -v clang >/dev/null || { echo "build-bpf.sh: clang not found; run 'make deps'" >&2; exit 1; }
host=$(uname -m)
case "$host" in
  x86_64|aarch64) ;;
  *) echo "build-bpf.sh: unsupported build host architecture $host" >&2; exit 1 ;;
esac

# The -I flags that give <asm/...> for architecture $1 (uname -m name).
asm_includes() {
  local arch=$1 triple=$1-linux-gnu
  if [ -e "/usr/include/$triple/asm/ptrace.h" ]; then
    echo "-I/usr/include/$triple"
  elif [ -e "/usr/$triple/include/asm/ptrace.h" ]; then
    echo "-I/usr/$triple/include"
  else
    echo "-I$here/uapi-fallback/$arch -I/usr/include/$host-linux-gnu"
  fi
}

compile() {
  local arch=$1 obj=$2 target_arch
  case "$arch" in
    x86_64) target_arch=x86 ;;
    aarch64) target_arch=arm64 ;;
  esac
  mkdir -p "$(dirname "$obj")"
  # shellcheck disable=SC2046 # word splitting of the -I flags is intended
  clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_${target_arch} \
    -I"$here/include" $(asm_includes "$arch") ${extra[@]+"${extra[@]}"} -c "$src" -o "$obj"
}

dir=$(dirname "$out")
name=$(basename "$out")
for arch in x86_64 aarch64; do
  compile "$arch" "$dir/$arch/$name"
done
cp "$dir/$host/$name" "$out"
