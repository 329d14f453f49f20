#!/usr/bin/env bash
# Fleet scale (issue 19), figures printed, not asserted:
#
#   1. Images per hour for IMAGES images sharing 3 base images (bench/fleet_images.py: real
#      files of this machine, 46-60 MB compressed bases, 1 MB application layers), pulled from
#      Debian's docker-registry on loopback, with 1 and 2 `rampart fleet worker` processes over a
#      real PostgreSQL: with an empty layer cache (each base is read once), with the layer cache
#      full, and with no layer cache at all; against Trivy (`trivy image` from the same registry,
#      CycloneDX SBOM, 2 at once) with no cache (`--cache-backend memory`) and with its own
#      filesystem cache (empty at the start of the run, then full). The runs with every layer
#      cached (rampart's and Trivy's) are repeated FULL_RUNS times (3): the median is kept.
#   2. Store size per 10,000 images: the store of the first run, its images copied to 10,000
#      (same package sets: images sharing bases), measured by PostgreSQL.
#   3. Rescan latency of 10,000 stored SBOMs after an advisory update: `rampart inventory
#      --inventory postgres://... rescan` against the advisories of ../shared/corpus (Go and
#      RustSec, then PyPA added: the update whose new findings are reported).
#   4. What a claim costs with a long queue: CLAIMS jobs (10,000) on two registries that refuse
#      connections at once (127.0.0.1 ports 1 and 2), one attempt each, taken and failed by one
#      worker of 2 threads with at most 1 running per registry: jobs ended per second, where
#      nearly all the time is claiming (no peer: Trivy has no queue).
#
#   bash bench/fleet.sh
#   IMAGES=50 RESCAN=2000 bash bench/fleet.sh
#   RAMPART_BIN=target/release/rampart SKIP_TRIVY=1 bash bench/fleet.sh   # no build, no peer
#
# Needs (installed by .ci/run): docker-registry, skopeo, postgresql; Trivy from
# scripts/install-peers.sh (PyPI).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CORPUS=$(cd "$REPO/../shared/corpus" && pwd)
OUT=${TMPDIR:-/tmp}/fleet-bench
IMAGES=${IMAGES:-200}
RESCAN=${RESCAN:-10000}
mkdir -p "$OUT"
log() { printf '>> %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -n "${RAMPART_BIN:-}" ]; then
  R=$RAMPART_BIN
else
  log "building rampart (release)"
  (cd "$REPO" && cargo build --release --locked -q -p rampart)
  R=$REPO/target/release/rampart
fi
T=$(bash "$REPO/scripts/install-peers.sh")/bin/trivy

if [ ! -f "$OUT/layout/index.json" ] || [ "$(python3 -c "import json;print(len(json.load(open('$OUT/layout/index.json'))['manifests']))")" != "$IMAGES" ]; then
  rm -rf "$OUT/layout"
  log "building $IMAGES images"
  python3 "$REPO/bench/fleet_images.py" "$OUT/layout" "$IMAGES" 3 >&2
fi

# ---- the registry
PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# PostgreSQL runs under `su`: stopping it is pg_ctl's job (a signal to su leaves it running)
pg_stop() { [ ! -f "$OUT/pg/data/postmaster.pid" ] || su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $OUT/pg/data -m fast -w stop" >/dev/null 2>&1 || true; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; pg_stop; }
trap cleanup EXIT
RPORT=$(free_port)
rm -rf "$OUT/registry"; mkdir -p "$OUT/registry"
cat > "$OUT/registry/config.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $OUT/registry/data}}
http: {addr: 127.0.0.1:$RPORT}
EOF
docker-registry serve "$OUT/registry/config.yml" >"$OUT/registry/log" 2>&1 &
PIDS+=($!)
until curl -sf "http://127.0.0.1:$RPORT/v2/" >/dev/null; do sleep 0.2; done
REG=127.0.0.1:$RPORT
log "pushing $IMAGES images to $REG"
seq 0 $((IMAGES - 1)) | xargs -P 4 -I{} skopeo copy -q --dest-tls-verify=false \
  "oci:$OUT/layout:app-{}" "docker://$REG/fleet/app-{}:v1"
seq 0 $((IMAGES - 1)) | sed "s|.*|$REG/fleet/app-&:v1|" > "$OUT/refs.txt"

# ---- PostgreSQL
PGPORT=$(free_port)
pg_stop
rm -rf "$OUT/pg"; mkdir -p "$OUT/pg"; chown postgres: "$OUT/pg"
su postgres -s /bin/sh -c "$PGBIN/initdb --auth=trust -U postgres -D $OUT/pg/data" >/dev/null
su postgres -s /bin/sh -c "$PGBIN/postgres -D $OUT/pg/data -p $PGPORT -k $OUT/pg -c listen_addresses=127.0.0.1 -c fsync=on" >"$OUT/pg/log" 2>&1 &
PIDS+=($!)
until "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; do sleep 0.2; done
psql_() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }
# a new database per run (called in $(...): the name cannot come from a shell counter)
newdb() { local n; n=fleet_$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); psql_ -d postgres -c "CREATE DATABASE $n" >/dev/null; echo "postgres://postgres@127.0.0.1:$PGPORT/$n"; }

