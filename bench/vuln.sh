#!/usr/bin/env bash
# The vulnerability layer's figures (issue 4), printed, not asserted:
#
#   1. Importing the real advisories of ../shared/corpus (RustSec JSON, Go JSON, PyPA YAML):
#      wall time, records per second, peak memory, database size; the same records downloaded
#      as OSV's per-ecosystem all.zip archives from a local HTTP server (`rampart db update`).
#   2. Matching 10,000 packages once the database is open (target: under 200 ms), best of 5.
#   3. Inventory rescan throughput: 200 recorded SBOMs of 500 packages each, re-matched.
#
#   bash bench/vuln.sh
#   N=50000 IMAGES=1000 bash bench/vuln.sh
#
# Peers: none can run here on the same data. Grype and Trivy match only against their own
# databases, downloaded from ghcr.io / Anchore's CDN (not reachable from these machines), and
# osv-scanner is distributed neither on PyPI, npm, crates.io nor Debian. The figures are
# rampart's own; the README of bench/ says so.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CORPUS=$(cd "$REPO/../shared/corpus" && pwd)
OUT=${TMPDIR:-/tmp}/rampart-bench/vuln
N=${N:-10000}
IMAGES=${IMAGES:-200}
PER=${PER:-500}
rm -rf "$OUT"; mkdir -p "$OUT"
cd "$REPO"
cargo build -q --release -p rampart --bin rampart
cargo build -q --release -p rampart-vuln --example bench
R=$REPO/target/release/rampart
B=$REPO/target/release/examples/bench

measure() { # label, command...: wall seconds and peak RSS (MiB) of one run
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/time" "$@" >/dev/null 2>"$OUT/stderr" || { cat "$OUT/stderr"; exit 1; }
  read -r secs kib < "$OUT/time"
  printf '%-34s %7.2f s  %6.1f MiB peak\n' "$label" "$secs" "$(echo "$kib/1024" | bc -l)"
  echo "$secs"  > "$OUT/last"
}

echo "== 1. import ($(date -u +%F), $(nproc) cores)"
total=0
for src in osv-rustsec/crates osv-go/data/osv osv-pypa/vulns; do
  n=$(find "$CORPUS/$src" -name '*.json' -o -name '*.yaml' | wc -l)
  total=$((total + n))
  measure "import $src ($n records)" "$R" db import --db "$OUT/one.db" "$CORPUS/$src"
  printf '%-34s %7.0f records/s\n' "" "$(echo "$n / $(cat "$OUT/last")" | bc -l)"
  rm -f "$OUT/one.db"
done
measure "import all three ($total records)" "$R" db import --db "$OUT/osv.db" \
  "$CORPUS/osv-rustsec/crates" "$CORPUS/osv-go/data/osv" "$CORPUS/osv-pypa/vulns"
printf '%-34s %7.0f records/s, database %.1f MiB (corpus on disk: %s)\n' "" \
  "$(echo "$total / $(cat "$OUT/last")" | bc -l)" "$(echo "$(stat -c %s "$OUT/osv.db")/1048576" | bc -l)" \
  "$(du -sh "$CORPUS/osv-rustsec" "$CORPUS/osv-go" "$CORPUS/osv-pypa" | awk '{print $1}' | paste -sd+)"

# The download path: OSV's layout (<ecosystem>/all.zip) served by Python's http.server.
mkdir -p "$OUT/serve/crates.io" "$OUT/serve/Go" "$OUT/serve/PyPI"
python3 - "$CORPUS" "$OUT/serve" <<'PY'
import os, sys, zipfile
corpus, serve = sys.argv[1], sys.argv[2]
for eco, src in [("crates.io", "osv-rustsec/crates"), ("Go", "osv-go/data/osv"), ("PyPI", "osv-pypa/vulns")]:
    with zipfile.ZipFile(os.path.join(serve, eco, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for root, _, files in os.walk(os.path.join(corpus, src)):
            for f in sorted(files):
                if f.endswith((".json", ".yaml")):
                    z.write(os.path.join(root, f), f)
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$OUT/serve" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
measure "db update (3 archives over HTTP)" "$R" db update --db "$OUT/dl.db" --source "http://127.0.0.1:$port" \
  --ecosystem crates.io --ecosystem Go --ecosystem PyPI
printf '%-34s archives %s MiB\n' "" "$(du -cm "$OUT"/serve/*/all.zip | tail -1 | cut -f1)"

echo "== 2. matching $N packages (database open; best of 5)"
"$B" "$OUT/osv.db" match "$N"

echo "== 3. inventory rescan ($IMAGES SBOMs x $PER packages)"
"$B" "$OUT/osv.db" rescan "$IMAGES" "$PER"
