#!/usr/bin/env bash
# Builds (once, cached) the realistic test image of the image-layer tests from real package
# data, made by the real package managers, and packs it with the real image tools:
#
#   base layer : this machine's os-release and dpkg database (status + copyright files), a
#                shell, a setuid binary, /etc/passwd
#   app layer  : a Python venv with packages pip installed from PyPI, an npm project with
#                packages npm installed, Java archives from Debian packages (jar, and a war the
#                JDK-less way: zip of jars), Go binaries from Debian's Go toolchain package, a
#                planted credential file, and a whiteout (a base file deleted)
#
# Outputs under $DIR (printed on stdout):
#   rootfs/        the final filesystem (what the image squashes to)
#   oci/           OCI layout (umoci), two gzip layers, tag `test`
#   oci-zstd/      the same image with zstd layers (skopeo)
#   docker.tar     docker-archive (skopeo)
#   oci.tar        OCI archive (skopeo)
#   gt.json        ground truth of ../shared/bench/sbom_compare.py computed on rootfs/
# Idempotent and safe to run concurrently (flock). Needs root, network to the package
# registries, python3-venv, npm; installs umoci and skopeo with apt when missing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${RAMPART_TEST_IMAGE:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart-test-image}
VERSION=5 # bump when the recipe changes
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ -f "$DIR/.complete" ] && [ "$(cat "$DIR/.complete")" = "$VERSION" ]; then
  echo "$DIR"; exit 0
fi
log() { printf '>> %s\n' "$*" >&2; }
need=()
command -v umoci >/dev/null || need+=(umoci)
command -v skopeo >/dev/null || need+=(skopeo)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
find "$DIR" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
W=$DIR/work; mkdir -p "$W/debs"

log "downloading Debian packages (Go toolchain, Java libraries)"
(cd "$W/debs" && apt-get download -qq golang-1.19-go golang-1.19-src liblog4j2-java libjackson2-databind-java \
   libjackson2-core-java libcommons-lang3-java golang-github-pkg-errors-dev \
   golang-github-google-uuid-dev >&2)
