#!/usr/bin/env bash
# One intent, every layer: what enforcing it costs a real service, and how long compiling takes.
#   service  busybox httpd in a runc container (Debian's busybox-static, host network: wrk reaches
#            it on 127.0.0.1), its intent learned from a smoke test (rampart intent learn), then
#            served twice per round, alternated: (plain) the compiled runc settings (user,
#            capabilities, read-only root, seccomp profile) without kernel enforcement, started by
#            `runc run`; (enforced) the same plus the guard's Landlock ruleset and the connection
#            guard, started by `rampart intent run`; (monitor) the plain container under
#            `rampart monitor` with the compiled monitor.toml: its runtime rules and its
#            `[[enforce]]` entry (the file guard's fanotify permission events on every open and
#            exec, the connection guard's cgroup programs), started by `runc run`; (rules) the
#            same monitor without `[[enforce]]`, which tells the sensor's and the rules' share
#            from the enforcement's.
#            wrk -t2 -c16 for DURATION seconds each: requests per second and p99 latency; the
#            overheads are enforced and monitor against plain (medians).
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
load() { # prints "rps p99_ms"; a run with failed requests stops the benchmark
  wrk -t2 -c16 -d"${DURATION}s" --latency "http://127.0.0.1:$port/index.html" | awk '
    /Non-2xx or 3xx responses/ { print "wrk: " $0 > "/dev/stderr"; bad = 1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
    END { if (bad) exit 1; print rps, p99 }'
}
# the monitor without its [[enforce]] entry (the last table compile writes)
sed '/^# The intent enforced in the kernel/,$d' out-plain/httpd.monitor.toml > out-plain/rules.monitor.toml
grep -q '^\[\[enforce\]\]' out-plain/rules.monitor.toml && { echo "bench: could not strip [[enforce]]"; exit 1; }
monitored() { # $1: config, $2: container id, $3: log prefix; prints "rps p99"
  "$rampart" monitor --config "$1" >"$3.jsonl" 2>"$3.log" & local mpid=$! pid
  for _ in $(seq 300); do grep -q "monitor running" "$3.log" && break; sleep 0.1; done
  grep -q "monitor running" "$3.log" || { cat "$3.log" >&2; echo "the monitor did not start" >&2; return 1; }
  runc run --bundle plain "$2" >/dev/null 2>&1 & pid=$!
  up >&2; local res; res=$(load) || { echo "bench: requests failed under load" >&2; return 1; }
  runc kill "$2" KILL 2>/dev/null || true; wait "$pid" 2>/dev/null || true; runc delete -f "$2" 2>/dev/null || true
  kill -INT "$mpid"; wait "$mpid" 2>/dev/null || true
  echo "$res"
}
declare -a prps pp99 erps ep99 mrps mp99 rrps rp99
for r in $(seq "$ROUNDS"); do
  runc run --bundle plain "bench-plain-$r" >/dev/null 2>&1 & pid=$!
  up; res=$(load) || { echo "bench: requests failed under load"; exit 1; }; read -r a b <<< "$res"; prps+=("$a"); pp99+=("$b")
  runc kill "bench-plain-$r" KILL 2>/dev/null || true; wait "$pid" 2>/dev/null || true; runc delete -f "bench-plain-$r" 2>/dev/null || true
  "$rampart" intent run --bundle enforced --id "bench-enf-$r" >/dev/null 2>enforced-$r.log & pid=$!
  up; res=$(load) || { echo "bench: requests failed under load"; exit 1; }; read -r a b <<< "$res"; erps+=("$a"); ep99+=("$b")
  runc kill "bench-enf-$r" KILL 2>/dev/null || true; wait "$pid" 2>/dev/null || true; runc delete -f "bench-enf-$r" 2>/dev/null || true
  res=$(monitored out-plain/rules.monitor.toml "bench-rules-$r" rules-$r) || exit 1
  read -r a b <<< "$res"; rrps+=("$a"); rp99+=("$b")
  res=$(monitored out-plain/httpd.monitor.toml "bench-mon-$r" monitor-$r) || exit 1
  read -r a b <<< "$res"; mrps+=("$a"); mp99+=("$b")
  grep -q "enforce: 1 container(s) guarded, 0 could not be" monitor-$r.log || { echo "the monitor did not guard the container:"; cat monitor-$r.log; exit 1; }
  echo "round $r: plain ${prps[-1]} req/s p99 ${pp99[-1]} ms; enforced ${erps[-1]} req/s p99 ${ep99[-1]} ms; rules ${rrps[-1]} req/s p99 ${rp99[-1]} ms; monitor ${mrps[-1]} req/s p99 ${mp99[-1]} ms"
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v pr="$(med "${prps[@]}")" -v er="$(med "${erps[@]}")" -v pp="$(med "${pp99[@]}")" -v ep="$(med "${ep99[@]}")" \
    -v mr="$(med "${mrps[@]}")" -v mp="$(med "${mp99[@]}")" -v rr="$(med "${rrps[@]}")" -v rp="$(med "${rp99[@]}")" 'BEGIN {
  printf "service (median of rounds): plain %.0f req/s p99 %.2f ms; enforced %.0f req/s p99 %.2f ms; monitor rules only %.0f req/s p99 %.2f ms; monitor rules + enforce %.0f req/s p99 %.2f ms\n", pr, pp, er, ep, rr, rp, mr, mp
  printf "overhead, guard launcher (intent run) vs plain: throughput %+.1f %%, p99 latency %+.1f %% (target < 5 %%)\n", (pr - er) / pr * 100, (ep - pp) / pp * 100
  printf "overhead, monitor enforce mode vs the same monitor without it: throughput %+.1f %%, p99 latency %+.1f %% (target < 5 %%)\n", (rr - mr) / rr * 100, (mp - rp) / rp * 100
  printf "overhead, the whole monitor (sensor, rules, enforce) vs plain: throughput %+.1f %%, p99 latency %+.1f %%\n", (pr - mr) / pr * 100, (mp - pp) / pp * 100 }'
{ grep -c '"mechanism"' enforced-*.log || true; } | awk -F: '{ n += $2 } END { print "denials reported during the load (guard launcher): " n+0 }'
cat monitor-*.jsonl | grep -c '"rule"' | awk '{ print "alerts during the load (monitor): " $1 }' || true

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
for f in httpd.intent.toml "$repo/examples/intent/web.intent.toml"; do
  t=(); for _ in $(seq "$COMPILES"); do t+=("$(ms "$rampart" intent compile "$f" --out compiled)"); done
  awk -v m="$(med "${t[@]}")" -v f="$(basename "$f")" 'BEGIN { printf "compile %s: %.1f ms (median; target < 50 ms)\n", f, m / 1000 }'
done
