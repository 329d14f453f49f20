#!/usr/bin/env bash
# The cost of the kernel enforcement (rampart-enforce), release build, on this machine:
#   connect  per loopback TCP connect, without and with the connection guard (cgroup sock_addr
#            programs) attached to the caller's cgroup, with 1 and with MAX rules (the allowed
#            rule last: the rule loop's worst case)
#   exec     per fork+exec+wait of /bin/true, plain and under rampart-guard's Landlock ruleset
#            (exec allow-list /usr/bin, /bin; a never-read path: the sibling trick's rules)
#   start    the guard's own start-up (ruleset computed and applied, then exec of /bin/true)
# Knobs: N (TCP connects per round, default 2000; UDP: 5 N), EXECS (default 2000), RUNS (default 5).
# Run as root from the repository root: bash bench/enforce.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-2000}"; EXECS="${EXECS:-2000}"; RUNS="${RUNS:-5}"
cargo build -q --release -p rampart-enforce --bin rampart-guard --example enforce_bench
bin=target/release/examples/enforce_bench
guard=target/release/rampart-guard
work="${TMPDIR:-/tmp}/rampart-bench/enforce"; mkdir -p "$work"
cat > "$work/policy.json" <<'JSON'
{"mode": "enforce", "exec": ["/usr/bin", "/bin", "EXAMPLES"], "writable": ["/tmp"],
 "never-read": ["/etc/shadow"], "egress": [], "listen": []}
JSON
sed -i "s|EXAMPLES|$PWD/target/release/examples|" "$work/policy.json"
echo "== connect"
"$bin" connect "$N" 1
"$bin" connect "$N" 127
echo "== exec (/bin/true, $EXECS per run, $RUNS runs alternated; us per exec)"
plain=(); guarded=()
for _ in $(seq "$RUNS"); do
  plain+=("$("$bin" exec "$EXECS")")
  guarded+=("$("$guard" --policy "$work/policy.json" -- "$bin" exec "$EXECS")")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p="$(med "${plain[@]}")"; g="$(med "${guarded[@]}")"
awk -v p="$p" -v g="$g" 'BEGIN { printf "exec: plain %.1f us, under Landlock %.1f us (%+.1f %%)\n", p, g, (g-p)/p*100 }'
echo "== guard start-up (ms, median of $RUNS): /bin/true plain vs through rampart-guard"
t() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
a=(); b=()
for _ in $(seq "$RUNS"); do a+=("$(t /bin/true)"); b+=("$(t "$guard" --policy "$work/policy.json" -- /bin/true)"); done
awk -v p="$(med "${a[@]}")" -v g="$(med "${b[@]}")" 'BEGIN { printf "start: /bin/true %.2f ms, through the guard %.2f ms\n", p/1000, g/1000 }'
