"""Who may call the CDS Hooks services: the CDS Hooks JWT, checked against the
locally configured JWKS of allow-listed issuers (mrs_asp/service/auth.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from litestar.testing import TestClient
from typer.testing import CliRunner

from mrs_asp.cli import app as cli
from mrs_asp.service.app import create_app
from mrs_asp.service.config import ServiceConfig

EHR = "https://ehr.example.org"
BASE = "http://testserver.local"
PATH = "/cds-services/mrs-asp-order-sign/feedback"
FEEDBACK = json.dumps({"feedback": [{"card": "f3b5c4e0-0000-4000-8000-000000000001",
                                     "outcome": "accepted",
                                     "outcomeTimestamp": "2026-03-02T10:00:00Z"}]})

EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


def _jwk(algorithm, key, kid: str) -> dict:
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


@pytest.fixture(scope="module")
def issuers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("auth")
    (directory / "rsa-jwks.json").write_text(json.dumps(
        {"keys": [_jwk(RSAAlgorithm, RSA_KEY, "ehr-rsa")]}))
    path = directory / "issuers.json"
    path.write_text(json.dumps({
        EHR: {"keys": [_jwk(ECAlgorithm, EC_KEY, "ehr-ec")]},
        "https://rsa-ehr.example.org": "rsa-jwks.json",
    }))
    return path


@pytest.fixture(scope="module")
def client(issuers: Path, tmp_path_factory: pytest.TempPathFactory):
    config = ServiceConfig(db=tmp_path_factory.mktemp("db") / "d.sqlite3", issuers=issuers,
                           public_url=BASE)
    with TestClient(create_app(config), base_url=BASE) as c:
        yield c


def claims(**changes) -> dict:
    now = int(time.time())
    out = {"iss": EHR, "aud": BASE + PATH, "exp": now + 300, "iat": now,
           "jti": str(uuid.uuid4())}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def token(payload: dict | None = None, key=EC_KEY, alg: str = "ES384",
          kid: str = "ehr-ec") -> str:
    return jwt.encode(payload or claims(), key, algorithm=alg, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()),
                     _b64(signature)])


def call(client: TestClient, bearer: str | None):
    headers = {"authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.post(PATH, content=FEEDBACK, headers=headers)


def refused(response, words: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert words in response.json()["detail"]


def test_success_valid_token_passes_and_feedback_is_recorded(client: TestClient) -> None:
    response = call(client, token())
    assert response.status_code == 200
    log = client.app.state.decider.log
    assert [row[0] for row in log.feedback("mrs-asp-order-sign")][-1] == response.json()["id"]


def test_success_rsa_issuer_from_a_jwks_file(client: TestClient) -> None:
    payload = claims(iss="https://rsa-ehr.example.org")
    assert call(client, token(payload, RSA_KEY, "RS384", "ehr-rsa")).status_code == 200


def test_fail_expired(client: TestClient) -> None:
    now = int(time.time())
    refused(call(client, token(claims(exp=now - 120, iat=now - 400))), "expired")


def test_fail_wrong_audience(client: TestClient) -> None:
    refused(call(client, token(claims(aud=BASE + "/cds-services/other"))), "aud")


def test_fail_unknown_issuer(client: TestClient) -> None:
    refused(call(client, token(claims(iss="https://rogue.example.org"))), "not allowed")


def test_fail_alg_none(client: TestClient) -> None:
    refused(call(client, unsigned({"alg": "none", "typ": "JWT", "kid": "ehr-ec"}, claims())),
            "'none' is not accepted")


def test_fail_hmac_with_the_public_key_as_secret(client: TestClient) -> None:
    secret = EC_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "ehr-ec"}
    head = unsigned(header, claims()).rsplit(".", 1)[0]
    signature = hmac.new(secret, head.encode(), hashlib.sha256).digest()
    refused(call(client, f"{head}.{_b64(signature)}"), "'HS256' is not accepted")


def test_fail_replayed_jti(client: TestClient) -> None:
    once = token()
    assert call(client, once).status_code == 200
    refused(call(client, once), "already used")


def test_fail_signed_by_another_key(client: TestClient) -> None:
    refused(call(client, token(key=OTHER_KEY)), "signature")


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud"])
def test_fail_missing_claim(client: TestClient, claim: str) -> None:
    refused(call(client, token(claims(**{claim: None}))), repr(claim))


def test_fail_long_lived_token(client: TestClient) -> None:
    refused(call(client, token(claims(exp=int(time.time()) + 3600))), "more than 300 seconds")


def test_fail_unknown_kid_and_no_header(client: TestClient) -> None:
    refused(call(client, token(kid="nobody")), "'nobody' is not a key")
    refused(call(client, None), "no Authorization header")
    refused(client.post(PATH, content=FEEDBACK, headers={"authorization": "Basic abc"}),
            "Bearer")


def test_success_discovery_needs_no_token(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"order-sign", "order-select"}
    assert all(s["prefetch"]["patient"] == "Patient/{{context.patientId}}" for s in services)


def test_fail_no_issuers_configured_refuses_everyone(tmp_path: Path) -> None:
    config = ServiceConfig(db=tmp_path / "d.sqlite3", public_url=BASE)
    with TestClient(create_app(config), base_url=BASE) as c:
        refused(call(c, token()), "not allowed")


def test_success_no_auth_lets_anyone_call(tmp_path: Path) -> None:
    config = ServiceConfig(db=tmp_path / "d.sqlite3", no_auth=True)
    with TestClient(create_app(config), base_url=BASE) as c:
        assert call(c, None).status_code == 200


def test_fail_bad_feedback_is_a_problem(client: TestClient) -> None:
    response = client.post(PATH, content=b'{"feedback": [{"card": "x"}]}',
                           headers={"authorization": f"Bearer {token()}"})
    assert response.status_code == 422
    assert response.json()["detail"] == ("/feedback/0/outcome: expected one of 'accepted', "
                                         "'overridden'")


def test_fail_issuers_file_with_a_secret_key(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({EHR: {"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}}))
    result = CliRunner().invoke(cli, ["serve", "--issuers", str(path),
                                      "--db", str(tmp_path / "d.sqlite3")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"mrs-asp: {path}: /https:~1~1ehr.example.org/keys/0: expected a public key "
        "(no symmetric keys, no private parts)")


def test_success_the_readmes_cds_hooks_call(tmp_path: Path) -> None:
    """examples/ehr_token.py's keys and token, examples/crd-order-sign.json: answered."""
    import importlib.util
    root = Path(__file__).parents[1]
    spec = importlib.util.spec_from_file_location("ehr_token", root / "examples" / "ehr_token.py")
    ehr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ehr)
    ehr.keys(tmp_path)
    url = "http://127.0.0.1:8080"
    config = ServiceConfig(db=tmp_path / "d.sqlite3", issuers=tmp_path / "issuers.json")
    assert config.service_url == url
    with TestClient(create_app(config), base_url=url) as c:
        path = "/cds-services/mrs-asp-order-sign"
        bearer = ehr.token(url + path, tmp_path)
        response = c.post(path, content=(root / "examples" / "crd-order-sign.json").read_bytes(),
                          headers={"authorization": f"Bearer {bearer}",
                                   "content-type": "application/json"})
        assert response.status_code == 200
        assert response.json()["cards"][0]["indicator"] == "info"
        assert c.post(path, content=b"{}", headers={"authorization": f"Bearer {bearer}"}
                      ).status_code == 401  # the same token again


def test_success_openapi_declares_the_cds_hooks_token(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["cdsHooksJwt"]["scheme"] == "bearer"
    assert document["paths"]["/cds-services/{service_id}"]["post"]["security"] == [
        {"cdsHooksJwt": []}]
    assert "security" not in document["paths"]["/cds-services"]["get"]
