#!/usr/bin/env python3
"""Builds the fleet benchmark's images as one OCI layout: BASES base layers made of this
machine's real files (its Debian package database and /etc/os-release, a distinct real tree
per base, and Python packages at versions the PyPA advisories of ../shared/corpus name as
vulnerable), and IMAGES images, each a base plus an application layer of its own (a Python
package of its own, a megabyte of random bytes). Every image is tagged `app-N` in the layout's
index (org.opencontainers.image.ref.name), ready for `skopeo copy oci:LAYOUT:app-N ...`.

    python3 bench/fleet_images.py OUT_DIR [IMAGES] [BASES]
"""

import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

OUT = sys.argv[1]
IMAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 200
BASES = int(sys.argv[3]) if len(sys.argv) > 3 else 3
HERE = os.path.dirname(os.path.abspath(__file__))
PYPA = os.path.join(HERE, "..", "..", "shared", "corpus", "osv-pypa", "vulns")
# distinct real trees per base (the same os-release and dpkg database in each), 100-170 MB
# uncompressed: the size of common language runtime bases
TREES = [
    ["/usr/lib/python3", "/usr/libexec", "/usr/share/perl", "/usr/lib/node_modules"],
    ["/usr/lib/gcc"],
    ["/usr/share/locale"],
    ["/usr/share/doc"],
]


def blob(data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(OUT, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(OUT, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def tar_layer(add):
    """add(tar) fills it; returns (compressed blob digest, size, diff id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        add(t)
    data = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    gz = gzip.compress(data, compresslevel=1, mtime=0)
    return blob(gz), len(gz), diff_id


def add_bytes(t, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    t.addfile(info, io.BytesIO(data))


def clean(info):
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info


def vulnerable_pypi(n, seed):
    """n (name, version) pairs the PyPA advisories list as affected."""
    rng = random.Random(seed)
    pairs = []
    for pkg in sorted(os.listdir(PYPA)):
        if not os.path.isdir(os.path.join(PYPA, pkg)):
            continue
        for f in sorted(os.listdir(os.path.join(PYPA, pkg))):
            text = open(os.path.join(PYPA, pkg, f), encoding="utf-8").read()
            if "\nversions:" not in text and "\n  versions:" not in text:
                continue
            lines = text.split("\n")
            name = next((l.split(":", 1)[1].strip() for l in lines if l.strip().startswith("name:")), None)
            try:
                i = next(i for i, l in enumerate(lines) if l.strip() == "versions:")
            except StopIteration:
                continue
            vs = [l.strip()[2:].strip().strip('"') for l in lines[i + 1:] if l.strip().startswith("- ")]
            vs = [v for v in vs if v and " " not in v][:3]
            if name and vs:
                pairs.append((name, rng.choice(vs)))
            break
    rng.shuffle(pairs)
    return pairs[:n]


def dist_info(t, name, version):
    add_bytes(t, f"usr/local/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA",
              f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())


def base_layer(b):
    def add(t):
        t.add("/etc/os-release", arcname="etc/os-release", filter=clean)
        t.add("/var/lib/dpkg/status", arcname="var/lib/dpkg/status", filter=clean)
        for tree in TREES[b % len(TREES)]:
            if os.path.isdir(tree):
                t.add(tree, arcname=tree.lstrip("/"), filter=clean)
        for name, version in vulnerable_pypi(40, b):
            dist_info(t, name, version)
    return tar_layer(add)


def app_layer(n):
    rng = random.Random(n)

    def add(t):
        dist_info(t, f"fleet-app-{n}", f"1.0.{n}")
        add_bytes(t, f"srv/app/data-{n}.bin", rng.randbytes(1 << 20))
        add_bytes(t, "srv/app/main.py", f"print('app {n}')\n".encode())
    return tar_layer(add)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    bases = [base_layer(b) for b in range(BASES)]
    manifests = []
    for n in range(IMAGES):
        base = bases[n % BASES]
        app = app_layer(n)
        layers = [base, app]
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"User": "1000", "Cmd": ["python3", "/srv/app/main.py"]},
            "rootfs": {"type": "layers", "diff_ids": [l[2] for l in layers]},
            "history": [{"created_by": "base"}, {"created_by": f"app {n}"}],
        }, sort_keys=True).encode()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": blob(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": l[0], "size": l[1]} for l in layers],
        }, sort_keys=True).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": blob(manifest), "size": len(manifest),
                          "annotations": {"org.opencontainers.image.ref.name": f"app-{n}"}})
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    sizes = [os.path.getsize(os.path.join(OUT, "blobs", "sha256", b[0].split(":")[1])) for b in bases]
    print(f"{IMAGES} images on {BASES} bases ({', '.join(f'{s / 1e6:.0f} MB' for s in sizes)} compressed) in {OUT}")


main()
