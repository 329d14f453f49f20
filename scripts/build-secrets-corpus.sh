#!/usr/bin/env bash
# Builds (once, cached under the oracle cache directory) the clean root filesystem the IMG008
# precision test and bench/secrets.sh scan: real files of real packages, none of which holds a
# real secret, laid out the way images lay them out.
#
#   usr/lib/python3.11, usr/bin/...   Debian's python3.11, libpython3.11-stdlib and
#                                     libpython3.11-testsuite (CPython's standard library with
#                                     its test suite, as Debian ships it)
#   usr/local/lib/python3.11          the same standard library and test suite where the official
#                                     `python` image has it (hard links)
#   usr/lib/jvm/java-17-openjdk-*     openjdk-17-jre-headless (and /etc/java-17-openjdk)
#   opt/java/openjdk                  the same JRE where the Temurin images have it (hard links)
#   usr/lib/go-1.19, usr/share/go-1.19 golang-1.19-go and golang-1.19-src
#   usr/local/go                      the same Go tree where the official `golang` image has it
#   usr/bin/node, usr/share/nodejs... nodejs, libnode108 and npm
#   app/node_modules                  a real npm tree (npm install --ignore-scripts)
#   app/site-packages                 a real pip tree (pip install --target, wheels only)
#
# Debian packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` (nothing is
# installed). Prints the directory holding rootfs/ on stdout. Idempotent, safe to run
# concurrently (flock); needs network to the package registries on first use (about 150 MB).
set -euo pipefail
BASE=${RAMPART_ORACLES:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart-oracles}
DIR=$BASE/secrets-corpus
VERSION=1 # bump when the recipe changes
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ -f "$DIR/.complete" ] && [ "$(cat "$DIR/.complete")" = "$VERSION" ]; then
  echo "$DIR"; exit 0
fi
log() { printf '>> %s\n' "$*" >&2; }
find "$DIR" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
R=$DIR/rootfs
mkdir -p "$R" "$DIR/debs"

DEBS=(python3.11 python3.11-minimal libpython3.11-stdlib libpython3.11-minimal libpython3.11-testsuite
      nodejs libnode108 npm
      golang-1.19-go golang-1.19-src
      openjdk-17-jre-headless)
# Debian's own builds, whatever else (nodesource...) this machine has configured.
debian_versions() {
  for p in "${DEBS[@]}"; do
    # a Debian archive (deb.debian.org or a mirror's /debian), not a vendor's repository
    v=$(apt-cache madison "$p" | awk -F'|' '$3 ~ /[/]debian(-security)?[/ ]/ && $3 !~ /nodesource/ {gsub(/ /, "", $2); print $2; exit}')
    [ -n "$v" ] || return 1
    echo "$p=$v"
  done
}
log "downloading Debian packages: ${DEBS[*]}"
if ! pins=$(debian_versions); then
  apt-get update -qq >&2
  pins=$(debian_versions)
fi
# shellcheck disable=SC2086
(cd "$DIR/debs" && apt-get download -qq $pins >&2)
for d in "$DIR"/debs/*.deb; do dpkg-deb -x "$d" "$R"; done

log "the same runtimes where official images install them"
mkdir -p "$R/usr/local/lib" "$R/opt/java"
cp -al "$R/usr/lib/python3.11" "$R/usr/local/lib/python3.11"
jre=$(find "$R/usr/lib/jvm" -mindepth 1 -maxdepth 1 -type d -name 'java-17-openjdk-*' | head -n1)
cp -al "$jre" "$R/opt/java/openjdk"
# /usr/lib/go-1.19/src is a symlink into /usr/share/go-1.19: the official image has a real tree.
mkdir -p "$R/usr/local/go"
cp -al "$R/usr/lib/go-1.19/bin" "$R/usr/lib/go-1.19/pkg" "$R/usr/local/go/"
cp -al "$R/usr/share/go-1.19/src" "$R/usr/share/go-1.19/misc" "$R/usr/local/go/" 2>/dev/null \
  || cp -al "$R/usr/share/go-1.19/src" "$R/usr/local/go/"

log "a real npm tree"
mkdir -p "$R/app/web"
echo '{"name":"secrets-corpus","version":"1.0.0","private":true}' > "$R/app/web/package.json"
(cd "$R/app/web" && npm install --ignore-scripts --no-audit --no-fund --silent \
  'express@4.21.2' 'jsonwebtoken@9.0.2' 'pg@8.13.1' 'mysql2@3.11.5' 'ssh2@1.16.0' \
  'node-forge@1.3.1' 'axios@1.7.9' 'dotenv@16.4.7' 'yaml@2.6.1' >&2)
rm -f "$R/app/web/package-lock.json"

log "a real pip tree"
python3 -m venv "$DIR/venv" >&2
"$DIR/venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
  --target "$R/app/site-packages" \
  'requests==2.32.3' 'urllib3==2.2.3' 'Django==4.2.17' 'Twisted==24.11.0' 'tornado==6.4.2' \
  'PyJWT==2.10.1' 'oauthlib==3.2.2' 'paramiko==3.5.0' >&2
rm -rf "$DIR/venv"
find "$R" -name __pycache__ -type d -prune -exec rm -rf {} +

echo "$VERSION" > "$DIR/.complete"
echo "$DIR"
