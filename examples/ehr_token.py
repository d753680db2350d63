#!/usr/bin/env python3
"""Play the EHR for a local trial of the CDS Hooks services of `mrs-asp serve`.

    python examples/ehr_token.py keys [DIR]      # DIR/ehr-key.pem and DIR/issuers.json
    python examples/ehr_token.py token URL [DIR] # a CDS Hooks JWT for the service URL

`keys` makes an ES384 key pair for the issuer https://ehr.example.org and
writes the issuers file `mrs-asp serve --issuers` reads (the public key as a
JSON Web Key Set). `token` prints a JWT signed with that key: iss, aud = URL
(the exact service URL called), iat, exp five minutes ahead, a fresh jti.
Each token can be used once.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER = "https://ehr.example.org"
KID = "ehr-1"


def keys(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    (directory / "ehr-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    public = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": KID}
    (directory / "issuers.json").write_text(json.dumps({ISSUER: {"keys": [public]}}, indent=2))


def token(url: str, directory: Path) -> str:
    key = serialization.load_pem_private_key((directory / "ehr-key.pem").read_bytes(), None)
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": url, "iat": now, "exp": now + 300,
                       "jti": str(uuid.uuid4())}, key, algorithm="ES384",
                      headers={"kid": KID, "typ": "JWT"})


def main(argv: list[str]) -> None:
    if argv[:1] == ["keys"] and len(argv) <= 2:
        keys(Path(argv[1] if len(argv) > 1 else "."))
    elif argv[:1] == ["token"] and 2 <= len(argv) <= 3:
        print(token(argv[1], Path(argv[2] if len(argv) > 2 else ".")))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
