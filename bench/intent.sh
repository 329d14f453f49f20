#!/usr/bin/env bash
# One intent, every layer: what enforcing it costs a real service, and how long compiling takes.
#   service  busybox httpd in a runc container (Debian's busybox-static, host network: wrk reaches
#            it on 127.0.0.1), its intent learned from a smoke test (rampart intent learn), then
#            served twice per round, alternated: (plain) the compiled runc settings (user,
#            capabilities, read-only root, seccomp profile) without kernel enforcement, started by
#            `runc run`; (enforced) the same plus the guard's Landlock ruleset and the connection
#            guard, started by `rampart intent run`. wrk -t2 -c16 for DURATION seconds each:
#            requests per second and p99 latency; the overhead is enforced against plain (medians).
#   compile  wall time of `rampart intent compile` (the whole process) on the learned intent and
#            on examples/intent/web.intent.toml, median of COMPILES runs.
# Knobs: ROUNDS (default 3), DURATION (default 10), COMPILES (default 20), SKIP_BUILD=1.
# Run as root from the repository root: bash bench/intent.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-10}"; COMPILES="${COMPILES:-20}"
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build -q --release -p rampart -p rampart-enforce
rampart="$PWD/target/release/rampart"; guard="$PWD/target/release/rampart-guard"
for t in wrk runc curl; do command -v "$t" >/dev/null || { echo "bench/intent.sh needs $t (apt-get install $t)"; exit 2; }; done
repo="$PWD"
work="${TMPDIR:-/tmp}/rampart-bench/intent"; rm -rf "$work"; mkdir -p "$work"; cd "$work"
port=18431
image="registry.example.com/bench/httpd@sha256:$(printf 'b%.0s' $(seq 64))"

# busybox-static, as the tests get it
if [ ! -x busybox/bin/busybox ]; then
  mkdir -p dl && chmod 777 dl && (cd dl && apt-get download busybox-static >/dev/null 2>&1 && dpkg-deb -x busybox-static_*.deb ../busybox)
fi
mkbundle() { # $1: directory
  mkdir -p "$1/rootfs/bin" "$1/rootfs/www" "$1/rootfs/etc" "$1/rootfs/tmp" "$1/rootfs/proc" "$1/rootfs/dev" "$1/rootfs/sys"
  cp busybox/bin/busybox "$1/rootfs/bin/busybox"
  ln -sf busybox "$1/rootfs/bin/httpd"
  head -c 16384 /dev/urandom | base64 > "$1/rootfs/www/index.html"
  echo 'root:*:19000:0:99999:7:::' > "$1/rootfs/etc/shadow"
  (cd "$1" && runc spec)
  python3 - "$1/config.json" "$port" <<'PY'
import json, sys
p, port = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["process"]["args"] = ["httpd", "-f", "-p", "127.0.0.1:" + port, "-h", "/www"]
c["process"]["terminal"] = False
c["process"]["user"] = {"uid": 1000, "gid": 1000}
c["root"] = {"path": "rootfs", "readonly": True}
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]})
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(p, "w"), indent=1)
PY
}
mkbundle learn
smoke="curl -sf --retry 30 --retry-connrefused --retry-delay 0 http://127.0.0.1:$port/index.html -o /dev/null"
"$rampart" intent learn --bundle learn --image "$image" --smoke "$smoke" --out httpd.intent.toml >/dev/null
mkbundle plain;    "$rampart" intent compile httpd.intent.toml --out out-plain --bundle plain --no-guard >/dev/null
mkbundle enforced; "$rampart" intent compile httpd.intent.toml --out out-enforced --bundle enforced --guard "$guard" >/dev/null

up() { for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/index.html" -o /dev/null && return 0; sleep 0.05; done; echo "the service did not come up"; exit 1; }
load() { # prints "rps p99_ms"
  wrk -t2 -c16 -d"${DURATION}s" --latency "http://127.0.0.1:$port/index.html" | awk '
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
    END { print rps, p99 }'
}
declare -a prps pp99 erps ep99
for r in $(seq "$ROUNDS"); do
  runc run --bundle plain "bench-plain-$r" >/dev/null 2>&1 & pid=$!
  up; read -r a b < <(load); prps+=("$a"); pp99+=("$b")
  runc kill "bench-plain-$r" KILL 2>/dev/null || true; wait "$pid" 2>/dev/null || true; runc delete -f "bench-plain-$r" 2>/dev/null || true
  "$rampart" intent run --bundle enforced --id "bench-enf-$r" >/dev/null 2>enforced-$r.log & pid=$!
  up; read -r a b < <(load); erps+=("$a"); ep99+=("$b")
  runc kill "bench-enf-$r" KILL 2>/dev/null || true; wait "$pid" 2>/dev/null || true; runc delete -f "bench-enf-$r" 2>/dev/null || true
  echo "round $r: plain ${prps[-1]} req/s p99 ${pp99[-1]} ms; enforced ${erps[-1]} req/s p99 ${ep99[-1]} ms"
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v pr="$(med "${prps[@]}")" -v er="$(med "${erps[@]}")" -v pp="$(med "${pp99[@]}")" -v ep="$(med "${ep99[@]}")" 'BEGIN {
  printf "service (median of rounds): plain %.0f req/s p99 %.2f ms; enforced %.0f req/s p99 %.2f ms\n", pr, pp, er, ep
  printf "overhead: throughput %+.1f %%, p99 latency %+.1f %% (target < 5 %%)\n", (pr - er) / pr * 100, (ep - pp) / pp * 100 }'
{ grep -c '"mechanism"' enforced-*.log || true; } | awk -F: '{ n += $2 } END { print "denials reported during the load: " n+0 }'

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
for f in httpd.intent.toml "$repo/examples/intent/web.intent.toml"; do
  t=(); for _ in $(seq "$COMPILES"); do t+=("$(ms "$rampart" intent compile "$f" --out compiled)"); done
  awk -v m="$(med "${t[@]}")" -v f="$(basename "$f")" 'BEGIN { printf "compile %s: %.1f ms (median; target < 50 ms)\n", f, m / 1000 }'
done
