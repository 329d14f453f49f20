#!/usr/bin/env bash
# Build a committed BPF object from its source (the default `cargo build` embeds it and needs no
# clang):
#   scripts/build-bpf.sh [OUT]           the monitor's sensor: crates/rampart-monitor/bpf/sensor.bpf.c
#   scripts/build-bpf.sh netguard [OUT]  the enforcer's connection guard:
#                                        crates/rampart-enforce/bpf/netguard.bpf.c
# OUT defaults to the committed object's path.
# Installs clang and llvm (llvm-strip) from Debian when missing. Deterministic: the same source
# and clang version give the same bytes (relative file names, no DWARF; .BTF and .BTF.ext, which
# CO-RE needs, are kept). The tests bpf_object_matches_source (rampart-monitor's tests/sensor.rs,
# rampart-enforce's tests/net.rs) rebuild and compare.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name=sensor
src="$root/crates/rampart-monitor/bpf"
if [ "${1:-}" = netguard ]; then
  name=netguard
  src="$root/crates/rampart-enforce/bpf"
  shift
elif [ "${1:-}" = sensor ]; then
  shift
fi
out="${1:-$src/$name.bpf.o}"
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
  -c "$name.bpf.c" -o "$tmp/$name.bpf.o"
llvm-strip -g "$tmp/$name.bpf.o"
mv "$tmp/$name.bpf.o" "$out"
