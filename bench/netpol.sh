#!/usr/bin/env bash
# Reachability at scale (issue 17, point 4): a generated cluster of PODS pods (default 10,000)
# in NAMESPACES namespaces (default 500) under POLICIES NetworkPolicies (default 1,000: a
# default deny and an allow per namespace), as `kubectl get -o json` lists. Prints the wall
# time and peak memory of `rampart netpol reach` (release build) computing every allowed
# connection (written to /dev/null) and how many lines it found.
#   target: under 1 s and 256 MiB.
# No peer runs here: netpol-analyzer (Go) is not in Debian and the machine has no Go
# toolchain; published tools state no timings (docs/netpol.md).
# Run from the repository root: bash bench/netpol.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PODS="${PODS:-10000}"; NAMESPACES="${NAMESPACES:-500}"; POLICIES="${POLICIES:-1000}"
cargo build -q --release -p rampart
work="${TMPDIR:-/tmp}/rampart-bench/netpol"; rm -rf "$work"; mkdir -p "$work/cluster"
python3 - "$work/cluster" "$PODS" "$NAMESPACES" "$POLICIES" <<'PY'
import json, random, sys
out, pods, nss, pols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(17)
teams = [f"team-{i}" for i in range(20)]
ns_items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{i}", "labels": {"team": teams[i % len(teams)], "env": "prod" if i % 3 else "staging"}}} for i in range(nss)]
ns_items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
tiers = ["web", "api", "db"]
replicas = 4
deployments = max(1, pods // replicas)
pod_items = []
for d in range(deployments):
    ns = f"ns-{d % nss}"
    tier = tiers[d % len(tiers)]
    app = f"app-{d}"
    rs = f"{app}-{d:08x}"
    for r in range(replicas):
        pod_items.append({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{rs}-{r}", "namespace": ns, "labels": {"app": app, "tier": tier},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "controller": True}]},
            "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}]}]}})
pod_items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
    "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}]}})
pol_items = []
for i in range(pols):
    ns = f"ns-{(i // 2) % nss}"
    team = teams[((i // 2) % nss) % len(teams)]
    if i % 2 == 0:
        spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                            "ports": [{"port": 53, "protocol": "UDP"}]}]}
    else:
        spec = {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}},
                                      {"namespaceSelector": {"matchLabels": {"team": team}}, "podSelector": {"matchLabels": {"tier": "web"}}}],
                             "ports": [{"port": "http"}]},
                            {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": [f"10.{(i // 2) % 4}.0.0/16"]}}], "ports": [{"port": 8080}]}],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": team}}, "podSelector": {"matchLabels": {"tier": "api"}}}],
                            "ports": [{"port": "http"}]},
                           {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}], "ports": [{"port": 443}]}]}
    pol_items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": f"p-{i}", "namespace": ns}, "spec": spec})
for name, items in [("namespaces", ns_items), ("pods", pod_items), ("policies", pol_items)]:
    with open(f"{out}/{name}.json", "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
print(f"generated: {len(pod_items)} pods, {len(ns_items)} namespaces, {len(pol_items)} policies")
PY
/usr/bin/time -v -o "$work/time.txt" target/release/rampart netpol reach "$work/cluster" > "$work/lines.txt"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/time.txt")
echo "netpol reach: $(wc -l < "$work/lines.txt") connections in $wall (m:ss), peak $rss MiB (target < 1 s, < 256 MiB)"
