#!/usr/bin/env python3
"""Compare Pod Security-type findings of rampart, checkov and `trivy config` on one manifests tree.

    compare_findings.py --root DIR --rampart R.json [--checkov C.json] [--trivy T.json] [--examples 5]

Each tool's check ids are mapped to eight control families (FAMILIES below). A unit is a
Kubernetes object (file relative to --root, kind, name; the namespace is left out because the
tools default it differently), and, for the container-scoped families, an (object, container)
pair when the tool names the container. checkov names no container, so rampart and checkov are
compared per object; rampart and trivy also per container. For every family the counts are
printed, then up to --examples units only a peer flags (to judge whether rampart missed a true
finding) and units only rampart flags (to judge false positives).

trivy's messages usually name the object and container; when they do not (e.g. KSV030 "Either
Pod or Container should set ..."), the finding's start line is mapped to the object and
container that contain it (PyYAML, when importable).
"""
import argparse
import json
import os
import re
import sys
from collections import defaultdict

# family -> (container scoped?, rampart ids, checkov ids, trivy ids)
FAMILIES = [
    ("privileged", True, ["PSS001"], ["CKV_K8S_16"], ["KSV017"]),
    ("host namespaces", False, ["PSS002"], ["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"],
     ["KSV008", "KSV009", "KSV010"]),
    ("capabilities", True, ["PSS003", "PSS018"], ["CKV_K8S_25", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_39"],
     ["KSV003", "KSV004", "KSV022", "KSV106"]),
    ("runAsNonRoot/runAsUser", True, ["PSS015", "PSS016"], ["CKV_K8S_23"], ["KSV012", "KSV105"]),
    ("seccomp", True, ["PSS009", "PSS017"], ["CKV_K8S_31"], ["KSV030", "KSV104"]),
    ("allowPrivilegeEscalation", True, ["PSS014"], ["CKV_K8S_20"], ["KSV001"]),
    ("readOnlyRootFilesystem", True, ["K8S007"], ["CKV_K8S_22"], ["KSV014"]),
    ("hostPath", False, ["PSS004", "K8S008"], ["CKV_K8S_27"], ["KSV023", "KSV006", "KSV121"]),
]
# Left out on purpose: checkov CKV_K8S_1..7, 32, 36 judge PodSecurityPolicy objects, not
# workloads; CKV_K8S_40 / trivy KSV020, KSV021 (UID/GID > 10000) are no Pod Security control.

KINDS = {k.lower(): k for k in (
    "Pod Deployment DaemonSet StatefulSet ReplicaSet ReplicationController Job CronJob "
    "PodTemplate PodSecurityPolicy").split()}


def canon_kind(kind):
    return KINDS.get(kind.lower(), kind)


def trivy_id(raw):
    """KSV-0001 / KSV001 / AVD-KSV-0001 -> KSV001."""
    m = re.search(r"KSV-?0*(\d+)", raw)
    return "KSV%03d" % int(m.group(1)) if m else raw


class Index:
    """Line ranges of objects and containers per file, to place findings given by line only."""

    def __init__(self, root):
        self.root, self.cache = root, {}
        try:
            import yaml  # noqa: F401
            self.yaml = yaml
        except ImportError:
            self.yaml = None

    def _load(self, rel):
        objs = []
        if self.yaml is None:
            return objs
        try:
            with open(os.path.join(self.root, rel), encoding="utf-8") as fh:
                docs = list(self.yaml.compose_all(fh, Loader=self.yaml.SafeLoader))
        except Exception:
            return objs

        def get(node, key):
            if isinstance(node, self.yaml.MappingNode):
                for k, v in node.value:
                    if getattr(k, "value", None) == key:
                        return v
            return None

        def containers(node, out):
            if isinstance(node, self.yaml.MappingNode):
                for k, v in node.value:
                    if getattr(k, "value", None) in ("containers", "initContainers", "ephemeralContainers") \
                            and isinstance(v, self.yaml.SequenceNode):
                        for item in v.value:
                            name = get(item, "name")
                            out.append((item.start_mark.line + 1, item.end_mark.line + 1,
                                        getattr(name, "value", "?")))
                    else:
                        containers(v, out)
            elif isinstance(node, self.yaml.SequenceNode):
                for v in node.value:
                    containers(v, out)

        def objects(node):
            kind = get(node, "kind")
            items = get(node, "items")
            if kind is not None and str(kind.value).endswith("List") and items is not None:
                for it in items.value:
                    objects(it)
                return
            if kind is None:
                return
            name = get(get(node, "metadata"), "name")
            cs = []
            containers(node, cs)
            objs.append((node.start_mark.line + 1, node.end_mark.line + 1, canon_kind(str(kind.value)),
                         getattr(name, "value", "?"), cs))

        for d in docs:
            if d is not None:
                objects(d)
        return objs

    def locate(self, rel, line):
        """(kind, name, container or None) of the innermost object/container holding LINE."""
        if rel not in self.cache:
            self.cache[rel] = self._load(rel)
        for start, end, kind, name, cs in self.cache[rel]:
            if start <= line <= end:
                for cstart, cend, cname in cs:
                    if cstart <= line <= cend:
                        return kind, name, cname
                return kind, name, None
        return None


def rel(path, root):
    path = path.replace("\\", "/")
    if os.path.isabs(path):
        try:
            r = os.path.relpath(path, root)
            if not r.startswith(".."):
                return r
        except ValueError:
            pass
    return path.lstrip("/").removeprefix("./")


RAMPART_CONTAINERS = re.compile(r'containers? ((?:"[^"]*"(?:, )?)+)')


def load_rampart(path, root):
    """[(rule id, file, kind, name, container or None, message)]"""
    out = []
    for f in json.load(open(path)).get("findings", []):
        loc = f.get("location") or {}
        obj = loc.get("object") or {}
        if not obj.get("kind"):
            continue
        msg = f.get("message", "")
        # one finding may name several containers ('containers "a", "b" must ...'), while
        # location.object.container holds the first: count each named container
        names = []
        g = RAMPART_CONTAINERS.search(msg)
        if g:
            names = re.findall(r'"([^"]*)"', g.group(1))
        for c in names or [obj.get("container")]:
            out.append((f["rule_id"], rel(loc.get("file", ""), root), canon_kind(obj["kind"]),
                        obj.get("name", "?"), c, msg))
    return out


def load_checkov(path, root):
    data = json.load(open(path))
    reports = data if isinstance(data, list) else [data]
    out = []
    for rep in reports:
        if rep.get("check_type") not in (None, "kubernetes"):
            continue
        for f in (rep.get("results") or {}).get("failed_checks", []):
            res = f.get("resource", "")
            parts = res.split(".")
            if len(parts) < 3:
                continue
            # Kind.namespace.name; names may contain dots
            out.append((f["check_id"], rel(f.get("file_path", ""), root), canon_kind(parts[0]),
                        ".".join(parts[2:]), None, f.get("check_name", "")))
    return out


TRIVY_PATTERNS = [
    # Container 'c' of Deployment 'd' should ...
    (re.compile(r"[Cc]ontainer '([^']*)' of '?(\w+)'? '([^']*)'"), ("c", "k", "n")),
    # container "c" of deployment "d" in "ns" namespace ...
    (re.compile(r'[Cc]ontainer "([^"]*)" of (\w+) "([^"]*)"'), ("c", "k", "n")),
    # Deployment 'd' should ...
    (re.compile(r"^(\w+) '([^']*)' should"), ("k", "n")),
    # daemonset d in ns namespace ...
    (re.compile(r"^(\w+) (\S+) in \S+ namespace"), ("k", "n")),
]


def load_trivy(path, root, index):
    out, unplaced = [], 0
    for res in json.load(open(path)).get("Results") or []:
        target = rel(res.get("Target", ""), root)
        for m in res.get("Misconfigurations") or []:
            if m.get("Status", "FAIL") != "FAIL":
                continue
            cid, msg = trivy_id(m.get("ID", "")), m.get("Message", "")
            kind = name = cont = None
            for rx, fields in TRIVY_PATTERNS:
                g = rx.search(msg)
                if g and canon_kind(g.group(fields.index("k") + 1)) in KINDS.values():
                    vals = dict(zip(fields, g.groups()))
                    kind, name, cont = canon_kind(vals["k"]), vals["n"], vals.get("c")
                    break
            line = (m.get("CauseMetadata") or {}).get("StartLine")
            if line:
                where = index.locate(target, line)
                if where:
                    if kind is None:
                        kind, name = where[0], where[1]
                    if cont is None and where[0] == kind and where[1] == name:
                        cont = where[2]
            if kind is None:
                unplaced += 1
                continue
            out.append((cid, target, kind, name, cont, msg))
    return out, unplaced


def units(findings, ids, container_level):
    """{unit: [(id, message)]}; unit = (file, kind, name) or (file, kind, name, container)."""
    ids = set(ids)
    got = defaultdict(list)
    for cid, f, k, n, c, msg in findings:
        if cid in ids:
            key = (f, k, n, c) if container_level else (f, k, n)
            got[key].append((cid, msg))
    return got


def fmt(unit):
    s = f"{unit[0]}  {unit[1]}/{unit[2]}"
    if len(unit) > 3:
        s += f"  container={unit[3]}"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--rampart", required=True)
    ap.add_argument("--checkov")
    ap.add_argument("--trivy")
    ap.add_argument("--examples", type=int, default=5)
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    index = Index(root)
    tools = {"rampart": load_rampart(a.rampart, root)}
    if a.checkov and os.path.exists(a.checkov):
        tools["checkov"] = load_checkov(a.checkov, root)
    if a.trivy and os.path.exists(a.trivy):
        tools["trivy"], unplaced = load_trivy(a.trivy, root, index)
        if unplaced:
            print(f"note: {unplaced} trivy findings could not be placed on an object")
    peers = [p for p in ("checkov", "trivy") if p in tools]
    col = {"rampart": 2, "checkov": 3, "trivy": 4}

    print("Pod Security-type findings on the manifests corpus: distinct units flagged")
    print("(obj = file+kind/name; ctr = file+kind/name+container; only-X = units X flags and the other does not)")
    hdr = f'{"family":<25} {"rampart obj":>11}'
    for p in peers:
        hdr += f' {p + " obj":>12} {"only-" + p:>12} {"only-rampart":>12}'
    if "trivy" in peers:
        hdr += f' {"rampart ctr":>11} {"trivy ctr":>9} {"only-trivy":>10} {"only-ramp":>9}'
    print(hdr)
    details = []
    for fam in FAMILIES:
        name, cscope = fam[0], fam[1]
        r_obj = units(tools["rampart"], fam[2], False)
        line = f"{name:<25} {len(r_obj):>11}"
        for p in peers:
            p_obj = units(tools[p], fam[col[p]], False)
            only_p = sorted(set(p_obj) - set(r_obj))
            only_r = sorted(set(r_obj) - set(p_obj))
            line += f" {len(p_obj):>12} {len(only_p):>12} {len(only_r):>12}"
            details.append((name, p, "obj", only_p, p_obj, only_r, r_obj))
        if "trivy" in peers:
            if cscope:
                r_c = units(tools["rampart"], fam[2], True)
                t_c = units(tools["trivy"], fam[4], True)
                only_t = sorted(set(t_c) - set(r_c))
                only_r = sorted(set(r_c) - set(t_c))
                line += f" {len(r_c):>11} {len(t_c):>9} {len(only_t):>10} {len(only_r):>9}"
                details.append((name, "trivy", "ctr", only_t, t_c, only_r, r_c))
            else:
                line += f' {"-":>11} {"-":>9} {"-":>10} {"-":>9}'
        print(line)

    n = a.examples
    print(f"\nExamples (up to {n} each) of units flagged by only one side; judge each by reading the file.")
    for name, p, lvl, only_p, p_units, only_r, r_units in details:
        if not only_p and not only_r:
            continue
        print(f"\n[{name}] {lvl}-level vs {p}: {len(only_p)} only {p}, {len(only_r)} only rampart")
        for u in only_p[:n]:
            ids = sorted({c for c, _ in p_units[u]})
            print(f"  only {p:<8} {fmt(u)}  [{','.join(ids)}] {p_units[u][0][1][:110]}")
        for u in only_r[:n]:
            ids = sorted({c for c, _ in r_units[u]})
            print(f"  only rampart  {fmt(u)}  [{','.join(ids)}] {r_units[u][0][1][:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
