#!/usr/bin/env python3
"""Writes examples/images/worker: the OCI image layout the `shop/worker` Dockerfile would build
(Node on Debian 12, running as root, package manager and shell left in, an npm token left in
`.npmrc`), small enough to commit. File contents are real metadata: dpkg status paragraphs and
copyright files of Debian 12 packages and package.json files as npm installed them, taken from
the machine that ran this script (see examples/images/SOURCE.md). Deterministic: same inputs,
same digests.

    python3 examples/images/make-worker.py DPKG_STATUS NODE_MODULES_DIR
"""
import gzip, hashlib, io, json, os, sys, tarfile

status_file, node_modules = sys.argv[1], sys.argv[2]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker")
KEEP = ["base-files", "bash", "dash", "libc6", "apt", "dpkg", "passwd", "coreutils", "openssl", "libssl3", "zlib1g", "ca-certificates"]
paras = {}
for p in open(status_file, encoding="utf-8").read().split("\n\n"):
    for line in p.splitlines():
        if line.startswith("Package: "):
            paras[line[9:]] = p.strip() + "\n"
status = "\n".join(paras[k] for k in KEEP if k in paras)
files = {
    "etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    "etc/passwd": b"root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\n",
    "var/lib/dpkg/status": status.encode(),
    "app/package.json": json.dumps({"name": "shop-worker", "version": "1.4.0", "private": True,
                                    "dependencies": {"express": "4.18.2", "lodash": "4.17.21"}}, indent=2).encode(),
    "app/server.js": b"require('express')().listen(3000)\n",
    "root/.npmrc": b"//registry.npmjs.org/:_authToken=npm_Q4x9bZr2LmT7vWc1YkH8pN3sD6fJ0aGeU5tR\n",
}
for pkg in KEEP:
    c = f"/usr/share/doc/{pkg}/copyright"
    if pkg in paras and os.path.exists(c):
        files[f"usr/share/doc/{pkg}/copyright"] = open(c, "rb").read()
for name in ["express", "lodash", "body-parser", "cookie", "debug", "ms", "qs", "accepts", "mime-types", "mime-db"]:
    pj = os.path.join(node_modules, name, "package.json")
    files[f"app/node_modules/{name}/package.json"] = open(pj, "rb").read()
executables = {"usr/bin/bash": 0o755, "usr/bin/dash": 0o755, "usr/bin/apt-get": 0o755,
               "usr/bin/dpkg": 0o755, "usr/bin/passwd": 0o4755, "usr/local/bin/node": 0o755}

def tar_bytes():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, data=b"", mode=0o644, kind=tarfile.REGTYPE, link=""):
            ti = tarfile.TarInfo(name); ti.mode = mode; ti.mtime = 0; ti.type = kind
            ti.linkname = link; ti.size = len(data) if kind == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        dirs = sorted({os.path.dirname(p) for p in list(files) + list(executables)} | {"tmp"})
        seen = set()
        for d in dirs:
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub and sub not in seen:
                    seen.add(sub); add(sub, mode=0o1777 if sub == "tmp" else 0o755, kind=tarfile.DIRTYPE)
        add("bin", kind=tarfile.SYMTYPE, link="usr/bin", mode=0o777)
        add("usr/bin/sh", kind=tarfile.SYMTYPE, link="dash", mode=0o777)
        for name in sorted(files):
            add(name, files[name], 0o600 if name.endswith(".npmrc") else 0o644)
        for name, mode in sorted(executables.items()):
            add(name, b"#!/bin/sh\n# placeholder for the real program\n", mode)
    return buf.getvalue()

layer = tar_bytes()
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
    g.write(layer)
blob = gz.getvalue()
def digest(b): return "sha256:" + hashlib.sha256(b).hexdigest()
config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
               "Cmd": ["node", "server.js"], "WorkingDir": "/app", "ExposedPorts": {"3000/tcp": {}}},
    "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
    "history": [{"created_by": "COPY . /app # buildkit"}, {"created_by": "CMD [\"node\", \"server.js\"]", "empty_layer": True}],
}, sort_keys=True).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(blob), "size": len(blob)}]},
    sort_keys=True).encode()
index = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": digest(manifest), "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "1.4.0"}}]},
    sort_keys=True, indent=2).encode()
import shutil
shutil.rmtree(out, ignore_errors=True)
os.makedirs(f"{out}/blobs/sha256")
for b in (blob, config, manifest):
    open(f"{out}/blobs/sha256/{digest(b)[7:]}", "wb").write(b)
open(f"{out}/index.json", "wb").write(index + b"\n")
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}\n')
print(out, len(blob), "bytes of layer")
