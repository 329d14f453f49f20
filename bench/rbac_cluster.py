#!/usr/bin/env python3
"""A generated cluster for bench/rbac.sh, written as `kubectl get -o json` List files.

Shape (defaults): 500 namespaces, 5,000 service accounts, 25,000 pods (1% privileged or with
hostPath), 1,000 Roles, 200 ClusterRoles (10 aggregated), 5,000 bindings (4,500 RoleBindings,
500 ClusterRoleBindings, 5 of them to the built-in cluster-admin for controllers' service
accounts) naming users, groups and service accounts. Deterministic (seeded).
"""
import json
import os
import random
import sys

out = sys.argv[1]
NS = int(os.environ.get("NAMESPACES", 500))
PODS = int(os.environ.get("PODS", 25000))
BINDINGS = int(os.environ.get("BINDINGS", 5000))
SAS_PER_NS = 10
rng = random.Random(17)
os.makedirs(out, exist_ok=True)

RBAC = "rbac.authorization.k8s.io/v1"
MENU = [
    [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}],
    [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["app-config"]}],
    [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]}],
    [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete"]}],
    [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}],
    [{"apiGroups": [""], "resources": ["pods/exec", "pods/log"], "verbs": ["create", "get"]}],
    [{"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["*"]}],
    [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}],
    [{"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["update"]}],
    [{"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]}],
]
RARE = [
    [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}],
    [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate", "update"]}],
    [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["admin-0"]}],
    [{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"], "verbs": ["create"]}],
]


def rules():
    if rng.random() < 0.02:
        return list(rng.choice(RARE))
    return [r for part in rng.sample(MENU, rng.randint(1, 3)) for r in part]


objects = []
namespaces = [f"ns-{i}" for i in range(NS)]
for i, ns in enumerate(namespaces):
    labels = {"team": f"t{i % 20}"}
    if i % 2 == 0:
        labels["pod-security.kubernetes.io/enforce"] = "baseline"
    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    for s in range(SAS_PER_NS):
        objects.append({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": f"sa-{s}", "namespace": ns}})
    for r in range(2):
        objects.append({"apiVersion": RBAC, "kind": "Role",
                        "metadata": {"name": f"role-{r}", "namespace": ns}, "rules": rules()})
for c in range(200):
    role = {"apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": {"name": f"cr-{c}", "labels": {"agg": f"a{c % 10}"}}, "rules": rules()}
    if c < 10:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"agg": f"a{c}"}}]}
        role["metadata"]["labels"] = {}
        role["rules"] = []
    objects.append(role)
for p in range(PODS):
    ns = namespaces[p % NS]
    spec = {"serviceAccountName": f"sa-{rng.randrange(SAS_PER_NS)}",
            "containers": [{"name": "app", "image": f"registry.example/app-{p % 97}:1"}]}
    if rng.random() < 0.01:
        spec["containers"][0]["securityContext"] = {"privileged": True}
    elif rng.random() < 0.01:
        spec["volumes"] = [{"name": "host", "hostPath": {"path": "/var/log"}}]
    objects.append({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"pod-{p}", "namespace": ns}, "spec": spec})


def subject():
    x = rng.random()
    if x < 0.3:
        return {"kind": "User", "name": f"user-{rng.randrange(2000)}", "apiGroup": "rbac.authorization.k8s.io"}
    if x < 0.4:
        return {"kind": "Group", "name": f"team-{rng.randrange(50)}", "apiGroup": "rbac.authorization.k8s.io"}
    ns = rng.choice(namespaces)
    return {"kind": "ServiceAccount", "name": f"sa-{rng.randrange(SAS_PER_NS)}", "namespace": ns}


cluster_bindings = BINDINGS // 10
for b in range(BINDINGS):
    subjects = [subject() for _ in range(rng.randint(1, 3))]
    if b < 5:
        # controllers' service accounts bound to the built-in cluster-admin, as in real clusters
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
        subjects = [{"kind": "ServiceAccount", "name": "sa-0", "namespace": namespaces[b]}]
        objects.append({"apiVersion": RBAC, "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"crb-{b}"}, "roleRef": ref, "subjects": subjects})
    elif b < cluster_bindings:
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"cr-{rng.randrange(200)}"}
        objects.append({"apiVersion": RBAC, "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"crb-{b}"}, "roleRef": ref, "subjects": subjects})
    else:
        ns = rng.choice(namespaces)
        if rng.random() < 0.5:
            ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{rng.randrange(2)}"}
        else:
            ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"cr-{rng.randrange(200)}"}
        objects.append({"apiVersion": RBAC, "kind": "RoleBinding",
                        "metadata": {"name": f"rb-{b}", "namespace": ns}, "roleRef": ref, "subjects": subjects})

CHUNK = 2000
for i in range(0, len(objects), CHUNK):
    with open(os.path.join(out, f"dump-{i // CHUNK:03d}.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": objects[i:i + CHUNK]}, f)
print(f"{len(objects)} objects in {out}", file=sys.stderr)
