#!/usr/bin/env bash
# Runs a peer SBOM tool (installed by scripts/install-peers.sh) without network (its own
# network namespace: any download attempt fails), with the flags that keep it offline. Used by
# the tests that read other tools' SBOMs.
#
#   scripts/peer-sbom.sh syft TARGET FORMAT=FILE [FORMAT=FILE...]  # TARGET: dir:PATH, oci-archive:PATH...
#   scripts/peer-sbom.sh trivy rootfs PATH FORMAT FILE             # FORMAT: cyclonedx | spdx-json
#   scripts/peer-sbom.sh trivy image ARCHIVE FORMAT FILE           # a docker archive
#
# Trivy lists packages with no vulnerability database; Java archives are skipped because Trivy
# reads them through its Java database, which it cannot download offline.
set -euo pipefail
tool=$1; shift
venv=$(bash "$(dirname "$0")/install-peers.sh")
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export SYFT_CHECK_FOR_APP_UPDATE=false TRIVY_CACHE_DIR=$cache XDG_CACHE_HOME=$cache
case $tool in
  syft)
    args=(scan "$1" -q); shift
    for out in "$@"; do args+=(-o "$out"); done
    unshare --net timeout 600 "$venv/bin/syft" "${args[@]}" ;;
  trivy)
    case $1 in
      rootfs) target=(rootfs "$2") ;;
      image) target=(image --input "$2") ;;
      *) echo "trivy: rootfs or image, not $1" >&2; exit 2 ;;
    esac
    unshare --net timeout 600 "$venv/bin/trivy" "${target[@]}" --quiet --cache-backend memory \
      --offline-scan --skip-db-update --skip-java-db-update --skip-check-update \
      --skip-version-check --disable-telemetry --skip-files '**/*.jar' --skip-files '**/*.war' \
      --format "$3" --output "$4" ;;
  *) echo "usage: $0 syft|trivy ..." >&2; exit 2 ;;
esac
