#!/usr/bin/env bash
# Installs Debian packages for the commands tests need, when a command is missing:
#   bash scripts/ensure-tools.sh docker-registry:docker-registry jar:default-jdk-headless ...
# Each argument is COMMAND:PACKAGE, or /PATH:PACKAGE for a package without a command (a file it
# installs, e.g. /usr/lib/python3/dist-packages/rpm/__init__.py:python3-rpm). apt-get waits for
# the dpkg lock (tests run in parallel) and refreshes the package lists once if an install fails. Exits non-zero (so the calling test
# fails, never skips) when a command is still missing.
set -euo pipefail
present() { case "$1" in /*) [ -e "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }
missing=()
for pair in "$@"; do
  present "${pair%%:*}" || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
apt() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@" >&2; }
apt install --no-install-recommends "${missing[@]}" || { apt update && apt install --no-install-recommends "${missing[@]}"; }
for pair in "$@"; do
  present "${pair%%:*}" || { echo "${pair%%:*} is still missing after installing ${pair#*:}" >&2; exit 1; }
done
