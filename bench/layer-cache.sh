#!/usr/bin/env bash
# The layer cache (docs/layer-cache.md): `rampart scan --image` (release, image layer only:
# --no-vulns) cold, while recording, and from the cache, on real images:
#
#   1. the realistic test image of scripts/build-test-image.sh (two gzip layers: a Debian base
#      with its dpkg database, pip, npm, Java and Go packages);
#   2. a larger image made of this machine's own Debian system (real ELF binaries and shared
#      libraries, Python's standard library, the dpkg database, copyright files) in three gzip
#      layers: /etc and /var/lib/dpkg; /usr/lib's multiarch and Python trees; /usr/bin,
#      /usr/sbin, /usr/libexec and /usr/share/doc;
#   3. a sibling of (2): the same two lower layers and an app layer of its own, scanned after
#      (2) was recorded: a shared base paid once.
#
# Prints median wall time and peak RSS of each run kind, the speed-up, and the cache's size.
#
#   bash bench/layer-cache.sh                       # RUNS=3
#   RUNS=1 RAMPART=target/release/rampart bash bench/layer-cache.sh
#
# Everything it builds lives under ${TMPDIR:-/tmp}/rampart-bench/layer-cache.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${TMPDIR:-/tmp}/rampart-bench/layer-cache
RUNS=${RUNS:-3}
mkdir -p "$OUT"
log() { printf '>> %s\n' "$*" >&2; }

if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$REPO" && cargo build --release --locked -q -p rampart)
  RAMPART=$REPO/target/release/rampart
fi
TEST_IMAGE=$(bash "$REPO/scripts/build-test-image.sh")

# ------------------------------------------------------------ the host-system image
HOST=$OUT/host-oci
SIBLING=$OUT/sibling-oci
if [ ! -f "$OUT/.images" ]; then
  log "building an image of this machine's /etc, /var/lib/dpkg and /usr (three gzip layers)"
  rm -rf "$HOST" "$SIBLING" "$OUT/layers"
  mkdir -p "$OUT/layers"
  tar -C / --numeric-owner -cf "$OUT/layers/base.tar" etc var/lib/dpkg 2>/dev/null || true
  (cd / && tar --numeric-owner -cf "$OUT/layers/lib.tar" usr/lib/x86_64-linux-gnu usr/lib/python3*)
  (cd / && tar --numeric-owner -cf "$OUT/layers/rest.tar" usr/bin usr/sbin usr/libexec usr/share/doc)
  mkdir -p "$OUT/layers/app/srv/app"
  printf 'DATABASE_URL=postgres://app:hunter2@db/app\n' > "$OUT/layers/app/srv/app/.env"
  cp /usr/bin/python3 "$OUT/layers/app/srv/app/run"
  tar -C "$OUT/layers/app" --numeric-owner -cf "$OUT/layers/app.tar" srv
  python3 - "$OUT" <<'EOF'
import gzip, hashlib, json, os, shutil, sys
out = sys.argv[1]
compressed = {}
def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
    with open(f"{layout}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{d}", "size": len(data)}
