#!/usr/bin/env bash
# The image layer against its peers, in one run, on the same inputs:
#
#   1. SBOM speed and peak memory of rampart, Trivy and Syft on the reference image of
#      ../shared/bench/peers.sh (a debootstrap Debian rootfs with Python, npm, Go and Java
#      packages, ~812 MB) in its three forms: root filesystem, OCI layout, docker archive.
#   2. Recall per ecosystem against the ground truth computed from the package data itself
#      (../shared/bench/sbom_compare.py), and false packages, for every tool and form.
#   3. Peak memory does not grow with image size: rampart on a generated image of several GB
#      (random, incompressible files in several layers) next to the reference image.
#
#   bash bench/image-sbom.sh                 # RUNS=3 (median wall time, max peak RSS)
#   RUNS=1 SKIP_PEERS=1 bash bench/image-sbom.sh
#   BIG_GB=4 bash bench/image-sbom.sh        # size of the generated image (default 3)
#
# Everything it builds lives under ${TMPDIR:-/tmp}/rampart-bench (shared with peers.sh).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "$REPO/../shared/bench" && pwd)
BENCH=${TMPDIR:-/tmp}/rampart-bench
IMG=$BENCH/images
ROOTFS=$BENCH/rootfs
VENV=${TMPDIR:-/tmp}/rampart-peers/venv
OUT=$BENCH/image-sbom
RUNS=${RUNS:-3}
BIG_GB=${BIG_GB:-3}
export SYFT_CHECK_FOR_APP_UPDATE=false
mkdir -p "$OUT"
log() { printf '>> %s\n' "$*" >&2; }

log "reference image and peers (../shared/bench/peers.sh BUILD_ONLY=1)"
BUILD_ONLY=1 bash "$SHARED/peers.sh" >&2
T=$VENV/bin/trivy; S=$VENV/bin/syft
log "building rampart (release)"
(cd "$REPO" && cargo build --release --locked -q -p rampart)
R=$REPO/target/release/rampart
python3 "$SHARED/sbom_compare.py" gt "$ROOTFS" > "$OUT/gt.json"

# measure LABEL cmd... : RUNS runs under /usr/bin/time; records median wall s and max RSS MiB
declare -A WALL RSS
measure() {
  local label=$1; shift; local i walls=() rss=()
  for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$OUT/time.$label" "$@" >"$OUT/log.$label" 2>&1 \
      || { echo "!! $label failed: $(tail -3 "$OUT/log.$label")" >&2; }
    read -r w m < <(tail -1 "$OUT/time.$label")
    walls+=("$w"); rss+=("$m")
  done
  WALL[$label]=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  RSS[$label]=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1 | awk '{printf "%.0f", $1/1024}')
  printf '%-24s wall_med=%7ss (runs: %s)  maxRSS=%5s MiB\n' "$label" "${WALL[$label]}" "${walls[*]}" "${RSS[$label]}" >&2
}

declare -A TARGET=(
  [rootfs]="dir:$ROOTFS"
  [oci]="oci-dir:$IMG/oci"
  [docker]="docker-archive:$IMG/bench-docker.tar"
)
TRIVY_SBOM=(--cache-backend memory -q --format cyclonedx --skip-files '**/*.jar')
for form in rootfs oci docker; do
  log "form: $form"
  measure "rampart-$form" "$R" sbom "${TARGET[$form]}" -f cyclonedx-json -o "$OUT/rampart-$form.cdx.json"
  if [ -z "${SKIP_PEERS:-}" ]; then
    case $form in
      rootfs) measure "trivy-$form" "$T" rootfs "${TRIVY_SBOM[@]}" -o "$OUT/trivy-$form.cdx.json" "$ROOTFS"
              measure "syft-$form" "$S" scan "dir:$ROOTFS" -q -o "cyclonedx-json=$OUT/syft-$form.cdx.json" ;;
      oci)    measure "trivy-$form" "$T" image "${TRIVY_SBOM[@]}" -o "$OUT/trivy-$form.cdx.json" --input "$IMG/oci"
              measure "syft-$form" "$S" scan "oci-dir:$IMG/oci" -q -o "cyclonedx-json=$OUT/syft-$form.cdx.json" ;;
      docker) measure "trivy-$form" "$T" image "${TRIVY_SBOM[@]}" -o "$OUT/trivy-$form.cdx.json" --input "$IMG/bench-docker.tar"
              measure "syft-$form" "$S" scan "docker-archive:$IMG/bench-docker.tar" -q -o "cyclonedx-json=$OUT/syft-$form.cdx.json" ;;
    esac
  fi
done

