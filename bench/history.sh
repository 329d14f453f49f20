#!/usr/bin/env bash
# The history store at scale (issue 16, point 6): a generated history of SCOPES x SUBJECTS
# subjects (default 100 x 100 = 10,000), one scan per scope per day for DAYS days (default 30;
# DAYS=365 for the year the issue names, about 20 minutes), FINDINGS findings per subject, CHURN %
# of them fixed or new each day. Into SQLite (a file) and into PostgreSQL (a temporary cluster this
# script starts, on loopback, as the postgres user), the same generator and the same code:
#   ingest  findings recorded per second (each run one transaction)     target >= 5,000/s
#   metrics every figure of `rampart metrics`, one read transaction       target < 100 ms
#   pages   each dashboard page's server time (`rampart serve`'s rendering) target < 300 ms
#   size    the store after the run (SQLite file; PostgreSQL database)
# No peer runs here: Dependency-Track (the peer the issue names) is a Java server with its own
# database, not installable from Debian; its published figure is quoted in docs/metrics.md.
# Run from the repository root: bash bench/history.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCOPES="${SCOPES:-100}"; SUBJECTS="${SUBJECTS:-100}"; DAYS="${DAYS:-30}"; FINDINGS="${FINDINGS:-3}"; CHURN="${CHURN:-5}"
cargo build -q --release -p rampart-history --example history_bench
cargo build -q --release -p rampart-dashboard --example dashboard_bench
bench=target/release/examples/history_bench
pages=target/release/examples/dashboard_bench
# the generator's first day (its T0) and the day after its last scan, ms
now_ms=$(( 1750000000000 + DAYS * 86400000 ))
work="${TMPDIR:-/tmp}/rampart-bench/history"; rm -rf "$work"; mkdir -p "$work"; chmod 755 "$work"

if [[ " ${STORES:-sqlite postgresql} " == *" sqlite "* ]]; then
echo "== SQLite"
"$bench" "$work/history.db" "$SCOPES" "$SUBJECTS" "$DAYS" "$FINDINGS" "$CHURN"
"$pages" "$work/history.db" "$now_ms"
echo "store size: $(du -b "$work/history.db" | cut -f1 | awk '{printf "%.1f MiB", $1/1048576}')"
fi

# STORES=sqlite or STORES=postgresql runs one of the two (a year on PostgreSQL takes half an hour)
STORES="${STORES:-sqlite postgresql}"
case " $STORES " in *" postgresql "*) ;; *) exit 0 ;; esac
echo "== PostgreSQL"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$pgbin/postgres" ] || { echo "bench/history.sh needs postgresql (apt-get install postgresql)"; exit 2; }
mkdir -p "$work/pg" && chown postgres: "$work/pg"
runuser -u postgres -- "$pgbin/initdb" --auth=trust --username=postgres --encoding=UTF8 --locale=C -D "$work/pg/data" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u postgres -- "$pgbin/postgres" -D "$work/pg/data" -p "$port" -c listen_addresses=127.0.0.1 -k "$work/pg" >"$work/pg.log" 2>&1 &
pgpid=$!
trap 'kill -INT $pgpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$pgbin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -c 'SELECT 1' postgres >/dev/null 2>&1 && break; sleep 0.1; done
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -c 'CREATE DATABASE history' postgres
"$bench" "postgres://postgres@127.0.0.1:$port/history" "$SCOPES" "$SUBJECTS" "$DAYS" "$FINDINGS" "$CHURN"
"$pages" "postgres://postgres@127.0.0.1:$port/history" "$now_ms"
echo "store size: $("$pgbin/psql" -X -q -t -A -h 127.0.0.1 -p "$port" -U postgres -c "SELECT pg_size_pretty(pg_database_size('history'))" postgres)"
