#!/usr/bin/env python3
"""Writes v1.json, the test vectors of the mfa-push protocol, version 1.

An implementation of PROTOCOL.md sections 2 to 5 independent of the Rust crate: the canonical encoding,
base64url and the enrollment URI by hand, the signatures with OpenSSL through the `cryptography` package
(44 or later: Ed25519, and ECDSA P-256 with RFC 6979 deterministic k). Run from anywhere:

    python3 crates/mfa-push/vectors/generate.py

The crate's tests (tests/vectors.rs) check the file both ways.
"""

import base64
import hashlib
import json
import os
import struct
import urllib.parse

import cryptography
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def labelled(label: str) -> bytes:
    """Fixed key material: the SHA-256 of a label, so anyone can make it again."""
    return sha256(label.encode("ascii"))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# Section 4: field = 4-byte big-endian length || bytes; text as UTF-8, int as 8-byte big-endian signed.
def field(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def text(s: str) -> bytes:
    return field(s.encode("utf-8"))


def integer(n: int) -> bytes:
    return field(struct.pack(">q", n))


def raw(b: bytes) -> bytes:
    return field(b)


def canonical(tag: str, *fields: bytes) -> bytes:
    return text(tag) + b"".join(fields)


def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# Section 3: keys.
SERVICE_LABEL = "mfa-push test vector: service key"
P256_LABEL = "mfa-push test vector: device P-256 key"
ED25519_LABEL = "mfa-push test vector: device Ed25519 key"

service_seed = labelled(SERVICE_LABEL)
service = ed25519.Ed25519PrivateKey.from_private_bytes(service_seed)
service_public = service.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

p256_scalar = labelled(P256_LABEL)
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
assert 0 < int.from_bytes(p256_scalar, "big") < P256_N
p256 = ec.derive_private_key(int.from_bytes(p256_scalar, "big"), ec.SECP256R1())
p256_public = p256.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

ed_seed = labelled(ED25519_LABEL)
ed = ed25519.Ed25519PrivateKey.from_private_bytes(ed_seed)
ed_public = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_es256(message: bytes) -> bytes:
    der = p256.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign_ed25519(key, message: bytes) -> bytes:
    return key.sign(message)


DEVICES = {
    "device_p256": ("ES256", p256_public, sign_es256),
    "device_ed25519": ("Ed25519", ed_public, lambda m: sign_ed25519(ed, m)),
}

# Section 5.1: the offer.
BASE_URL = "https://example.com/mfa/push"
ENROLLMENT_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SECRET = labelled("mfa-push test vector: enrollment secret")
EXPIRES_AT = 1700000240
ISSUER = "Example Corp"
ACCOUNT = "alice@example.com"


def enc(s: str) -> str:
    # RFC 3986 unreserved characters stay; every other byte of the UTF-8 is %XX (upper-case hex).
    return urllib.parse.quote(s, safe="-._~")


URI = (
    f"mfa-push://enroll?v=1&url={enc(BASE_URL)}&id={ENROLLMENT_ID}&secret={b64(SECRET)}&exp={EXPIRES_AT}"
    f"&key={b64(service_public)}&issuer={enc(ISSUER)}&account={enc(ACCOUNT)}"
)

DEVICE_IDS = {"device_p256": "5a1b2c3d4e5f60718293a4b5c6d7e8f9", "device_ed25519": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}
CHALLENGE_1 = "c0ffee00c0ffee00c0ffee00c0ffee00"
CHALLENGE_2 = "c0ffee01c0ffee01c0ffee01c0ffee01"


def nonce(n: int) -> bytes:
    return labelled(f"mfa-push test vector: nonce {n}")[:16]


messages = {}


def enrollment_answer(name, device, label, wake_kind, wake_address):
    algorithm, public, sign = DEVICES[device]
    c = canonical(
        "mfa-push/v1/enrollment-answer",
        text(ENROLLMENT_ID),
        raw(SECRET),
        text(algorithm),
        raw(public),
        text(label),
        text(wake_kind),
        text(wake_address),
    )
    sig = sign(c)
    wake = {"kind": wake_kind}
    if wake_address:
        wake["address"] = wake_address
    body = {
        "v": 1,
        "enrollment_id": ENROLLMENT_ID,
        "secret": b64(SECRET),
        "algorithm": algorithm,
        "public_key": b64(public),
        "label": label,
        "wake": wake,
        "signature": b64(sig),
    }
    messages[name] = {
        "tag": "mfa-push/v1/enrollment-answer",
        "signer": device,
        "values": {
            "enrollment_id": ENROLLMENT_ID,
            "secret": SECRET.hex(),
            "algorithm": algorithm,
            "public_key": public.hex(),
            "label": label,
            "wake_kind": wake_kind,
            "wake_address": wake_address,
        },
        "canonical": c.hex(),
        "signature": sig.hex(),
        "json": compact(body),
    }


def receipt(name, device):
    algorithm, public, _ = DEVICES[device]
    c = canonical(
        "mfa-push/v1/enrollment-receipt", text(ENROLLMENT_ID), text(DEVICE_IDS[device]), text(algorithm), raw(public)
    )
    sig = service.sign(c)
    messages[name] = {
        "tag": "mfa-push/v1/enrollment-receipt",
        "signer": "service",
        "values": {
            "enrollment_id": ENROLLMENT_ID,
            "device_id": DEVICE_IDS[device],
            "algorithm": algorithm,
            "public_key": public.hex(),
        },
        "canonical": c.hex(),
        "signature": sig.hex(),
        "json": compact({"v": 1, "device_id": DEVICE_IDS[device], "signature": b64(sig)}),
    }


def challenge(name, challenge_id, device, user, application, client_ip, location, created_at, expires_at, digits):
    c = canonical(
        "mfa-push/v1/challenge",
        text(challenge_id),
        text(DEVICE_IDS[device]),
        text(user),
        text(application),
        text(client_ip),
        text(location),
        integer(created_at),
        integer(expires_at),
        integer(digits),
    )
    sig = service.sign(c)
    item = {
        "challenge_id": challenge_id,
        "device_id": DEVICE_IDS[device],
        "user": user,
        "application": application,
        "client_ip": client_ip,
        "location": location,
        "created_at": created_at,
        "expires_at": expires_at,
        "digits": digits,
    }
    messages[name] = {
        "tag": "mfa-push/v1/challenge",
        "signer": "service",
        "values": dict(item),
        "canonical": c.hex(),
        "signature": sig.hex(),
        # One item of the `challenges` list of the fetch reply.
        "json": compact({**item, "signature": b64(sig)}),
    }
    return {**item, "signature": b64(sig)}


def fetch(name, device, timestamp, n):
    algorithm, _, sign = DEVICES[device]
    c = canonical("mfa-push/v1/fetch", text(DEVICE_IDS[device]), integer(timestamp), raw(nonce(n)))
    sig = sign(c)
    messages[name] = {
        "tag": "mfa-push/v1/fetch",
        "signer": device,
        "values": {"device_id": DEVICE_IDS[device], "timestamp": timestamp, "nonce": nonce(n).hex()},
        "canonical": c.hex(),
        "signature": sig.hex(),
        "json": compact(
            {"v": 1, "device_id": DEVICE_IDS[device], "timestamp": timestamp, "nonce": b64(nonce(n)), "signature": b64(sig)}
        ),
    }


def answer(name, device, timestamp, n, challenge_id, decision, number):
    _, _, sign = DEVICES[device]
    c = canonical(
        "mfa-push/v1/answer",
        text(DEVICE_IDS[device]),
        integer(timestamp),
        raw(nonce(n)),
        text(challenge_id),
        text(decision),
        text(number),
    )
    sig = sign(c)
    body = {
        "v": 1,
        "device_id": DEVICE_IDS[device],
        "timestamp": timestamp,
        "nonce": b64(nonce(n)),
        "challenge_id": challenge_id,
        "decision": decision,
    }
    if decision == "approve":
        body["number"] = number
    body["signature"] = b64(sig)
    messages[name] = {
        "tag": "mfa-push/v1/answer",
        "signer": device,
        "values": {
            "device_id": DEVICE_IDS[device],
            "timestamp": timestamp,
            "nonce": nonce(n).hex(),
            "challenge_id": challenge_id,
            "decision": decision,
            "number": number,
        },
        "canonical": c.hex(),
        "signature": sig.hex(),
        "json": compact(body),
    }


def wake(name, device, challenge_id):
    c = canonical("mfa-push/v1/wake", text(DEVICE_IDS[device]), text(challenge_id))
    sig = service.sign(c)
    messages[name] = {
        "tag": "mfa-push/v1/wake",
        "signer": "service",
        "values": {"device_id": DEVICE_IDS[device], "challenge_id": challenge_id},
        "canonical": c.hex(),
        "signature": sig.hex(),
        "json": compact({"v": 1, "device_id": DEVICE_IDS[device], "challenge_id": challenge_id, "signature": b64(sig)}),
    }


enrollment_answer("enrollment_answer_es256", "device_p256", "Pixel 8", "poll", "")
enrollment_answer(
    "enrollment_answer_ed25519", "device_ed25519", "Téléphone d’Alice", "webhook", "https://relay.example/wake/42"
)
receipt("enrollment_receipt_es256", "device_p256")
receipt("enrollment_receipt_ed25519", "device_ed25519")
item_1 = challenge(
    "challenge_es256",
    CHALLENGE_1,
    "device_p256",
    "alice@example.com",
    "Example Mail",
    "203.0.113.7",
    "Paris, France",
    1700000300,
    1700000420,
    2,
)
challenge(
    "challenge_ed25519_three_digits",
    CHALLENGE_2,
    "device_ed25519",
    "alice@example.com",
    "Example Files",
    "2001:db8::7",
    "",
    1700000500,
    1700000560,
    3,
)
fetch("fetch_es256", "device_p256", 1700000302, 1)
fetch("fetch_ed25519", "device_ed25519", 1700000503, 2)
answer("answer_approve_es256", "device_p256", 1700000310, 3, CHALLENGE_1, "approve", "42")
answer("answer_deny_ed25519", "device_ed25519", 1700000510, 4, CHALLENGE_2, "deny", "")
answer("answer_report_es256", "device_p256", 1700000311, 5, CHALLENGE_1, "report", "")
wake("wake_es256", "device_p256", CHALLENGE_1)

secret_input = canonical("mfa-push/v1/enrollment-secret", raw(SECRET))

vectors = {
    "protocol": "mfa-push",
    "version": 1,
    "produced_by": (
        "vectors/generate.py: an implementation of PROTOCOL.md independent of the crate, signatures by OpenSSL "
        f"through the Python package cryptography {cryptography.__version__} (ECDSA P-256 with RFC 6979 "
        "deterministic k and SHA-256; Ed25519)"
    ),
    "keys": {
        "service": {
            "seed_label": SERVICE_LABEL,
            "seed": service_seed.hex(),
            "public_key": service_public.hex(),
        },
        "device_p256": {
            "scalar_label": P256_LABEL,
            "algorithm": "ES256",
            "scalar": p256_scalar.hex(),
            "public_key": p256_public.hex(),
            "device_id": DEVICE_IDS["device_p256"],
        },
        "device_ed25519": {
            "seed_label": ED25519_LABEL,
            "algorithm": "Ed25519",
            "seed": ed_seed.hex(),
            "public_key": ed_public.hex(),
            "device_id": DEVICE_IDS["device_ed25519"],
        },
    },
    "enrollment_offer": {
        "base_url": BASE_URL,
        "enrollment_id": ENROLLMENT_ID,
        "secret": SECRET.hex(),
        "expires_at": EXPIRES_AT,
        "service_key": service_public.hex(),
        "issuer": ISSUER,
        "account": ACCOUNT,
        "uri": URI,
    },
    "secret_digest": {"canonical": secret_input.hex(), "sha256": sha256(secret_input).hex()},
    "canonical_example": {
        "about": "PROTOCOL.md section 4: the fetch request of device d1 at 1700000000 with 16 zero bytes of nonce",
        "canonical": canonical("mfa-push/v1/fetch", text("d1"), integer(1700000000), raw(bytes(16))).hex(),
    },
    "messages": messages,
    "pending_reply": compact({"v": 1, "server_time": 1700000301, "challenges": [item_1]}),
    "answer_result": compact({"v": 1, "result": "approved"}),
    "error_body": compact({"v": 1, "error": "clock_skew", "server_time": 1700000400}),
}

with open(os.path.join(HERE, "v1.json"), "w", encoding="utf-8") as out:
    json.dump(vectors, out, indent=2, ensure_ascii=False)
    out.write("\n")
