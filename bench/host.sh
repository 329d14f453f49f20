#!/usr/bin/env bash
# `rampart host` on this machine (issue 18 §5), printed, not asserted: the wall time of a
# whole assessment of the running node (release build; kernel, runtimes with their versions
# asked, Docker, containerd, kubelet, SSH) over RUNS runs, best and median, and the peak
# resident memory (target: under 200 ms).
#
#   bash bench/host.sh
#   RUNS=50 bash bench/host.sh
#
# Peer: docker-bench-security (a shell script) is not packaged in Debian or any registry these
# machines reach (it ships from GitHub only), so it cannot run here: no ratio is printed. kube-bench
# likewise ships from GitHub only. The figure is rampart's own, against the issue's target.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
bash scripts/ensure-tools.sh /usr/bin/time:time >/dev/null
cargo build -q --release -p rampart --bin rampart
R=${RAMPART:-$REPO/target/release/rampart}
RUNS=${RUNS:-20}
OUT=${TMPDIR:-/tmp}/rampart-bench/host
rm -rf "$OUT"; mkdir -p "$OUT"
python3 - "$R" "$RUNS" <<'PY'
import subprocess, sys, time, statistics
r, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    t = time.perf_counter()
    p = subprocess.run([r, "host", "--format", "json", "--fail-on", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    times.append((time.perf_counter() - t) * 1000)
    if p.returncode not in (0, 1):
        sys.exit(f"rampart host exited {p.returncode}: {p.stderr.decode()}")
print(f"rampart host: best {min(times):.1f} ms, median {statistics.median(times):.1f} ms over {runs} runs (target < 200 ms)")
PY
/usr/bin/time -v "$R" host --format json --fail-on none >"$OUT/report.json" 2>"$OUT/time"
awk -F': ' '/Maximum resident set size/ {printf "peak RSS %.1f MiB\n", $2/1024}' "$OUT/time"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); l=[x for x in d['layers'] if x['layer']=='host'][0]; print(f\"host layer: {l['state']}, {l['assessed']} controls, {l['failed']} failed, {len(d['findings'])} findings\")" "$OUT/report.json"
echo "peer: docker-bench-security and kube-bench are not installable here (GitHub only): not run"