# workers LABEL PROCESSES CONCURRENCY CACHE_ARGS...: images per hour
declare -A RATE
workers() {
  local label=$1 procs=$2 conc=$3; shift 3
  local url; url=$(newdb)
  "$R" fleet enqueue --store "$url" --file "$OUT/refs.txt" >/dev/null
  local start end pids=()
  start=$(date +%s.%N)
  for i in $(seq 1 "$procs"); do
    "$R" fleet worker --store "$url" --insecure --concurrency "$conc" --per-registry 8 \
      --poll 0.05 --exit-when-idle "$@" 2>>"$OUT/worker.$label.log" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  end=$(date +%s.%N)
  local done_; done_=$(psql_ -d "${url##*/}" -c "SELECT count(*) FROM fleet_jobs WHERE state = 'done'")
  RATE[$label]=$(python3 -c "print(round($done_ * 3600 / ($end - $start)))")
  printf '%-44s %4s images in %6.1f s  %7s images/hour\n' "$label" "$done_" \
    "$(python3 -c "print($end - $start)")" "${RATE[$label]}"
  echo "$url" > "$OUT/last-url"
}

# trivy LABEL ARGS...: images per hour, 2 scans at once
trivy_run() {
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  xargs -P 2 -I{} "$T" image -q --format cyclonedx -o /dev/null "$@" {} < "$OUT/refs.txt" \
    2>>"$OUT/trivy.$label.log"
  end=$(date +%s.%N)
  RATE[$label]=$(python3 -c "print(round($IMAGES * 3600 / ($end - $start)))")
  printf '%-44s %4s images in %6.1f s  %7s images/hour\n' "$label" "$IMAGES" \
    "$(python3 -c "print($end - $start)")" "${RATE[$label]}"
}

# median RUN LABEL ARGS...: RUN (workers or trivy_run) FULL_RUNS times under LABEL (k), the
# median rate kept under LABEL: a run with every layer cached lasts seconds, and one run's
# figure moves by 20% on a shared machine
FULL_RUNS=${FULL_RUNS:-3}
median() {
  local run=$1 label=$2; shift 2
  local rates=() k
  for k in $(seq 1 "$FULL_RUNS"); do
    "$run" "$label ($k)" "$@"
    rates+=("${RATE[$label ($k)]}")
    unset "RATE[$label ($k)]"
  done
  RATE[$label]=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-44s median %7s images/hour\n' "$label" "${RATE[$label]}"
}

echo "== 1. images per hour ($IMAGES images on 3 bases, $(nproc) cores, $(date -u +%F))"
CACHE=$OUT/layer-cache
rm -rf "$CACHE"
export XDG_CACHE_HOME=$OUT/xdg
rm -rf "$XDG_CACHE_HOME"
if "$R" fleet worker --help | grep -q -- --layer-cache; then
  workers "rampart 1 worker, no layer cache" 1 2 --no-layer-cache
  FIRST_URL=$(cat "$OUT/last-url")
  workers "rampart 1 worker, layer cache empty" 1 2 --layer-cache "$CACHE/1.db"
  median workers "rampart 1 worker, layer cache full" 1 2 --layer-cache "$CACHE/1.db"
  workers "rampart 2 workers, layer cache empty" 2 1 --layer-cache "$CACHE/2.db"
  median workers "rampart 2 workers, layer cache full" 2 1 --layer-cache "$CACHE/2.db"
  PGCACHE=$(newdb)
  workers "rampart 2 workers, shared PostgreSQL layer cache" 2 1 --layer-cache "$PGCACHE"
else
  log "this rampart has no layer cache: workers without it only"
  workers "rampart 1 worker, no layer cache" 1 2
  FIRST_URL=$(cat "$OUT/last-url")
  workers "rampart 2 workers, no layer cache" 2 1
fi
if [ -z "${SKIP_TRIVY:-}" ]; then
  export TRIVY_INSECURE=true TRIVY_NO_PROGRESS=true TRIVY_SKIP_CHECK_UPDATE=true
  trivy_run "trivy, no cache" --cache-backend memory
  rm -rf "$OUT/trivy-cache"
  trivy_run "trivy, own cache empty" --cache-dir "$OUT/trivy-cache"
  median trivy_run "trivy, own cache full" --cache-dir "$OUT/trivy-cache"
  for k in "${!RATE[@]}"; do printf '%s\t%s\n' "$k" "${RATE[$k]}"; done > "$OUT/rates.tsv"
  python3 - "$OUT/rates.tsv" <<'EOF'
