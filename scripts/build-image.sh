#!/usr/bin/env bash
# Builds rampart's release image without a Docker daemon (docs/image.md):
#
#   bash scripts/build-image.sh [BINARY] [OUT]
#
#   BINARY  the rampart binary (default: `cargo build --release -p rampart`, then
#           $CARGO_TARGET_DIR/release/rampart); tests pass the debug binary
#   OUT     the OCI image layout to write (default: $CARGO_TARGET_DIR/image/oci, replaced);
#           tagged with rampart's version
#
# The root filesystem holds only: the binary at /usr/bin/rampart; exactly the shared libraries
# its ELF needs (ldd: libc, libm, libgcc_s..., and the loader), with the symlinks that name
# them; /etc/passwd and /etc/group with the non-root user `nonroot` (65532); CA certificates
# (rampart verifies registry TLS against the system roots: /etc/ssl/certs/ca-certificates.crt);
# /etc/os-release and /etc/nsswitch.conf; the Debian packages those files come from, recorded
# distroless-style in /var/lib/dpkg/status.d/ with their copyright files (so scanners, rampart's
# own first, see them); /tmp, the non-root user's home and rampart's cache directory. No shell,
# no package manager, no other program. One layer, packed with umoci; the configuration runs
# `/usr/bin/rampart` as 65532:65532, ready for a read-only root (writes go to /tmp and
# $RAMPART_CACHE_DIR, volumes in a pod).
#
# Reproducible: file times, the layer's and the configuration's dates are SOURCE_DATE_EPOCH
# (default: the last commit's time), so the same binary and the same Debian packages give the
# same digest. Prints the layout's path on standard output. Needs root (file ownership), ldd,
# dpkg; installs umoci when missing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$HERE/target}
BIN=${1:-}
OUT=${2:-$TARGET/image/oci}
log() { printf '>> %s\n' "$*" >&2; }

if [ -z "$BIN" ]; then
  log "cargo build --release -p rampart"
  (cd "$HERE" && cargo build --release -p rampart >&2)
  BIN=$TARGET/release/rampart
fi
[ -x "$BIN" ] || { echo "build-image.sh: $BIN is not an executable" >&2; exit 2; }
BIN=$(realpath "$BIN")
bash "$HERE/scripts/ensure-tools.sh" umoci:umoci >&2

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$HERE/Cargo.toml" | head -1)
[ -n "$VERSION" ] || { echo "build-image.sh: no version in Cargo.toml" >&2; exit 2; }
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$HERE" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
REVISION=$(git -C "$HERE" rev-parse HEAD 2>/dev/null || echo unknown)
ARCH=$(dpkg --print-architecture)
UID_=65532

W=$(mktemp -d "${TMPDIR:-/tmp}/rampart-image.XXXXXX")
trap 'rm -rf "$W"' EXIT
R=$W/rootfs
mkdir -p "$R"

