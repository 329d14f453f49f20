"""Attach a Sigstore bundle to an image the way cosign v3 does by default (--new-bundle-format):
an OCI 1.1 referrer whose subject is the image, found through the referrers fallback tag
`sha256-<hex>` (Debian's docker-registry has no referrers API). Written from cosign's
BUNDLE_SPEC.md and the OCI distribution spec, independently of rampart: the DSSE envelope is
signed here with Python `cryptography`.

usage: cosign_v3_attach.py HOST REPO IMAGE_DIGEST PREDICATE_TYPE PEM_PRIVATE_KEY_FILE [BUNDLE]
With BUNDLE (a .sigstore.json file), that bundle is attached as is instead of a new one.
Prints the referrer manifest's digest."""
import base64, hashlib, json, sys, urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

host, repo, digest, predicate_type, key_file = sys.argv[1:6]
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
base = f"http://{host}/v2/{repo}"


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req)


def push_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    location = request("POST", f"{base}/blobs/uploads/").headers["Location"]
    if location.startswith("/"):
        location = f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    request("PUT", f"{location}{sep}digest={d}", data, {"Content-Type": "application/octet-stream"})
    return {"digest": d, "size": len(data)}


def push_manifest(reference, body, media_type):
    """Pushes under `reference`, or untagged (by its digest) when it is None."""
    data = json.dumps(body, separators=(",", ":")).encode()
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    request("PUT", f"{base}/manifests/{reference or d}", data, {"Content-Type": media_type})
    return {"mediaType": media_type, "digest": d, "size": len(data)}


if len(sys.argv) > 6:
    bundle = open(sys.argv[6], "rb").read()
else:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"{host}/{repo}", "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicateType": predicate_type,
    }
    if predicate_type != "https://sigstore.dev/cosign/sign/v1":
        statement["predicate"] = {"builder": {"id": "ci"}}
    body = json.dumps(statement).encode()
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(body), body)
    key = serialization.load_pem_private_key(open(key_file, "rb").read(), password=None)
    sig = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    bundle = json.dumps({
        "mediaType": BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": "test"}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(body).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(sig).decode()}],
        },
    }).encode()

image = request("GET", f"{base}/manifests/{digest}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
image_size = len(image.read())
config = push_blob(b"{}")
layer = push_blob(bundle)
annotations = {
    "dev.sigstore.bundle.content": "dsse-envelope",
    "dev.sigstore.bundle.predicateType": predicate_type,
    "org.opencontainers.image.created": "2026-11-28T00:00:00Z",
}
artifact = push_manifest(None, {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "artifactType": BUNDLE,
    "config": {"mediaType": "application/vnd.oci.empty.v1+json", **config},
    "layers": [{"mediaType": BUNDLE, **layer}],
    "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": image_size},
    "annotations": annotations,
}, "application/vnd.oci.image.manifest.v1+json")

# The referrers fallback tag: an index of every referrer, updated read-modify-write.
tag = digest.replace(":", "-")
try:
    index = json.load(request("GET", f"{base}/manifests/{tag}", headers={"Accept": "application/vnd.oci.image.index.v1+json"}))
except urllib.error.HTTPError as e:
    if e.code != 404:
        raise
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
index["manifests"].append({**artifact, "artifactType": BUNDLE, "annotations": annotations})
push_manifest(tag, index, "application/vnd.oci.image.index.v1+json")
print(artifact["digest"])
