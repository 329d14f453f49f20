#!/usr/bin/env bash
# RBAC escalation paths at scale (issue 17 §4), printed, not asserted: `rampart rbac paths`
# (release build) on a generated cluster of 25,000 pods, 5,000 service accounts, 500 namespaces,
# 1,200 roles and 5,000 bindings (bench/rbac_cluster.py, `kubectl get -o json` List files):
# wall time and peak resident memory from `/usr/bin/time -v` (target: under 2 s). `who-can` and
# `can` on the same input are timed too.
#
#   bash bench/rbac.sh
#   PODS=100000 BINDINGS=20000 bash bench/rbac.sh      # larger
#
# Peers: none runs here. KubeHound (Go, needs a live cluster and a graph database), rbac-police
# and kubectl-who-can ship from GitHub, which these machines cannot reach; none publishes timings.
# The figures are rampart's own, against the issue's target.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${TMPDIR:-/tmp}/rampart-bench/rbac
rm -rf "$OUT"; mkdir -p "$OUT"
cd "$REPO"
bash scripts/ensure-tools.sh /usr/bin/time:time >/dev/null
cargo build -q --release -p rampart --bin rampart
R=${RAMPART:-$REPO/target/release/rampart}
python3 bench/rbac_cluster.py "$OUT/cluster"
du -sh "$OUT/cluster" | awk '{print "input: " $1}'

measure() {
  local name=$1; shift
  local code=0
  /usr/bin/time -v "$@" >"$OUT/$name.out" 2>"$OUT/$name.time" || code=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$OUT/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/$name.time")
  printf '%-10s wall %s  peak RSS %s MiB  exit %s\n' "$name" "$wall" "$rss" "$code"
}

measure paths "$R" rbac paths --format json -o "$OUT/paths.json" "$OUT/cluster"
python3 - "$OUT/paths.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
steps = [len(p["steps"]) for p in d["paths"]]
print(f"paths: {len(steps)} identities reach cluster-admin (longest {max(steps, default=0)} steps); "
      f"graph {d['nodes']} nodes, {d['edges']} edges; {len(d['errors'])} input errors")
PY
measure who-can "$R" rbac who-can create pods/exec --format json "$OUT/cluster"
measure can "$R" rbac can sa:ns-1:sa-1 --format json "$OUT/cluster"
