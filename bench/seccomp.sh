#!/usr/bin/env bash
# Seccomp recording overhead: wall time of a workload run plain, under `rampart seccomp record`
# (ptrace, syscall stops) and under `strace -f -c` (ptrace too, counting), in the same run, on a
# syscall-heavy workload and a CPU-heavy one. Figures, not a test.
#
#   bash bench/seccomp.sh            # from the repo root; RUNS=5
#   RUNS=3 SKIP_BUILD=1 RAMPART=/path/to/rampart bash bench/seccomp.sh
#
# Workloads (both from the base system, no download):
#   syscalls: `find /usr/lib -xdev` (one getdents64/newfstatat per entry, tens of thousands)
#   cpu     : `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'` (few syscalls)
# Reports per workload: median wall time (ms) of RUNS runs for plain / rampart / strace, the
# ratios to plain, and the syscall count rampart recorded (from the profile's provenance block).
#
# Env knobs
#   RUNS=5        timed runs per measurement (median)
#   SKIP_BUILD=   1: use an existing $RAMPART instead of `cargo build --release -p rampart`
#   RAMPART=      rampart binary (default ${CARGO_TARGET_DIR:-<repo>/target}/release/rampart)
# Needs: strace (installed with apt-get when missing), python3, cargo (unless SKIP_BUILD=1).
set -euo pipefail

RUNS=${RUNS:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
RAMPART=${RAMPART:-$target/release/rampart}
if [[ -z ${SKIP_BUILD:-} ]]; then
  (cd "$repo" && cargo build --release --locked -p rampart)
fi
command -v strace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y strace >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# median wall time in ms of RUNS runs of "$@" (output discarded)
median_ms() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

declare -A WORKLOADS=(
  [syscalls]="find /usr/lib -xdev"
  [cpu]="sh -c 'i=0; while [ \$i -lt 300000 ]; do i=\$((i+1)); done'"
)

printf '%-9s %9s %11s %10s %9s %9s %10s\n' workload plain_ms rampart_ms strace_ms rampart_x strace_x syscalls
for name in syscalls cpu; do
  cmd=${WORKLOADS[$name]}
  plain=$(median_ms bash -c "$cmd")
  ours=$(median_ms "$RAMPART" seccomp record --allow-failure --out "$work/$name.json" -- bash -c "$cmd")
  theirs=$(median_ms strace -f -c -o "$work/$name.strace" bash -c "$cmd")
  calls=$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(sum(p['rampart']['observed']['syscalls'].values()))" "$work/$name.json")
  awk -v n="$name" -v p="$plain" -v r="$ours" -v s="$theirs" -v c="$calls" \
    'BEGIN { printf "%-9s %9d %11d %10d %8.1fx %8.1fx %10d\n", n, p, r, s, r/(p?p:1), s/(p?p:1), c }'
done
echo "(median of $RUNS runs; rampart: $RAMPART; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