def layout(name, tars):
    path = f"{out}/{name}"
    layers, diff_ids = [], []
    for t in tars:
        if t not in compressed:
            raw = open(f"{out}/layers/{t}.tar", "rb").read()
            compressed[t] = ("sha256:" + hashlib.sha256(raw).hexdigest(), gzip.compress(raw, compresslevel=6, mtime=0))
        diff_id, gz = compressed[t]
        diff_ids.append(diff_id)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(path, gz)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
        "config": {"User": "1000", "Cmd": ["/srv/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(path, config)},
        "layers": layers}).encode()
    m = blob(path, manifest)
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **m}]},
        open(f"{path}/index.json", "w"))
    open(f"{path}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
layout("host-oci", ["base", "lib", "rest"])
layout("sibling-oci", ["base", "lib", "app"])
EOF
  rm -rf "$OUT/layers"
  touch "$OUT/.images"
fi

# ------------------------------------------------------------ measurements
# run LABEL cache-args... -- target : RUNS runs; median wall s, max RSS MiB
declare -A WALL RSS
measure() {
  local label=$1; shift
  local walls=() rss=0
  for _ in $(seq "$RUNS"); do
    [ -n "${RESET:-}" ] && rm -f "$CACHE" "$CACHE-wal" "$CACHE-shm"
    /usr/bin/time -f '%e %M' -o "$OUT/time" "$RAMPART" scan --no-config --no-vulns --no-inventory \
      -f json -o "$OUT/$label.json" "$@" 2>"$OUT/$label.err" || [ $? -eq 1 ]
    read -r w m < "$OUT/time"
    walls+=("$w"); [ "$m" -gt "$rss" ] && rss=$m
  done
  WALL[$label]=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  RSS[$label]=$((rss / 1024))
}

CACHE=$OUT/layers.db
report() {
  local name=$1 target=$2
  RESET=1 measure "$name-cold" --image "$target" --no-layer-cache
  RESET=1 measure "$name-record" --image "$target" --layer-cache "$CACHE"
  measure "$name-cached" --image "$target" --layer-cache "$CACHE"
  cmp -s "$OUT/$name-cold.json" "$OUT/$name-cached.json" || { echo "$name: the cached report differs" >&2; exit 1; }
  printf '%-22s cold %6.2f s %5d MiB | recording %6.2f s %5d MiB | cached %6.2f s %5d MiB | x%.1f | cache %s\n' \
    "$name" "${WALL[$name-cold]}" "${RSS[$name-cold]}" "${WALL[$name-record]}" "${RSS[$name-record]}" \
    "${WALL[$name-cached]}" "${RSS[$name-cached]}" \
    "$(echo "${WALL[$name-cold]} / ${WALL[$name-cached]}" | bc -l)" "$(du -h "$CACHE" | cut -f1)"
}

size() { du -sh --apparent-size "$1" | cut -f1; }
echo "rampart layer cache, RUNS=$RUNS, $(nproc) cores; images: test $(size "$TEST_IMAGE/oci"), host $(size "$HOST")"
report test-image "oci-dir:$TEST_IMAGE/oci"
report host-image "oci-dir:$HOST"
# the sibling, with the host image recorded: its two lower layers come from the cache
RESET=1 measure sibling-cold --image "oci-dir:$SIBLING" --no-layer-cache
rm -f "$CACHE" "$CACHE-wal" "$CACHE-shm"
"$RAMPART" scan --no-config --no-vulns --no-inventory -f json -o /dev/null \
  --image "oci-dir:$HOST" --layer-cache "$CACHE" || [ $? -eq 1 ]
cp "$CACHE" "$OUT/base.db"
walls=()
for _ in $(seq "$RUNS"); do
  cp "$OUT/base.db" "$CACHE"; rm -f "$CACHE-wal" "$CACHE-shm"
  /usr/bin/time -f '%e %M' -o "$OUT/time" "$RAMPART" scan --no-config --no-vulns --no-inventory \
    -f json -o "$OUT/sibling-shared.json" --image "oci-dir:$SIBLING" --layer-cache "$CACHE" \
    2>/dev/null || [ $? -eq 1 ]
  read -r w _ < "$OUT/time"; walls+=("$w")
done
shared=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
cmp -s "$OUT/sibling-cold.json" "$OUT/sibling-shared.json" || { echo "sibling: the report differs" >&2; exit 1; }
printf '%-22s cold %6.2f s | base (2 of 3 layers) from the cache %6.2f s | x%.1f\n' \
  sibling-image "${WALL[sibling-cold]}" "$shared" "$(echo "${WALL[sibling-cold]} / $shared" | bc -l)"
"$RAMPART" cache info --layer-cache "$OUT/base.db"