# add_dir DIR: DIR in the root, recreating the host's symlinked directories on the way
# (Debian's merged /usr: /lib -> usr/lib, /lib64 -> usr/lib64).
add_dir() {
  local d=$1
  [ "$d" = / ] && return
  add_dir "$(dirname "$d")"
  if [ -L "$d" ]; then
    if [ ! -e "$R$d" ] && [ ! -L "$R$d" ]; then
      local t; t=$(readlink "$d")
      ln -s "$t" "$R$d"
      case $t in /*) add_dir "$t" ;; *) add_dir "$(dirname "$d")/$t" ;; esac
    fi
  else
    mkdir -p "$R$d"
  fi
}

# add_file PATH: PATH in the root, following its symlinks (each link kept as a link).
declare -A ADDED=()
add_file() {
  local p=$1
  [ -n "${ADDED[$p]:-}" ] && return
  ADDED[$p]=1
  add_dir "$(dirname "$p")"
  if [ -L "$p" ]; then
    local t; t=$(readlink "$p")
    ln -sfn "$t" "$R$p"
    case $t in /*) add_file "$t" ;; *) add_file "$(dirname "$p")/$t" ;; esac
  else
    cp -p "$p" "$R$p"
    chown 0:0 "$R$p"
  fi
}

# owner PATH: the Debian package that installed PATH (dpkg records the unmerged path).
PKGS=()
owner() {
  local p=$1 pkg=""
  for q in "$p" "$(realpath "$p")" "${p#/usr}" "$(realpath "$p" | sed 's|^/usr||')"; do
    pkg=$(dpkg -S "$q" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || { echo "build-image.sh: no Debian package owns $p" >&2; exit 2; }
  case " ${PKGS[*]-} " in *" $pkg "*) ;; *) PKGS+=("$pkg") ;; esac
}

log "root filesystem"
install -D -m 0755 -o 0 -g 0 "$BIN" "$R/usr/bin/rampart"
# The shared libraries and the loader, as the dynamic linker resolves them on this machine.
LIBS=$(ldd "$BIN" | awk '/=> \//{print $3} /^\t\//{print $1}')
[ -n "$LIBS" ] || { echo "build-image.sh: ldd found no libraries for $BIN" >&2; exit 2; }
for lib in $LIBS; do
  add_file "$lib"
  owner "$lib"
done
add_dir /etc/ssl/certs
cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
owner /usr/share/ca-certificates
cp -L /etc/os-release "$R/etc/os-release"
owner /usr/lib/os-release
cat > "$R/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:$UID_:$UID_:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$R/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
nonroot:x:$UID_:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$R/etc/nsswitch.conf"
mkdir -p "$R/tmp" "$R/home/nonroot" "$R/var/cache/rampart" "$R/root"
chmod 1777 "$R/tmp"
chmod 0700 "$R/root" "$R/home/nonroot"
chown "$UID_:$UID_" "$R/home/nonroot" "$R/var/cache/rampart"
# The packages the files come from, as distroless records them.
mkdir -p "$R/var/lib/dpkg/status.d"
for pkg in "${PKGS[@]}"; do
  name=${pkg%%:*}
  dpkg-query -s "$pkg" | grep -v -e '^Conffiles:' -e '^ /' > "$R/var/lib/dpkg/status.d/$name"
  if [ -f "/usr/share/doc/$name/copyright" ]; then
    install -D -m 0644 "/usr/share/doc/$name/copyright" "$R/usr/share/doc/$name/copyright"
  fi
done
# Nothing that could run but rampart: no shell, no package manager.
for f in sh bash dash busybox apt apt-get dpkg; do
  if find "$R" ! -type d -name "$f" -print -quit | grep -q .; then
    echo "build-image.sh: $f found in the root filesystem" >&2; exit 1
  fi
done
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

log "OCI layout $OUT (umoci)"
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
umoci init --layout "$OUT"
umoci new --image "$OUT:$VERSION"
# umoci builds the layer from the difference between an unpacked bundle and its new content.
umoci unpack --image "$OUT:$VERSION" "$W/bundle" >&2
rmdir "$W/bundle/rootfs"
mv "$R" "$W/bundle/rootfs"
umoci repack --image "$OUT:$VERSION" --history.created "$CREATED" \
  --history.author "rampart maintainers" --history.created_by "scripts/build-image.sh" \
  --history.comment "rampart $VERSION, its shared libraries, CA certificates, a non-root user" \
  "$W/bundle" >&2
label() { printf -- '--config.label=%s=%s' "$1" "$2"; }
umoci config --image "$OUT:$VERSION" --no-history \
  --created "$CREATED" --author "rampart maintainers" \
  --os linux --architecture "$ARCH" \
  --config.user "$UID_:$UID_" \
  --config.entrypoint=/usr/bin/rampart --config.cmd=--help \
  --config.workingdir /home/nonroot \
  --config.env PATH=/usr/bin \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.env RAMPART_CACHE_DIR=/var/cache/rampart \
  --config.env HOME=/home/nonroot \
  "$(label org.opencontainers.image.title rampart)" \
  "$(label org.opencontainers.image.description "rampart: checks the layers of defense around containerized applications")" \
  "$(label org.opencontainers.image.version "$VERSION")" \
  "$(label org.opencontainers.image.revision "$REVISION")" \
  "$(label org.opencontainers.image.created "$CREATED")" \
  "$(label org.opencontainers.image.licenses Apache-2.0)" \
  "$(label org.opencontainers.image.source https://example.invalid/rampart)" \
  "$(label org.opencontainers.image.base.name scratch)" >&2
umoci gc --layout "$OUT"
echo "$OUT"
