#!/usr/bin/env bash
# Records rampart's own seccomp profile (docs/image.md, "The seccomp profile"):
#
#   bash scripts/record-seccomp.sh [BINARY] [PROFILE]
#
#   BINARY   the rampart binary (default: `cargo build --release -p rampart`)
#   PROFILE  the profile to write (default: deploy/rampart.seccomp.json)
#
# The release image is built from BINARY (scripts/build-image.sh) and each run below is
# `rampart seccomp record --bundle` of that image under runc, as a pod runs it: user 65532, a
# read-only root, no capabilities, tmpfs at /tmp and the cache directory (runc keeps the mode
# of the directory a tmpfs is mounted on: the cache's belongs to 65532), /etc/hosts and
# /etc/resolv.conf mounted in. The runs are merged (--merge) into one profile:
#
#   version                        start-up, the advisory database looked for
#   scan examples/                 Dockerfiles, manifests, the bundled image (threads, files)
#   sbom of the image's layout     image reading, decompression
#   db import                      the advisory database written (SQLite)
#   scan --image REF --policy P --history postgres://...
#                                  a registry over HTTP by DNS name (a resolver on 127.0.0.153
#                                  answers *.rampart.test: glibc's lookup syscalls), signature
#                                  and attestation checks, matching, PostgreSQL
#   verify, verify-attestation     the supply-chain checks alone, and a registry reached over
#                                  IPv6 (a name under v6.rampart.test has only an AAAA record)
#   admission serve                the webhook: TLS, hyper's server, one AdmissionReview
#   fleet worker --help            (when this rampart has the fleet worker)
#
# The container shares the host's network namespace (to reach the loopback registry, PostgreSQL
# and resolver): the profile does not depend on it. Everything runs offline on loopback. The
# profile is linted (`rampart seccomp lint`, nothing at or above high) before it replaces
# PROFILE. Needs root; installs umoci, skopeo, runc, docker-registry, PostgreSQL and curl when
# missing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$HERE/target}
BIN=${1:-}
PROFILE=${2:-$HERE/deploy/rampart.seccomp.json}
log() { printf '>> %s\n' "$*" >&2; }

if [ -z "$BIN" ]; then
  log "cargo build --release -p rampart"
  (cd "$HERE" && cargo build --release -p rampart >&2)
  BIN=$TARGET/release/rampart
fi
BIN=$(realpath "$BIN")
bash "$HERE/scripts/ensure-tools.sh" umoci:umoci skopeo:skopeo runc:runc \
  docker-registry:docker-registry curl:curl /usr/lib/postgresql/15/bin/postgres:postgresql >&2
PG=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$HERE/Cargo.toml" | head -1)

W=$(mktemp -d "${TMPDIR:-/tmp}/rampart-seccomp.XXXXXX")
chmod 755 "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for WHAT COMMAND...: up to 30 s
  local what=$1; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "record-seccomp.sh: $what did not come up" >&2; exit 1
}

log "the image"
bash "$HERE/scripts/build-image.sh" "$BIN" "$W/oci" >/dev/null
umoci unpack --image "$W/oci:$VERSION" "$W/bundle" >/dev/null

log "a resolver for *.rampart.test on 127.0.0.153:53"
cat > "$W/dns.py" <<'EOF'
# A DNS server for *.rampart.test: names under v6.rampart.test have the AAAA record ::1, the
# others the A record 127.0.0.1; a query for another type gets an empty answer, another name
# NXDOMAIN.
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(512)
    try:
        tid = struct.unpack(">H", q[:2])[0]
        i, labels = 12, []
        while q[i] != 0:
            n = q[i]; labels.append(q[i + 1:i + 1 + n].decode().lower()); i += 1 + n
        qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
        question = q[12:i + 5]
    except (IndexError, struct.error, UnicodeDecodeError):
        continue
    name = ".".join(labels)
    known = name.endswith("rampart.test")
    v6 = name.endswith("v6.rampart.test")
    answer = b""
    if known and qtype == 1 and not v6:
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    if known and qtype == 28 and v6:
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, "::1")
    flags = 0x8180 | (0 if known else 3)
    s.sendto(struct.pack(">HHHHHH", tid, flags, 1, 1 if answer else 0, 0, 0) + question + answer, peer)
