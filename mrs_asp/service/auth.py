"""Who may call the CDS Hooks services: the JWT of CDS Hooks 2.0 ("Security").

The EHR (the CDS client) signs a JWT and sends it as ``Authorization: Bearer``.
It is accepted only when all of these hold:

- the header's ``alg`` is asymmetric (RSA, RSA-PSS, ECDSA, EdDSA): never
  ``none``, never HMAC, whatever key the attacker hopes we would use as a secret;
- ``iss`` is an allow-listed issuer, and the header's ``kid`` names a key of
  that issuer's JSON Web Key Set, configured locally (``--issuers FILE``;
  nothing is fetched from ``jku`` or elsewhere);
- the signature verifies with that key and that algorithm;
- ``aud`` is the exact URL called: ``--public-url`` plus the path
  (``https://payer.example/cds-services/mrs-asp-order-sign``);
- ``exp``, ``iat`` and ``jti`` are present, the token has not expired and was
  not issued in the future (30 seconds of clock skew allowed), and ``exp`` is
  no more than 5 minutes ahead (CDS Hooks asks EHRs for short-lived tokens;
  that also bounds how long a ``jti`` must be remembered);
- the ``jti`` was not seen before from that issuer (kept in the decision log,
  so a replay is refused after a restart too).

Anything else is 401 with problem details saying which check failed.

The issuers file is JSON, one entry per allowed issuer: its JWKS inline, or the
path of a JWKS file (relative to the issuers file)::

    {"https://ehr.example.org": {"keys": [{"kty": "EC", "kid": "ehr-1", ...}]},
     "https://other-ehr.example": "other-ehr-jwks.json"}
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from .problems import BAD_TOKEN, Problem
from ..pointers import pointer
from .store import DecisionLog

__all__ = ["ALGORITHMS", "AuthConfigError", "Issuers", "TokenVerifier"]

#: The asymmetric JWS algorithms accepted (RFC 7518, RFC 8037).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
              "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 30  # seconds of clock skew
MAX_LIFETIME = 300  # exp at most this far ahead of now (plus LEEWAY)


class AuthConfigError(ValueError):
    """The issuers file cannot be used."""


@dataclass(frozen=True)
class Issuers:
    """Allow-listed issuers and their public keys, by ``kid``."""

    keys: dict[str, dict[str, jwt.PyJWK]]

    @classmethod
    def from_file(cls, path: Path) -> "Issuers":
        data = _read_json(path)
        if not isinstance(data, dict) or not data:
            raise AuthConfigError(f"{path}: expected a JSON object mapping each issuer to its "
                                  "JSON Web Key Set (or the path of one)")
        keys: dict[str, dict[str, jwt.PyJWK]] = {}
        for issuer, jwks in data.items():
            where = f"{path}: {pointer([issuer])}"
            if isinstance(jwks, str):
                jwks = _read_json(path.parent / jwks)
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise AuthConfigError(f"{where}: expected a JSON Web Key Set "
                                      '({"keys": [...]}) or the path of one')
            keys[issuer] = {}
            for i, jwk in enumerate(jwks["keys"]):
                if not isinstance(jwk, dict) or not jwk.get("kid"):
                    raise AuthConfigError(f"{where}/keys/{i}: expected a key with a 'kid'")
                if jwk.get("kty") == "oct" or "d" in jwk:
                    raise AuthConfigError(f"{where}/keys/{i}: expected a public key "
                                          "(no symmetric keys, no private parts)")
                try:
                    keys[issuer][jwk["kid"]] = jwt.PyJWK(jwk)
                except jwt.PyJWTError as exc:
                    raise AuthConfigError(f"{where}/keys/{i}: not a usable key: {exc}") from None
        return cls(keys)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise AuthConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AuthConfigError(f"{path}: invalid JSON: {exc}") from None


def _refuse(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type=BAD_TOKEN,
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class TokenVerifier:
    """Checks a CDS Hooks call's bearer token (module docstring)."""

    def __init__(self, issuers: Issuers, log: DecisionLog) -> None:
        self.issuers = issuers
        self.log = log

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims; raises a 401 :class:`Problem` saying what failed."""
        if not authorization:
            raise _refuse("no Authorization header: expected 'Bearer' and a JWT signed by "
                          "an allowed EHR")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _refuse("expected an Authorization header 'Bearer <JWT>'")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _refuse(f"not a JWT: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise _refuse(f"algorithm {alg!r} is not accepted: expected an asymmetric one "
                          f"({', '.join(ALGORITHMS)})")
        issuer = unverified.get("iss")
        keys = self.issuers.keys.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise _refuse(f"issuer {issuer!r} is not allowed to call this service")
        kid = header.get("kid")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise _refuse(f"key {kid!r} is not a key of issuer {issuer!r}")
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=audience,
                                issuer=issuer, leeway=LEEWAY,
                                options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.ExpiredSignatureError:
            raise _refuse("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise _refuse(f"the token's aud is not this service's URL {audience!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _refuse(f"the token has no {exc.claim!r} claim") from None
        except jwt.ImmatureSignatureError:
            raise _refuse("the token was issued in the future") from None
        except jwt.InvalidSignatureError:
            raise _refuse("the token's signature does not verify") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise _refuse(f"the token does not verify: {exc}") from None
        now = time.time()
        if claims["exp"] > now + MAX_LIFETIME + LEEWAY:
            raise _refuse(f"the token expires more than {MAX_LIFETIME} seconds from now")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise _refuse("the token's jti is not a non-empty string")
        if not self.log.first_use_of_token(issuer, jti, int(claims["exp"])):
            raise _refuse("the token was already used (jti replayed)")
        return claims
