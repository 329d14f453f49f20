#!/usr/bin/env bash
# The runtime monitor's cost and speed: `rampart monitor` (release, Falco's stable ruleset: the
# default rules) against the same work without it, in runc containers. Figures, not a test.
#
#   bash bench/monitor.sh              # from the repo root, as root; ROUNDS=3
#   ROUNDS=5 SKIP_BUILD=1 bash bench/monitor.sh
#
# (a) wall time of realistic work in a container (extract a tar of ~/usr/include,/usr/share/doc,
#     `find /usr`, `make -j2` of 24 C files), plain and monitored, alternated round by round;
#     cost per event on micro-loops (open/read/close, fork/exec, loopback connect+accept):
#     plain, monitored, `strace -f -c`, and a bpftrace script on the same hooks (the floor);
# (b) the highest paced open rate (two generator processes) with zero events lost in the kernel;
# (c) latency syscall -> alert line at 10,000 events/s (100 of them /etc/shadow reads: "Read
#     sensitive file untrusted"), from each alert's `time` to when the line was read;
# (d) the monitor's CPU (utime+stime from /proc/PID/stat) per phase and its peak RSS (VmHWM).
#
# Container: runc, a root of symlinks (bin, lib, ... -> usr/...) over the host's /usr bound
# read-only, its own /etc, a tmpfs /tmp, the bench directory bound at /w. Nothing downloaded.
#
# Env knobs
#   ROUNDS=3     rounds of the realistic work and of each micro-loop (medians)
#   SKIP_BUILD=  1: use an existing $RAMPART
#   RAMPART=     default ${CARGO_TARGET_DIR:-<repo>/target}/release/rampart
#   RATES=       paced total rates tried for (b) (default "100000 200000 300000 400000")
#   KEEP=        1: keep the work directory
# Needs: root, runc, gcc, make, strace, bpftrace (apt-get installs the missing ones), python3.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
RATES=${RATES:-"100000 200000 300000 400000"}
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
RAMPART=${RAMPART:-$target/release/rampart}
[[ $(id -u) == 0 ]] || { echo "bench/monitor.sh: run as root" >&2; exit 2; }
if [[ -z ${SKIP_BUILD:-} ]]; then
  (cd "$repo" && cargo build --release --locked -p rampart)
fi
for t in runc:runc gcc:gcc make:make strace:strace bpftrace:bpftrace; do
  command -v "${t%%:*}" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y "${t#*:}" >/dev/null
done

W=$(mktemp -d /tmp/rampart-monbench.XXXXXX)
MON_PID=
TRACEFS_MOUNTED=
cleanup() {
  [[ -n $MON_PID ]] && kill "$MON_PID" 2>/dev/null && wait "$MON_PID" 2>/dev/null
  [[ -n $TRACEFS_MOUNTED ]] && umount /sys/kernel/tracing 2>/dev/null
  for c in $(runc list -q 2>/dev/null | grep '^monbench-' || true); do runc delete -f "$c" >/dev/null 2>&1 || true; done
  [[ -z ${KEEP:-} ]] && rm -rf "$W"
  true
}
trap cleanup EXIT
log() { printf '>> %s\n' "$*" >&2; }

# ------------------------------------------------------------------ inputs
log "work directory $W"
gcc -O2 -o "$W/gen" "$repo/bench/monitor/gen.c"
echo x >"$W/shadow"   # gen's kept open: /w/shadow
tar -C / -cf "$W/big.tar" usr/include usr/share/doc usr/share/man
mkdir -p "$W/src"
for i in $(seq 1 24); do
  cat >"$W/src/f$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct item$i { char name[32]; int v; };
static int cmp(const void *a, const void *b) { return ((const struct item$i *)a)->v - ((const struct item$i *)b)->v; }
int f$i(int n) {
  struct item$i *x = calloc((size_t)n, sizeof *x);
  for (int k = 0; k < n; k++) { snprintf(x[k].name, sizeof x[k].name, "i%d", k * $i); x[k].v = (k * 7919) % n; }
  qsort(x, (size_t)n, sizeof *x, cmp);
  int r = (int)strlen(x[0].name); free(x); return r;
}
EOF
done
printf 'OBJ := $(patsubst %%.c,/tmp/build/%%.o,$(wildcard *.c))\nall: $(OBJ)\n/tmp/build/%%.o: %%.c\n\t@mkdir -p /tmp/build\n\t@gcc -O2 -c $< -o $@\n' >"$W/src/Makefile"

