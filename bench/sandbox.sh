#!/usr/bin/env bash
# `rampart sandbox check` timed (docs/sandbox.md), printed, not asserted: a busybox bundle
# (`sleep 100000` as the workload, `sh -c 'echo ok'` as the smoke test, exec mode) checked RUNS
# times under runc and runsc (ptrace platform): per run, each runtime's start (run -> running)
# and start + smoke test in milliseconds, and the whole check's wall time (both runtimes,
# teardown included).
#
#   bash bench/sandbox.sh
#   RUNS=20 bash bench/sandbox.sh
#
# Knobs: RUNS (5), RAMPART (another rampart binary). Needs root.
# Peers: none. gVisor's own `runsc` has no "compare with runc" mode; the figures are rampart's.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
cd "$REPO"
bash scripts/ensure-tools.sh runc:runc runsc:runsc /bin/busybox:busybox-static python3:python3 >/dev/null
if [ -z "${RAMPART:-}" ]; then
  cargo build --release -p rampart >&2
  RAMPART=${CARGO_TARGET_DIR:-$REPO/target}/release/rampart
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench-sandbox.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bundle/rootfs"/{bin,proc,dev,sys,tmp,etc,root}
cp /bin/busybox "$WORK/bundle/rootfs/bin/"
chroot "$WORK/bundle/rootfs" /bin/busybox --install -s /bin
(cd "$WORK/bundle" && runc spec)
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["sleep", "100000"]
c["process"]["terminal"] = False
c["root"]["readonly"] = False
json.dump(c, open(p, "w"))
PY
echo "uptime: $(uptime)"
printf '%-4s %-10s %-22s %-10s %-22s %s\n' run "runc start" "runc start+smoke" "runsc start" "runsc start+smoke" "whole check"
for i in $(seq 1 "$RUNS"); do
  t0=$(date +%s%N)
  "$RAMPART" sandbox check --format json "$WORK/bundle" -- sh -c 'echo ok' > "$WORK/report.json" || true
  t1=$(date +%s%N)
  python3 - "$WORK/report.json" "$i" $(( (t1 - t0) / 1000000 )) <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["verdict"]["kind"] == "can-move", r["verdict"]
print(f'{sys.argv[2]:<4} {r["runc"]["start_millis"]:<10} {r["runc"]["wall_millis"]:<22} '
      f'{r["runsc"]["start_millis"]:<10} {r["runsc"]["wall_millis"]:<22} {sys.argv[3]} ms')
PY
done
