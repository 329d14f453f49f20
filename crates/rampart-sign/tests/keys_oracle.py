"""Independent oracle for rampart-sign's keys: Python `cryptography` (scrypt, PKCS#8, ECDSA)
and PyNaCl (NaCl secretbox). Reads a JSON list of requests on stdin, writes a JSON list of
answers on stdout."""
import base64
import json
import os
import sys

import nacl.secret
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


def pem_body(pem):
    lines = pem.strip().split("\n")
    assert lines[0].startswith("-----BEGIN ") and lines[-1].startswith("-----END "), pem
    return lines[0][len("-----BEGIN "):-5], base64.b64decode("".join(lines[1:-1]), validate=True)


def pem_wrap(label, body):
    b64 = base64.b64encode(body).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def public_pem(key):
    return key.public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()


def shape(value):
    """The JSON structure with every string replaced by its type and base64 length."""
    if isinstance(value, dict):
        return [[k, shape(v)] for k, v in value.items()]
    if isinstance(value, str) and value not in ("scrypt", "nacl/secretbox"):
        return "b64:%d" % len(base64.b64decode(value, validate=True))
    return value


def decrypt(req):
    label, body = pem_body(req["pem"])
    doc = json.loads(body)
    params = doc["kdf"]["params"]
    key = Scrypt(salt=base64.b64decode(doc["kdf"]["salt"]), length=32, n=params["N"],
                 r=params["r"], p=params["p"]).derive(bytes.fromhex(req["password"]))
    pkcs8 = nacl.secret.SecretBox(key).decrypt(
        base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"]))
    private = ser.load_der_private_key(pkcs8, password=None)
    return {
        "label": label,
        "public_pem": public_pem(private),
        "shape": shape(doc),
        # Go's encoding/json: no spaces, fields in struct order.
        "go_layout": json.dumps(doc, separators=(",", ":")).encode() == body,
    }


def encrypt(req):
    private = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = private.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    salt, nonce = os.urandom(32), os.urandom(24)
    n = req["n"]
    key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(bytes.fromhex(req["password"]))
    sealed = nacl.secret.SecretBox(key).encrypt(pkcs8, nonce).ciphertext
    doc = {
        "kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1},
                "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return {
        "encrypted_pem": pem_wrap(req["label"], json.dumps(doc, separators=(",", ":")).encode()),
        "pkcs8_pem": private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                           ser.NoEncryption()).decode(),
        "sec1_pem": private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL,
                                          ser.NoEncryption()).decode(),
        "public_pem": public_pem(private),
    }


def public_of(req):
    return {"public_pem": public_pem(ser.load_pem_private_key(req["pem"].encode(), None))}


def verify(req):
    key = ser.load_pem_public_key(req["public_pem"].encode())
    try:
        key.verify(bytes.fromhex(req["signature"]), bytes.fromhex(req["message"]),
                   ec.ECDSA(hashes.SHA256()))
        return {"ok": True}
    except InvalidSignature:
        return {"ok": False}


def sign(req):
    private = ec.generate_private_key(ec.SECP256R1())
    sig = private.sign(bytes.fromhex(req["message"]), ec.ECDSA(hashes.SHA256()))
    return {"public_pem": public_pem(private), "signature": sig.hex()}


def other(req):
    kind = req["kind"]
    if kind == "p384":
        private = ec.generate_private_key(ec.SECP384R1())
    elif kind == "secp256k1":
        private = ec.generate_private_key(ec.SECP256K1())
    elif kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    pkcs8 = private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    return {"public_pem": public_pem(private), "pkcs8_pem": pkcs8.decode()}


OPS = {"decrypt": decrypt, "encrypt": encrypt, "public_of": public_of, "verify": verify,
       "sign": sign, "other": other}
json.dump([OPS[r["op"]](r) for r in json.load(sys.stdin)], sys.stdout)