# the bundle: the host's /usr read-only under a root of symlinks
B=$W/bundle
mkdir -p "$B/rootfs"/{etc,proc,dev,sys,tmp,w,usr,root}
for l in bin sbin lib lib64; do ln -s "usr/$l" "$B/rootfs/$l"; done
echo monbench >"$B/rootfs/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$B/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$B/rootfs/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$B/rootfs/etc/shadow"
chmod 640 "$B/rootfs/etc/shadow"
cp /etc/ld.so.cache "$B/rootfs/etc/"
(cd "$B" && runc spec)
python3 - "$B/config.json" "$W" <<'EOF'
import json, sys
path, work = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["env"].append("LANG=C")
c["root"] = {"path": "rootfs", "readonly": True}
c["mounts"] += [
    {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]},
    {"destination": "/w", "type": "bind", "source": work, "options": ["rbind", "rw"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=4g"]},
]
json.dump(c, open(path, "w"))
EOF

n=0
# runs `sh -c "$1"` in a fresh container, standard output to standard output
in_container() {
  n=$((n + 1))
  python3 - "$B/config.json" "$1" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/sh", "-c", sys.argv[2]]
json.dump(c, open(sys.argv[1], "w"))
EOF
  runc run --bundle "$B" "monbench-$$-$n" </dev/null
}
# wall time in ms of a shell command inside a container, timed inside it
timed() {
  in_container "s=\$(date +%s%N); $1 >/dev/null 2>&1; e=\$(date +%s%N); echo \$(( (e - s) / 1000000 ))"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "NA"}'; }

# ------------------------------------------------------------------ the monitor
start_monitor() {
  : >"$W/mon.err"
  "$RAMPART" monitor --metrics 127.0.0.1:0 "$@" \
    > >(python3 "$repo/bench/monitor/reader.py" "$W/alerts.tsv") 2>"$W/mon.err" &
  MON_PID=$!
  for _ in $(seq 300); do
    grep -q 'monitor running' "$W/mon.err" && break
    kill -0 "$MON_PID" 2>/dev/null || { cat "$W/mon.err" >&2; exit 1; }
    sleep 0.1
  done
  ADDR=$(grep -o 'http://[0-9.:]*' "$W/mon.err" | head -1 | sed 's|http://||')
  [[ -n $ADDR ]] || { cat "$W/mon.err" >&2; exit 1; }
}
stop_monitor() {
  kill -INT "$MON_PID"
  wait "$MON_PID" || true
  MON_PID=
}
# events received / lost so far (the status document is refreshed every second)
status_field() {
  { "$RAMPART" monitor status --addr "$ADDR" --json 2>/dev/null || true; } | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(d['events']['$1'])"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$MON_PID/stat"; }
HZ=$(getconf CLK_TCK)

# ------------------------------------------------------------------ (a) realistic work
declare -A WORK=(
  [tar]="mkdir /tmp/x && tar -C /tmp/x -xf /w/big.tar"
  [find]="find /usr -xdev"
  [make]="cd /w/src && make -s -j2"
)
ORDER="tar find make"
log "(a) realistic work, $ROUNDS rounds (plain, then monitored)"
for r in $(seq "$ROUNDS"); do
  for w in $ORDER; do timed "${WORK[$w]}" >>"$W/plain.$w"; done
  start_monitor
  for w in $ORDER; do timed "${WORK[$w]}" >>"$W/mon.$w"; done
  stop_monitor
  # the hook's floor: the sensor attached, no system call reported (bench/monitor/floor.yaml)
  start_monitor --rules "$repo/bench/monitor/floor.yaml"
  for w in $ORDER; do timed "${WORK[$w]}" >>"$W/floor.$w"; done
  stop_monitor
done

# ------------------------------------------------------------------ micro-loops
declare -A LOOP=([open]=100000 [openf]=100000 [forkexec]=2000 [connect]=20000)
LOOPS="open openf forkexec connect"
log "micro-loops: plain, strace -f -c, bpftrace floor"
for r in $(seq "$ROUNDS"); do
  for l in $LOOPS; do
    in_container "/w/gen $l ${LOOP[$l]}" >>"$W/loop.plain.$l"
    in_container "strace -f -c -o /dev/null /w/gen $l ${LOOP[$l]}" >>"$W/loop.strace.$l"
  done
done
if ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs tracefs /sys/kernel/tracing && TRACEFS_MOUNTED=1
fi
bpftrace "$repo/bench/monitor/floor.bt" >"$W/bpftrace.out" 2>&1 &
BT=$!
for _ in $(seq 100); do grep -q Attaching "$W/bpftrace.out" && break; sleep 0.2; done
sleep 1
for r in $(seq "$ROUNDS"); do
  for l in $LOOPS; do in_container "/w/gen $l ${LOOP[$l]}" >>"$W/loop.bpftrace.$l"; done
done
kill -INT "$BT" 2>/dev/null || true; wait "$BT" || true
if [[ -n $TRACEFS_MOUNTED ]]; then umount /sys/kernel/tracing; TRACEFS_MOUNTED=; fi

log "micro-loops, (b), (c), (d): one monitor, containers only"
# Falco's stable rules make the monitor watch host processes too ((a) runs so); here only
# containers, so that the events counted per loop iteration are the container's, not the
# host's (other jobs build next door)
printf 'include-host = false\n' >"$W/containers.toml"
start_monitor --config "$W/containers.toml"
C0=$(cpu_ticks); T0=$(date +%s%N)
sleep 1.2
for r in $(seq "$ROUNDS"); do
  for l in $LOOPS; do
    e0=$(status_field received)
    in_container "/w/gen $l ${LOOP[$l]}" >>"$W/loop.mon.$l"
    sleep 1.2
    e1=$(status_field received)
    echo "$(( e1 - e0 ))" >>"$W/loop.events.$l"
  done
done
C1=$(cpu_ticks); T1=$(date +%s%N)

# (b) paced rates, two generator processes in one container, 5 s each
log "(b) sustained rate"
SECS=5
: >"$W/rates"
for rate in $RATES; do
  half=$((rate / 2))
  l0=$(status_field lost); e0=$(status_field received); c0=$(cpu_ticks); t0=$(date +%s%N)
  got=$(in_container "/w/gen rate $half $SECS & /w/gen rate $half $SECS; wait" | awk '{s += $1} END {print s}')
  t1=$(date +%s%N); c1=$(cpu_ticks)
  sleep 1.5
  l1=$(status_field lost); e1=$(status_field received)
  cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v t=$((t1 - t0)) 'BEGIN {printf "%.0f", 100 * c / hz / (t / 1e9)}')
  nspe=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v e=$((e1 - e0)) 'BEGIN {printf "%.0f", e ? c / hz * 1e9 / e : 0}')
  echo "$rate $got $((e1 - e0)) $((l1 - l0)) $cpu $nspe" >>"$W/rates"