for d in "$W"/debs/*.deb; do dpkg-deb -x "$d" "$W/x"; done

umoci init --layout "$DIR/oci"
umoci new --image "$DIR/oci:test"
umoci unpack --image "$DIR/oci:test" "$W/bundle" >&2
R=$W/bundle/rootfs

log "base layer"
mkdir -p "$R/etc" "$R/var/lib/dpkg" "$R/usr/bin" "$R/usr/share/doc" "$R/tmp"
chmod 1777 "$R/tmp"
cp /etc/os-release "$R/etc/os-release"
cp /var/lib/dpkg/status "$R/var/lib/dpkg/status"
# Copyright files of the installed packages (the dpkg license source).
dpkg-query -W -f '${Package}\n' | while read -r p; do
  if [ -f "/usr/share/doc/$p/copyright" ]; then
    mkdir -p "$R/usr/share/doc/$p" && cp "/usr/share/doc/$p/copyright" "$R/usr/share/doc/$p/"
  fi
done
cp /bin/dash "$R/usr/bin/dash"; ln -s dash "$R/usr/bin/sh"; ln -s usr/bin "$R/bin"
cp /usr/bin/passwd "$R/usr/bin/passwd"; chmod 4755 "$R/usr/bin/passwd"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/usr/sbin/nologin\n' > "$R/etc/passwd"
echo "welcome" > "$R/etc/motd"
# --refresh-bundle: the next repack diffs against this layer (and builds on this manifest).
umoci repack --refresh-bundle --image "$DIR/oci:test" "$W/bundle" >&2

log "app layer: pip, npm, Java, Go"
mkdir -p "$R/app/lib" "$R/usr/local/go/bin"
python3 -m venv "$W/venv"
"$W/venv/bin/pip" install -q --disable-pip-version-check --target "$R/app/site-packages" \
  'requests==2.31.0' 'PyYAML==6.0.1' 'six==1.16.0' 'attrs==23.2.0' >&2
(cd "$W" && mkdir -p web && cd web && echo '{"name":"test-web","version":"1.0.0","private":true}' > package.json \
  && npm install --no-audit --no-fund --silent 'express@4.18.2' 'lodash@4.17.21' '@types/node@20.11.0' >&2)
cp -a "$W/web" "$R/app/web"
for j in log4j-core log4j-api jackson-databind jackson-core commons-lang3; do
  f=$(find "$W/x/usr/share/java" -name "$j-[0-9]*.jar" | head -1)
  cp -L "$f" "$R/app/lib/"   # Debian links versioned and unversioned names either way
done
# A war: jars nested under WEB-INF/lib (zip from Python's standard library, stored entries).
python3 - "$R/app/app.war" "$R/app/lib" <<'EOF'
import sys, zipfile, pathlib
war, lib = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(war, "w") as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nImplementation-Title: test-app\r\nImplementation-Version: 0.3.1\r\n\r\n")
    for j in sorted(lib.glob("commons-lang3-*.jar")):
        z.write(j, "WEB-INF/lib/" + j.name)
EOF
cp "$W/x/usr/lib/go-1.19/bin/go" "$W/x/usr/lib/go-1.19/bin/gofmt" "$R/usr/local/go/bin/"
# A Go program built in module mode, offline, its dependencies vendored from the Debian source
# packages of two real modules (the versions Debian packaged).
G=$W/goapp; mkdir -p "$G/vendor/github.com/pkg" "$G/vendor/github.com/google"
cp -r "$W/x/usr/share/gocode/src/github.com/pkg/errors" "$G/vendor/github.com/pkg/"
cp -r "$W/x/usr/share/gocode/src/github.com/google/uuid" "$G/vendor/github.com/google/"
find "$G/vendor" -name '*_test.go' -delete
v() { dpkg-deb -f "$W"/debs/"$1"_*.deb Version | sed 's/-[^-]*$//'; }
ERR=v$(v golang-github-pkg-errors-dev); UUID=v$(v golang-github-google-uuid-dev)
printf 'module example.com/testapp\n\ngo 1.19\n\nrequire (\n\tgithub.com/google/uuid %s\n\tgithub.com/pkg/errors %s\n)\n' "$UUID" "$ERR" > "$G/go.mod"
printf '# github.com/google/uuid %s\n## explicit\ngithub.com/google/uuid\n# github.com/pkg/errors %s\n## explicit\ngithub.com/pkg/errors\n' "$UUID" "$ERR" > "$G/vendor/modules.txt"
printf 'package main\n\nimport (\n\t"fmt"\n\n\t"github.com/google/uuid"\n\t"github.com/pkg/errors"\n)\n\nfunc main() { fmt.Println(uuid.NewString(), errors.New("x")) }\n' > "$G/main.go"
(cd "$G" && env GOPROXY=off GOFLAGS=-mod=vendor GOTOOLCHAIN=local GOCACHE="$W/gocache" GOPATH="$W/gopath" \
  "$W/x/usr/lib/go-1.19/bin/go" build -o "$R/app/testapp" . >&2)
printf 'AWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH\nAWS_SECRET_ACCESS_KEY=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\n' > "$R/app/.env"
rm "$R/etc/motd"
umoci repack --image "$DIR/oci:test" "$W/bundle" >&2
umoci config --image "$DIR/oci:test" --config.user 10001 --config.workingdir /app \
  --config.cmd /app/site-packages/bin/app --config.exposedports 8080/tcp >&2
umoci gc --layout "$DIR/oci"

log "other forms (skopeo)"
skopeo copy -q "oci:$DIR/oci:test" "docker-archive:$DIR/docker.tar:test:latest"
skopeo copy -q "oci:$DIR/oci:test" "oci-archive:$DIR/oci.tar:test"
skopeo copy -q --dest-compress-format zstd "oci:$DIR/oci:test" "oci:$DIR/oci-zstd:test"

mv "$R" "$DIR/rootfs"
python3 "$HERE/../shared/bench/sbom_compare.py" gt "$DIR/rootfs" > "$DIR/gt.json"
rm -rf "$W"
echo "$VERSION" > "$DIR/.complete"
echo "$DIR"
