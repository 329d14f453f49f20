#!/usr/bin/env bash
# Records the example's history into a store: six scans of examples/ over November 2026 (the
# shop/web Deployment drifts on the 4th, allowPrivilegeEscalation and a writable root, and is
# fixed on the 11th), the admission webhook's decisions (audit.jsonl), an inventory rescan
# that finds a new vulnerability in an image already admitted (rescan.json) and the runtime
# monitor's alerts (alerts.jsonl). Each scan is a real `rampart scan` of the example as it was
# at that commit; the times are the commits' and the scans'.
#
#   bash examples/history/load.sh /tmp/example-history.db
#   rampart report --html report.html --history /tmp/example-history.db --now 2026-11-30T00:00:00Z
#   rampart serve --history /tmp/example-history.db --now 2026-11-30T00:00:00Z
#
# RAMPART names the rampart binary (default: `rampart` on PATH).
set -euo pipefail
store=${1:?usage: load.sh STORE (a file, or a postgres:// URL)}
rampart=${RAMPART:-rampart}
# a relative path to the binary stays valid after the scans' cd
case $rampart in */*) rampart="$(cd "$(dirname "$rampart")" && pwd)/$(basename "$rampart")" ;; esac
here=$(cd "$(dirname "$0")" && pwd)
examples=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$examples" "$work/examples"
rm -rf "$work/examples/history"
web="$work/examples/k8s/web.yaml"

# scan AT COMMIT COMMIT_AT: a scan of the example as it is now in $work, recorded
scan() {
  local rc=0
  (cd "$work" && "$rampart" scan examples --format json --no-inventory) > "$work/scan.json" || rc=$?
  # 1: findings at or above fail-on (the example has some); anything else is a failure
  [ "$rc" -le 1 ] || { echo "load.sh: rampart scan exited $rc" >&2; exit "$rc"; }
  "$rampart" history import --history "$store" --scope example \
    --repo https://git.example.com/rampart-example.git --commit "$2" --commit-at "$3" \
    --at "$1" "$work/scan.json"
}

scan 2026-11-02T09:00:00Z 1a2b3c4 2026-11-02T08:00:00Z
# the drift: a change to shop/web relaxes its container's security context
sed -i 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/; s/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$web"
scan 2026-11-05T09:00:00Z 5d6e7f8 2026-11-04T16:00:00Z
scan 2026-11-09T09:00:00Z 9a0b1c2 2026-11-08T14:00:00Z
# the fix
sed -i 's/allowPrivilegeEscalation: true/allowPrivilegeEscalation: false/; s/readOnlyRootFilesystem: false/readOnlyRootFilesystem: true/' "$web"
scan 2026-11-12T09:00:00Z 3d4e5f6 2026-11-11T15:00:00Z
scan 2026-11-19T09:00:00Z 7a8b9c0 2026-11-18T10:00:00Z
scan 2026-11-26T09:00:00Z 1c2d3e4 2026-11-25T17:00:00Z

"$rampart" history import --history "$store" --cluster example-cluster "$here/audit.jsonl"
"$rampart" history import --history "$store" --cluster example-cluster "$here/rescan.json"
# the alerts as the monitor's log shipper delivered them, seconds after the drift
"$rampart" history import --history "$store" --cluster example-cluster --at 2026-11-06T02:14:12Z "$here/alerts.jsonl"
