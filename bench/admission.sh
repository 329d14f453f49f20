#!/usr/bin/env bash
# The admission webhook's figures (issue 6), printed, not asserted:
#
#   1. Throughput and latency (p50 / p99 / p99.9 / max, measured from each request's scheduled
#      send time: open loop, no coordinated omission) at 1,000 and 5,000 requests/s over HTTPS
#      on loopback, against `rampart admission serve` (release build) with the PSS (restricted),
#      registries and signatures gates on. The image is signed by `rampart sign` on Debian's
#      docker-registry; the signature cache is warmed first (target: p99 under 2 ms).
#   2. Memory over a soak: resident memory of the webhook every 10 s for SOAK seconds (default
#      600) at SOAK_RATE requests/s (default 2,000): first, last, minimum and maximum.
#
#   bash bench/admission.sh
#   DURATION=10 SOAK=60 bash bench/admission.sh      # quicker
#
# Knobs: RATES ("1000 5000"), DURATION (30 s per rate), CONNECTIONS (32), SOAK (0 skips it),
# SOAK_RATE, RAMPART (another rampart binary, e.g. an older build to compare).
# Peers: none can run here. Kyverno and OPA Gatekeeper ship as Go binaries and container images
# from GitHub and ghcr.io, which these machines cannot reach; neither is in Debian, PyPI or npm.
# The figures are rampart's own, against the issue's target.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${TMPDIR:-/tmp}/rampart-bench/admission
RATES=${RATES:-"1000 5000"}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-32}
SOAK=${SOAK:-600}
SOAK_RATE=${SOAK_RATE:-2000}
rm -rf "$OUT"; mkdir -p "$OUT"
cd "$REPO"
bash scripts/ensure-tools.sh docker-registry:docker-registry skopeo:skopeo >/dev/null
cargo build -q --release -p rampart --bin rampart
cargo build -q --release -p rampart-admission --example loadgen
R=${RAMPART:-$REPO/target/release/rampart}
L=$REPO/target/release/examples/loadgen

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# A registry with the example worker image, signed.
RP=$(free_port)
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$OUT/registry" "$RP" > "$OUT/registry.yml"
docker-registry serve "$OUT/registry.yml" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$RP") 2>/dev/null && break; sleep 0.1; done
IMAGE=127.0.0.1:$RP/shop/app:1
skopeo copy -q --dest-tls-verify=false "oci:$REPO/examples/images/worker" "docker://$IMAGE"
(cd "$OUT" && COSIGN_PASSWORD=bench "$R" key generate --output-prefix release >/dev/null 2>&1)
COSIGN_PASSWORD=bench "$R" sign --insecure --key "$OUT/release.key" "$IMAGE" 2>/dev/null
printf '[[image]]\nmatch = ["127.0.0.1:%s/shop/*"]\nkeys = ["release.pub"]\n' "$RP" > "$OUT/trust.toml"

WP=$(free_port)
cat > "$OUT/admission.toml" <<TOML
default-profile = "bench"
[server]
listen = "127.0.0.1:$WP"
cert = "tls/tls.crt"
key = "tls/tls.key"
audit-log = "none"
[registry]
insecure = true
[cache]
ttl-seconds = 86400
[profiles.bench]
pss = { level = "restricted" }
registries = { allow = ["127.0.0.1:$RP/shop/**"] }
signatures = { policy = "trust.toml" }
TOML
python3 - "$REPO" "$IMAGE" "$OUT/review.json" <<'PY'
import json, sys
repo, image, out = sys.argv[1:]
review = json.load(open(f"{repo}/crates/rampart-admission/tests/fixtures/pod-create.json"))
review["request"]["object"]["spec"]["containers"][0]["image"] = image
json.dump(review, open(out, "w"))
PY
(cd "$OUT" && exec "$R" admission serve --config admission.toml --self-signed 2>"$OUT/serve.log") & WEBHOOK=$!
pids+=($WEBHOOK)
for _ in $(seq 200); do [ -f "$OUT/tls/ca.crt" ] && (exec 3<>/dev/tcp/127.0.0.1/"$WP") 2>/dev/null && break; sleep 0.05; done
# The webhook process itself (the subshell execs it).
WPID=$(pgrep -f "admission serve --config admission.toml" | head -1)

load() { # rate duration
  "$L" --addr "127.0.0.1:$WP" --ca "$OUT/tls/ca.crt" --server-name localhost --path /validate \
    --body "$OUT/review.json" --rate "$1" --duration "$2" --warmup 2 --connections "$CONNECTIONS" --json
}
# Warm the signature cache, and check the image is admitted.
warm=$(load 100 2)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["allowed"]>0 and r["denied"]==0, r' "$warm"

echo "== 1. latency ($(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "gates: pss restricted, registries, signatures (cache warm); body: a Pod CREATE as kube-apiserver sends it"
printf '%8s %10s %9s %9s %9s %9s %8s\n' rate/s done/s p50_ms p99_ms p99.9_ms max_ms errors
for rate in $RATES; do
  r=$(load "$rate" "$DURATION")
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%8d %10.0f %9.3f %9.3f %9.3f %9.3f %8d" % (r["target_rps"], r["throughput_rps"], r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"], r["http_errors"] + r["transport_errors"] + r["denied"]))
' "$r"
done

[ "$SOAK" -gt 0 ] || exit 0
echo "== 2. memory over a ${SOAK} s soak at ${SOAK_RATE} requests/s (webhook resident set, MiB)"
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$WPID/status"; }
echo "before: $(rss)"
load "$SOAK_RATE" "$SOAK" > "$OUT/soak.json" & LOAD=$!
samples=()
while kill -0 "$LOAD" 2>/dev/null; do samples+=("$(rss)"); sleep 10; done
wait "$LOAD"
printf '%s\n' "${samples[@]}" > "$OUT/rss.txt"
python3 - "$OUT/rss.txt" "$OUT/soak.json" <<'PY'
import json, sys
rss = [float(x) for x in open(sys.argv[1]) if x.strip()]
r = json.load(open(sys.argv[2]))
print(f"samples {len(rss)}: first {rss[0]:.1f}, last {rss[-1]:.1f}, min {min(rss):.1f}, max {max(rss):.1f}")
half = len(rss) // 2
if half:
    print(f"second half: min {min(rss[half:]):.1f}, max {max(rss[half:]):.1f} (flat if these match the first half's plateau)")
print(f"soak requests: {r['completed']} done, {r['throughput_rps']:.0f}/s, p99 {r['p99_ms']:.3f} ms, errors {r['http_errors'] + r['transport_errors']}")
PY
