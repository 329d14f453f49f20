#!/usr/bin/env bash
# Build the sensor's BPF object from source: crates/rampart-monitor/bpf/sensor.bpf.c ->
# sensor.bpf.o (committed; the default `cargo build` embeds it and needs no clang).
#   scripts/build-bpf.sh [OUT]   OUT defaults to the committed object's path
# Installs clang and llvm (llvm-strip) from Debian when missing. Deterministic: the same source
# and clang version give the same bytes (relative file names, no DWARF; .BTF and .BTF.ext, which
# CO-RE needs, are kept). The test bpf_object_matches_source rebuilds and compares.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/crates/rampart-monitor/bpf"
out="${1:-$src/sensor.bpf.o}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

if ! command -v clang >/dev/null || ! command -v llvm-strip >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  # wait for another apt/dpkg (concurrent tests) instead of failing on the lock
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends clang llvm >/dev/null
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$src"
# -g makes clang emit BTF (and .BTF.ext: CO-RE relocations, line info); DWARF is stripped below.
clang -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 \
  -fdebug-prefix-map="$src"=. -fno-ident \
  -Wall -Werror -Wno-unused-function \
  -c sensor.bpf.c -o "$tmp/sensor.bpf.o"
llvm-strip -g "$tmp/sensor.bpf.o"
mv "$tmp/sensor.bpf.o" "$out"