EOF
python3 "$W/dns.py" 127.0.0.153 & PIDS+=($!)
mkdir -p "$W/etc"
printf 'nameserver 127.0.0.153\noptions timeout:2 attempts:2\n' > "$W/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' > "$W/etc/hosts"
wait_for "the resolver" python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(0.2); s.sendto(b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01x\x07rampart\x04test\x00\x00\x01\x00\x01",("127.0.0.153",53)); s.recv(512)'

log "a registry with the image, signed and attested"
REG=$(free_port)
mkdir -p "$W/registry"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$W/registry/data" "$REG" > "$W/registry/config.yml"
docker-registry serve "$W/registry/config.yml" >"$W/registry/log" 2>&1 & PIDS+=($!)
wait_for "docker-registry" curl -sf "http://127.0.0.1:$REG/v2/"
# the same storage served on IPv6 loopback too: a registry reached over IPv6
REG6=$(free_port)
sed "s/addr: 127.0.0.1:$REG/addr: '[::1]:$REG6'/" "$W/registry/config.yml" > "$W/registry/config6.yml"
docker-registry serve "$W/registry/config6.yml" >"$W/registry/log6" 2>&1 & PIDS+=($!)
wait_for "docker-registry on ::1" curl -sf "http://[::1]:$REG6/v2/"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$W/oci:$VERSION" \
  "docker://127.0.0.1:$REG/rampart/rampart:$VERSION"
IN=$W/in
mkdir -p "$IN"
REF=127.0.0.1:$REG/rampart/rampart:$VERSION
NAMED=registry.rampart.test:$REG/rampart/rampart:$VERSION
RAMPART_PASSWORD=record "$BIN" key generate --output-prefix "$IN/k" >&2
RAMPART_PASSWORD=record "$BIN" sign --insecure --key "$IN/k.key" "$REF" >&2
"$BIN" sbom "oci-dir:$W/oci" -o "$IN/sbom.cdx.json" >&2
RAMPART_PASSWORD=record "$BIN" attest --insecure --key "$IN/k.key" --type cyclonedx \
  --predicate "$IN/sbom.cdx.json" "$REF" >&2
printf '[[image]]\nmatch = ["registry.rampart.test:*/rampart/**"]\nkeys = ["/work/in/k.pub"]\nattestations = ["cyclonedx"]\n' \
  > "$IN/trust.toml"

log "PostgreSQL"
PGPORT=$(free_port)
mkdir -p "$W/pg/sock"
chown -R postgres:postgres "$W/pg"
runuser -u postgres -- "$PG/initdb" --auth=trust --username=postgres --encoding=UTF8 --locale=C \
  -D "$W/pg/data" >/dev/null
runuser -u postgres -- "$PG/postgres" -D "$W/pg/data" -p "$PGPORT" -k "$W/pg/sock" \
  -c listen_addresses=127.0.0.1 -c fsync=off >"$W/pg.log" 2>&1 & PIDS+=($!)
wait_for "PostgreSQL" psql -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'select 1'
psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'create database history' >/dev/null

log "the advisory database"
mkdir -p "$W/cache"
# the example's advisories and two real Debian 12 ones (the image's packages are Debian's)
"$BIN" db import --db "$W/cache/osv.db" "$HERE/examples/advisories" \
  "$HERE/crates/rampart-vuln/tests/fixtures/debian" >&2
chmod -R a+rX "$W/cache" "$IN" "$W/oci"

# configure ARGS...: the bundle runs `rampart ARGS` (the image's entrypoint).
BASE=$(jq --arg w "$W" --arg ex "$HERE/examples" '
  .process.terminal = false
  | .root.readonly = true
  | .process.capabilities = {bounding: [], effective: [], inheritable: [], permitted: [], ambient: []}
  | .linux.namespaces |= map(select(.type != "network"))
  | .mounts += [
      {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=256m"]},
      {destination: "/var/cache/rampart", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "uid=65532", "gid=65532", "size=256m"]},
      {destination: "/etc/resolv.conf", type: "bind", source: ($w + "/etc/resolv.conf"), options: ["rbind", "ro"]},
      {destination: "/etc/hosts", type: "bind", source: ($w + "/etc/hosts"), options: ["rbind", "ro"]},
      {destination: "/work/in", type: "bind", source: ($w + "/in"), options: ["rbind", "ro"]},
      {destination: "/work/image", type: "bind", source: ($w + "/oci"), options: ["rbind", "ro"]},
      {destination: "/work/examples", type: "bind", source: $ex, options: ["rbind", "ro"]},
      {destination: "/work/cache", type: "bind", source: ($w + "/cache"), options: ["rbind", "ro"]}
    ]' "$W/bundle/config.json")
configure() {
  jq --argjson args "$(printf '%s\n' /usr/bin/rampart "$@" | jq -R . | jq -s .)" \
    '.process.args = $args' <<<"$BASE" > "$W/bundle/config.json"
}
OUT=$W/profile.json
MERGE=()
record() { # record ARGS...: one run of `rampart ARGS` merged into the profile
  log "recording: rampart $*"
  configure "$@"
  # the container's output goes to a file, shown when the run fails
  "$BIN" seccomp record --bundle "$W/bundle" --out "$OUT" "${MERGE[@]}" >"$W/run.out" \
    || { tail -c 2000 "$W/run.out" >&2; exit 1; }
  MERGE=(--merge)
}

record version
record scan --no-config --no-vulns --fail-on none --format json /work/examples
record sbom oci-dir:/work/image -o /tmp/sbom.json
record db import --db /var/cache/rampart/osv.db /work/examples/advisories
record scan --no-config --insecure --image "$NAMED" --policy /work/in/trust.toml \
  --db /work/cache/osv.db --history "postgres://postgres@postgres.rampart.test:$PGPORT/history" \
  --fail-on none --format json
record verify --insecure --key /work/in/k.pub "$NAMED"
record verify-attestation --insecure --key /work/in/k.pub --type cyclonedx "$NAMED"
record verify --insecure --key /work/in/k.pub "registry.v6.rampart.test:$REG6/rampart/rampart:$VERSION"

log "recording: rampart admission serve (driven over HTTPS, then stopped with SIGTERM)"
APORT=$(free_port)
printf 'failure-mode = "deny"\ndefault-profile = "baseline"\n\n[profiles.baseline]\npss = { level = "baseline" }\n' \
  > "$IN/admission.toml"
configure admission serve --config /work/in/admission.toml --listen "127.0.0.1:$APORT" \
  --cert /tmp/tls/tls.crt --key /tmp/tls/tls.key --self-signed
"$BIN" seccomp record --bundle "$W/bundle" --out "$OUT" --merge >"$W/run.out" & REC=$!
wait_for "the webhook" curl -skf "https://127.0.0.1:$APORT/healthz"
REVIEW='{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"r1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"u"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"c","image":"nginx:1.27","securityContext":{"privileged":true}}]}}}}'
curl -skf -H 'Content-Type: application/json' -d "$REVIEW" "https://127.0.0.1:$APORT/validate" \
  | grep -q '"allowed":false' || { echo "record-seccomp.sh: the webhook did not deny a privileged pod" >&2; exit 1; }
curl -skf "https://127.0.0.1:$APORT/metrics" >/dev/null
# `runc run` (the recorder's child) forwards the signal to the container's process.
RUNC=$(pgrep -P "$REC" -x runc | head -1)
[ -n "$RUNC" ] || { echo "record-seccomp.sh: no runc under the recorder" >&2; exit 1; }
kill -TERM "$RUNC"
wait "$REC"
MERGE=(--merge)

if "$BIN" fleet worker --help >/dev/null 2>&1; then
  record fleet worker --help
fi

log "lint"
"$BIN" seccomp lint "$OUT" --fail-on high >&2
mkdir -p "$(dirname "$PROFILE")"
cp "$OUT" "$PROFILE.tmp" && mv "$PROFILE.tmp" "$PROFILE"
echo "$PROFILE"