import sys
r = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]))
def ratio(a, b):
    if a in r and b in r:
        print(f"ratio {a} / {b}: {float(r[a]) / float(r[b]):.1f}x")
ratio("rampart 1 worker, layer cache empty", "trivy, own cache empty")
ratio("rampart 2 workers, layer cache empty", "trivy, own cache empty")
ratio("rampart 1 worker, layer cache full", "trivy, own cache full")
ratio("rampart 2 workers, layer cache full", "trivy, own cache full")
ratio("rampart 1 worker, no layer cache", "trivy, no cache")
ratio("rampart 2 workers, no layer cache", "trivy, no cache")
EOF
fi

echo "== 2. store size per 10,000 images"
DB=${FIRST_URL##*/}
psql_ -d "$DB" -c "
INSERT INTO fleet_images (digest, name, analysis, distro, packages, summary, report, analysed_at)
SELECT 'sha256:' || md5(i.digest || g::text) || md5(g::text || i.digest), i.name || '-' || g,
       i.analysis, i.distro, i.packages, i.summary, i.report, now()
FROM fleet_images i, generate_series(1, $(( (RESCAN + IMAGES - 1) / IMAGES - 1 ))) g;" >/dev/null
psql_ -d "$DB" -c "VACUUM ANALYZE" >/dev/null
psql_ -d "$DB" -c "SELECT n.count || ' images; database ' || pg_size_pretty(pg_database_size(current_database()))
  || '; fleet tables ' || pg_size_pretty(sum(pg_total_relation_size(c.oid)))
  || '; of which reports ' || pg_size_pretty((SELECT pg_total_relation_size('fleet_images')))
  || '; packages ' || (SELECT count(*) FROM fleet_packages) || ' distinct rows'
  FROM pg_class c, (SELECT count(*) FROM fleet_images) n(count)
  WHERE c.relname LIKE 'fleet_%' AND c.relkind = 'r' GROUP BY n.count"
IMGS=$(psql_ -d "$DB" -c "SELECT count(*) FROM fleet_images")

echo "== 3. rescan of $IMGS stored SBOMs after an advisory update"
rm -f "$OUT/osv.db"
"$R" db import --db "$OUT/osv.db" "$CORPUS/osv-go/data/osv" "$CORPUS/osv-rustsec/crates" >/dev/null
s=$(date +%s.%N)
"$R" inventory --inventory "$FIRST_URL" rescan --db "$OUT/osv.db" --format json > "$OUT/rescan0.json" 2>/dev/null
e=$(date +%s.%N)
printf 'first match of %s images (Go, RustSec):      %6.2f s\n' "$IMGS" "$(python3 -c "print($e - $s)")"
"$R" db import --db "$OUT/osv.db" "$CORPUS/osv-pypa/vulns" >/dev/null
s=$(date +%s.%N)
"$R" inventory --inventory "$FIRST_URL" rescan --db "$OUT/osv.db" --format json > "$OUT/rescan1.json" 2>/dev/null
e=$(date +%s.%N)
python3 - "$OUT/rescan1.json" "$(python3 -c "print($e - $s)")" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
new = sum(len(i["new"]) for i in r)
hit = sum(1 for i in r if i["new"])
print(f"rescan after the PyPA update:              {float(sys.argv[2]):6.2f} s  "
      f"({len(r)} images, {new} new findings in {hit} images; target < 30 s)")
EOF

echo "== 4. claims with ${CLAIMS:=10000} jobs queued"
URL=$(newdb)
seq 1 "$CLAIMS" | awk '{ printf "127.0.0.1:%d/claims/app-%d:v1\n", 1 + $1 % 2, $1 }' > "$OUT/claims.txt"
"$R" fleet enqueue --store "$URL" --max-attempts 1 --file "$OUT/claims.txt" >/dev/null
s=$(date +%s.%N)
"$R" fleet worker --store "$URL" --insecure --concurrency 2 --per-registry 1 --poll 0.05 \
  --exit-when-idle --no-layer-cache --registry-timeout 2 2>>"$OUT/worker.claims.log" || true
e=$(date +%s.%N)
ended=$(psql_ -d "${URL##*/}" -c "SELECT count(*) FROM fleet_jobs WHERE state IN ('done', 'failed')")
printf '%s of %s jobs claimed and ended in %6.2f s: %s per second\n' "$ended" "$CLAIMS" \
  "$(python3 -c "print($e - $s)")" "$(python3 -c "print(round($ended / ($e - $s)))")"