log "recall against the ground truth (sbom_compare.py)"
for f in "$OUT"/{rampart,trivy,syft}-{rootfs,oci,docker}.cdx.json; do
  [ -s "$f" ] && python3 "$SHARED/sbom_compare.py" cmp "$OUT/gt.json" "$f" "$(basename "$f" .cdx.json)"
done | tee "$OUT/recall.txt"

if [ -z "${SKIP_PEERS:-}" ]; then
  log "purls the peers agree on (same name and version, same purl string): does rampart write the same?"
  python3 - "$OUT" <<'EOF' | tee "$OUT/purls.txt"
import json, sys, collections
out = sys.argv[1]
def purls(f):
    acc = []
    def walk(cs):
        for c in cs or []:
            acc.append(c); walk(c.get("components"))
    walk(json.load(open(f)).get("components"))
    return [c for c in acc if c.get("purl")]
for form in ["rootfs", "oci", "docker"]:
    by = {}
    for peer in ["syft", "trivy"]:
        d = collections.defaultdict(set)
        for c in purls(f"{out}/{peer}-{form}.cdx.json"):
            d[(c["name"], c.get("version"))].add(c["purl"])
        by[peer] = d
    agreed = {p for k, v in by["syft"].items() for p in v & by["trivy"].get(k, set())}
    ours = {c["purl"] for c in purls(f"{out}/rampart-{form}.cdx.json")}
    differ = sorted(agreed - ours)
    print(f"{form}: peers agree on {len(agreed)} purls; rampart writes {len(agreed) - len(differ)} of them; differs on {len(differ)}: {differ[:5]}")
EOF
fi

log "a generated image of ${BIG_GB} GB (incompressible files, $((BIG_GB)) layers)"
BIG=$BENCH/big-$BIG_GB
if [ ! -f "$BIG/index.json" ]; then
  rm -rf "$BIG"
  python3 - "$BIG" "$BIG_GB" <<'EOF'
import hashlib, io, json, os, sys, tarfile
out, gb = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{out}/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return d, len(data)
layers = []
for l in range(gb):  # one layer per GB: 64 files of 16 MiB of random bytes, plus small files
    path = f"{out}/layer.tmp"
    h = hashlib.sha256()
    with open(path, "wb") as raw:
        class W:
            def write(self, b): h.update(b); raw.write(b)
        with tarfile.open(fileobj=W(), mode="w|") as t:
            for i in range(64):
                data = os.urandom(16 << 20)
                ti = tarfile.TarInfo(f"data/l{l}/f{i}.bin"); ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            for i in range(2000):
                data = b"x" * 100
                ti = tarfile.TarInfo(f"small/l{l}/s{i}.txt"); ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    d = h.hexdigest(); size = os.path.getsize(path)
    os.rename(path, f"{out}/blobs/sha256/{d}")
    layers.append((d, size))
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "1000"},
    "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d, _ in layers]}}).encode()
cd, cs = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{cd}", "size": cs},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{d}", "size": s} for d, s in layers]}).encode()
md, ms = put(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": f"sha256:{md}", "size": ms}]}, open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
fi
measure "rampart-big-${BIG_GB}GB" "$R" sbom "oci-dir:$BIG" -f cyclonedx-json -o "$OUT/rampart-big.cdx.json"

log "summary"
{
  printf '\n%-8s %-10s %9s %9s %12s %12s\n' form tool wall_s peak_MiB "rampart x" "rampart mem"
  for form in rootfs oci docker; do
    rw=${WALL[rampart-$form]}; rr=${RSS[rampart-$form]}
    printf '%-8s %-10s %9s %9s\n' "$form" rampart "$rw" "$rr"
    if [ -z "${SKIP_PEERS:-}" ]; then
      for peer in trivy syft; do
        pw=${WALL[$peer-$form]}; pr=${RSS[$peer-$form]}
        printf '%-8s %-10s %9s %9s %11sx %11s%%\n' "$form" "$peer" "$pw" "$pr" \
          "$(awk -v a="$pw" -v b="$rw" 'BEGIN{printf "%.1f", a/b}')" \
          "$(awk -v a="$rr" -v b="$pr" 'BEGIN{printf "%.0f", 100*a/b}')"
      done
    fi
  done
  printf '\nreference image %s MB: rampart peak %s MiB (OCI layout); generated %s GB image: peak %s MiB in %ss\n' \
    "$(du -sm "$ROOTFS" | cut -f1)" "${RSS[rampart-oci]}" "$BIG_GB" "${RSS[rampart-big-${BIG_GB}GB]}" "${WALL[rampart-big-${BIG_GB}GB]}"
  printf 'load average during the run: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/summary.txt"
echo "results in $OUT" >&2