done

# (c) latency at 10,000 events/s, 100 of them alerts
log "(c) alert latency"
lat_from=$(date +%s%N)
in_container "/w/gen rate 10000 10 100" >"$W/lat.rate"
sleep 1.5
lat_to=$(date +%s%N)
ALERT_LATENCY_US=$({ "$RAMPART" monitor status --addr "$ADDR" --json 2>/dev/null || true; } | python3 -c "
import json, sys
print(json.dumps(json.load(sys.stdin).get('alert_latency_us')))")
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$MON_PID/status")
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$MON_PID/status")
PSS=$(awk '/^Pss:/ {print $2}' "/proc/$MON_PID/smaps_rollup")
RING=$(awk '/^[0-9a-f]+-/ {m = ($6 == "anon_inode:bpf-map")} m && /^Rss:/ {s += $2} END {print s + 0}' "/proc/$MON_PID/smaps")
LOST_TOTAL=$(status_field lost)
stop_monitor

# ------------------------------------------------------------------ report
echo
echo "== (a) realistic work in a runc container: median wall ms of $ROUNDS rounds"
printf '%-6s %9s %11s %9s %9s %9s\n' work plain_ms monitor_ms overhead floor_ms floor
for w in $ORDER; do
  p=$(median <"$W/plain.$w"); m=$(median <"$W/mon.$w"); f=$(median <"$W/floor.$w")
  awk -v w="$w" -v p="$p" -v m="$m" -v f="$f" 'BEGIN {printf "%-6s %9d %11d %+8.1f%% %9d %+8.1f%%\n", w, p, m, 100 * (m - p) / p, f, 100 * (f - p) / p}'
done
echo "   (floor: the sensor attached with one exec rule, no system call reported: what the kernel's"
echo "    syscall tracing and the sys_exit program's first instructions cost, bench/monitor/floor.yaml)"
echo "   (tar: $(du -m "$W/big.tar" | cut -f1) MiB, $(tar -tf "$W/big.tar" | wc -l) entries; find: /usr; make: 24 files, -j2)"
echo
echo "== micro-loops: median ns per iteration; per event = (monitor - plain) / events per iteration"
printf '%-9s %9s %11s %11s %11s %9s %11s %11s %11s\n' loop plain monitor strace bpftrace ev/iter mon_ns/ev strace_x bpftrace_ns/ev
for l in $LOOPS; do
  p=$(median <"$W/loop.plain.$l"); m=$(median <"$W/loop.mon.$l")
  s=$(median <"$W/loop.strace.$l"); b=$(median <"$W/loop.bpftrace.$l")
  ev=$(median <"$W/loop.events.$l")
  awk -v l="$l" -v p="$p" -v m="$m" -v s="$s" -v b="$b" -v ev="$ev" -v n="${LOOP[$l]}" 'BEGIN {
    epi = ev / n
    if (epi < 0.5) {   # filtered in the kernel: the cost per iteration, no event
      printf "%-9s %9.0f %11.0f %11.0f %11.0f %9.2f %11s %10.1fx %11s   (+%.0f ns per open, filtered)\n", l, p, m, s, b, epi, "-", s / p, "-", m - p
    } else
      printf "%-9s %9.0f %11.0f %11.0f %11.0f %9.2f %11.0f %10.1fx %11.0f\n", l, p, m, s, b, epi, (m - p) / epi, s / p, (b - p) / epi }'
