#!/usr/bin/env bash
# Installs the reference implementations the test suite checks rampart against, into a cache
# directory (idempotent, safe to run concurrently from several tests):
#   - Python `jsonschema` (in a venv): validates JSON reports and SARIF against official schemas
#   - CycloneDX Python library (`cyclonedx-python-lib`, its strict JSON validator) and
#     `spdx-tools` (`pyspdxtools`), in the same venv: independent validators of the SBOMs
#   - Python `python-debian` (same venv): its `debian.copyright` parser checks rampart-sbom's
#     reading of machine-readable Debian copyright files
#   - Python `packaging` (same venv, pinned): `packaging.version.Version`, the PEP 440 oracle of
#     rampart-version
#   - Python `cryptography` and `PyNaCl` (same venv, pinned): the oracle of rampart-sign's keys
#     (scrypt, NaCl secretbox, PKCS#8, ECDSA P-256) and an independent ECDSA P-256 verifier of its
#     signatures over cosign payloads and DSSE PAE
#   - Python `prometheus_client` (same venv, pinned): its strict OpenMetrics text parser checks
#     rampart-admission's /metrics output
#   - Python `junitparser` (same venv, pinned): a JUnit XML consumer (the reader of CI report
#     tools) that reads `rampart scan --format junit` back
#   - Python `helm-python-sdk` (same venv, pinned): Helm v4 itself as a library (offline
#     `Chart.render`); tests put crates/rampart/tests/support/helm on PATH, a `helm template` built
#     on it, so `rampart scan` renders charts with real Helm
#   - Python `PyYAML` (same venv, pinned, a manylinux wheel with libyaml compiled in): its
#     `yaml.CSafeLoader` (libyaml's parser) is the oracle of rampart-k8s's YAML loader
#   - npm `semver` (pinned, unpacked into semver/): the SemVer oracle of rampart-version
#   - Python `kubernetes-validate` (same venv, pinned; with PyYAML): the Kubernetes 1.37 JSON Schemas
#     and their validator, the oracle of rampart-k8s's schema validation (`rampart_k8s::schema`)
#   - Microsoft SARIF Multitool (npm package @microsoft/sarif-multitool-linux): the official SARIF
#     schema file it ships, and its `validate` command as an independent SARIF validator
# Prints the cache directory on stdout.
set -euo pipefail
DIR=${RAMPART_ORACLES:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart-oracles}
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

if [ ! -x "$DIR/venv/bin/python" ] || ! "$DIR/venv/bin/python" -c 'import jsonschema' 2>/dev/null; then
  python3 -m venv "$DIR/venv" >&2
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check 'jsonschema>=4.18' >&2
fi
if ! "$DIR/venv/bin/python" -c 'import debian.copyright' 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check 'python-debian>=0.1.49' >&2
fi

CDX_LIB_VERSION=11.12.0
SPDX_TOOLS_VERSION=0.8.5
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(not (m.version('cyclonedx-python-lib') == '$CDX_LIB_VERSION' and m.version('spdx-tools') == '$SPDX_TOOLS_VERSION'))" 2>/dev/null \
   || [ ! -x "$DIR/venv/bin/pyspdxtools" ]; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check \
    "cyclonedx-python-lib[json-validation]==$CDX_LIB_VERSION" "spdx-tools==$SPDX_TOOLS_VERSION" >&2
fi

PACKAGING_VERSION=26.4
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('packaging') != '$PACKAGING_VERSION')" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check "packaging==$PACKAGING_VERSION" >&2
fi

CRYPTOGRAPHY_VERSION=50.0.2
PYNACL_VERSION=1.6.2
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(not (m.version('cryptography') == '$CRYPTOGRAPHY_VERSION' and m.version('PyNaCl') == '$PYNACL_VERSION'))" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check "cryptography==$CRYPTOGRAPHY_VERSION" "PyNaCl==$PYNACL_VERSION" >&2
fi

PROMETHEUS_CLIENT_VERSION=0.26.0
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('prometheus-client') != '$PROMETHEUS_CLIENT_VERSION')" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check "prometheus-client==$PROMETHEUS_CLIENT_VERSION" >&2
fi

JUNITPARSER_VERSION=5.0.3
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('junitparser') != '$JUNITPARSER_VERSION')" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check "junitparser==$JUNITPARSER_VERSION" >&2
fi

KUBERNETES_VALIDATE_VERSION=1.37.0
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
fi

HELM_SDK_VERSION=0.2.2
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('helm-python-sdk') != '$HELM_SDK_VERSION')" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check "helm-python-sdk==$HELM_SDK_VERSION" >&2
fi

PYYAML_VERSION=6.0.3
if ! "$DIR/venv/bin/python" -c "import importlib.metadata as m, sys, yaml; sys.exit(not (m.version('PyYAML') == '$PYYAML_VERSION' and yaml.__with_libyaml__))" 2>/dev/null; then
  "$DIR/venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: "PyYAML==$PYYAML_VERSION" >&2
fi

SEMVER_VERSION=7.8.6
if ! grep -qs "\"version\": \"$SEMVER_VERSION\"" "$DIR/semver/package.json"; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "semver@$SEMVER_VERSION" >/dev/null)
  rm -rf "$DIR/semver"; mkdir -p "$DIR/semver"
  tar -xzf "$tmp"/*.tgz -C "$DIR/semver" --strip-components=1
  rm -rf "$tmp"
fi

SARIF_VERSION=5.7.0
if [ ! -x "$DIR/sarif/Sarif.Multitool" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@microsoft/sarif-multitool-linux@$SARIF_VERSION" >/dev/null)
  rm -rf "$DIR/sarif"; mkdir -p "$DIR/sarif"
  tar -xzf "$tmp"/*.tgz -C "$DIR/sarif" --strip-components=1
  chmod +x "$DIR/sarif/Sarif.Multitool"
  rm -rf "$tmp"
fi
echo "$DIR"
