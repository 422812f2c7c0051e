#!/usr/bin/env python3
"""Regenerates expected.jsonl: what pyotp reads from the URIs mfa-enroll builds, and what pyotp builds.

pyotp refuses secrets under 112 bits, so the cases use longer ones. Run from anywhere: python3 crates/mfa-enroll/tests/data/pyotp/gen.py  (needs `pip install pyotp` and cargo).
For each credential in cases.jsonl it records:
  ours       the URI mfa-enroll builds (examples/interop_uris.rs)
  pyotp_read what pyotp.parse_uri reads from `ours` (type, issuer, account, secret, algorithm, digits,
             period, counter)
  pyotp_uri  the URI pyotp itself builds for the credential
  code       pyotp's code at Unix time 1700000000 (TOTP) or at the counter (HOTP)
The Rust test tests/pyotp_interop.rs checks all four against the crate.
"""
import hashlib
import json
import os
import subprocess

import pyotp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
T = 1700000000

with open(os.path.join(HERE, "cases.jsonl"), encoding="utf-8") as f:
    lines = [line for line in f if line.strip()]
cases = [json.loads(line) for line in lines]
ours = subprocess.run(
    ["cargo", "run", "-q", "-p", "mfa-enroll", "--example", "interop_uris"],
    input="".join(lines), capture_output=True, text=True, check=True, cwd=ROOT,
).stdout.splitlines()
assert len(ours) == len(cases)

with open(os.path.join(HERE, "expected.jsonl"), "w", encoding="utf-8") as out:
    for case, uri in zip(cases, ours):
        otp = pyotp.parse_uri(uri)
        is_hotp = isinstance(otp, pyotp.HOTP)
        read = {
            "type": "hotp" if is_hotp else "totp",
            "issuer": otp.issuer,
            "account": otp.name,
            "secret": otp.secret,
            "algorithm": otp.digest().name.upper(),
            "digits": otp.digits,
            "period": None if is_hotp else otp.interval,
            "counter": otp.initial_count if is_hotp else None,
        }
        digest = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}[case["algorithm"]]
        if case["type"] == "hotp":
            mine = pyotp.HOTP(case["secret"], digits=case["digits"], digest=getattr(hashlib, digest),
                              name=case["account"], issuer=case["issuer"], initial_count=case["counter"])
            pyotp_uri = mine.provisioning_uri()
            code = mine.at(0)  # at(0) is the code of initial_count
        else:
            mine = pyotp.TOTP(case["secret"], digits=case["digits"], digest=getattr(hashlib, digest),
                              name=case["account"], issuer=case["issuer"], interval=case["period"])
            pyotp_uri = mine.provisioning_uri()
            code = mine.at(T)
        out.write(json.dumps({"case": case, "ours": uri, "pyotp_read": read, "pyotp_uri": pyotp_uri,
                              "code": code}, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} records")