done
echo "   (monitor CPU during the micro-loops: $(awk -v c=$((C1 - C0)) -v hz="$HZ" -v t=$((T1 - T0)) 'BEGIN {printf "%.1f%%", 100 * c / hz / (t / 1e9)}') of one core)"
echo
echo "== (b) paced opens (2 processes, ${SECS} s each): events lost in the kernel"
printf '%10s %10s %12s %6s %8s %12s\n' asked_eps done_eps received/s lost mon_cpu mon_ns/event
best=0; best_ns=0; lost_below=0
while read -r rate got recv lost cpu nspe; do
  printf '%10d %10d %12d %6d %7d%% %12d\n' "$rate" "$got" "$((recv / SECS))" "$lost" "$cpu" "$nspe"
  # the highest rate reached with zero loss at it and at every lower step (a step that lost
  # events caps the figure even if a later, higher step happened not to)
  if [[ $lost != 0 ]]; then lost_below=1; fi
  if [[ $lost_below == 0 && $got -gt $best ]]; then best=$got; best_ns=$nspe; fi
done <"$W/rates"
echo "   highest sustained rate with zero drops: $best events/s (mon_cpu: % of one core)"
awk -v n="$best_ns" 'BEGIN { if (n > 0) printf "   the monitor spent %d ns of CPU per event there: one core would keep up with about %d events/s\n", n, 1e9 / n }'
echo
echo "== (c) latency syscall -> alert line read (alerts' \`time\` vs read), 10,000 opens/s (kept by the kernel's filter) with 100/s of /etc/shadow"
echo "   generator achieved $(cat "$W/lat.rate") opens/s"
python3 - "$W/alerts.tsv" "$lat_from" "$lat_to" <<'EOF'
import sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat = []
for line in open(path):
    read_ns, ev_ns, rule = line.rstrip("\n").split("\t", 2)
    if rule == "Read sensitive file untrusted" and lo <= int(ev_ns) <= hi:
        lat.append((int(read_ns) - int(ev_ns)) / 1000)
lat.sort()
if lat:
    at = lambda q: lat[min(len(lat) - 1, int(q * (len(lat) - 1)))]
    print(f"   {len(lat)} alerts: p50 {at(0.5):.0f} us, p99 {at(0.99):.0f} us, max {lat[-1]:.0f} us")
else:
    print("   no alert received")
EOF
echo "   the monitor's own alert_latency_us (evaluator queue -> sink, last 4096 alerts): $ALERT_LATENCY_US"
echo
echo "== (d) the monitor process: peak RSS (VmHWM) $HWM KiB ($((HWM / 1024)) MiB), resident at the end $RSS KiB; events lost in the whole session: $LOST_TOTAL"
echo "   proportional set size at the end (Pss, each page counted once) $PSS KiB ($((PSS / 1024)) MiB); of the RSS, $RING KiB are"
echo "   the BPF maps' mappings: the ring buffer's data pages are mapped twice, back to back, so a read can run past its end"
echo
echo "($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); rampart: $RAMPART; rules: the embedded Falco stable ruleset)"
cat <<'EOF'
Falco's published figures (https://falco.org/blog/falco-performance-testing/: Falco from its
Helm chart on a Kubernetes node, load from event-generator's `bench` mode, which counts one
event per action, each action several syscalls): about 5,200 events/s at 17.5% CPU with zero
drops, as issue 14 quotes it; the post also shows a saturated round, `cpu="38.1%" lost="2%"
res_mem="38 MB" throughput="4371.6 EPS"`. Their "event" is one event-generator action; ours is
one kernel event the sensor reports (one open, one exec, ...).
EOF
