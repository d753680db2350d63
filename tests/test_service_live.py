"""The real ``mrs-asp serve``, started on a free loopback port, called over HTTP:
decisions, the body limit on a streamed body, graceful SIGTERM, and the decision
log after a SIGKILL under load."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mrs_asp.service.store import DecisionLog

ROOT = Path(__file__).parents[1]
CASES = ROOT / "cases"
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    db: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_server(db: Path, *extra: str, timeout: float = 30) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mrs_asp.cli", "serve", "--port", str(port), "--db", str(db),
         "--no-access-log", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mrs-asp serve exited: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return Server(process, url, db)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("mrs-asp serve did not become ready")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("live") / "decisions.sqlite3", "--no-auth")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_success_decision_over_http_and_in_the_log(server: Server) -> None:
    body = (CASES / "78-no-imaging-documented-denied.json").read_bytes()
    response = httpx.post(f"{server.url}/v1/decisions", content=body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["determination"] == "denied" and answer["missing"]
    decision_id = response.headers["location"].rsplit("/", 1)[1]
    record = DecisionLog(server.db).get(decision_id)
    assert record is not None and json.loads(record.answer) == answer
    assert record.input == body


def test_fail_streamed_body_over_the_limit_is_413(server: Server) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"id": "big", "title": "'
        for _ in range(1100):  # over the default 1 MiB
            yield b"x" * 1024
        yield b'"}'

    response = httpx.post(f"{server.url}/v1/decisions", content=chunks())
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_success_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    running = start_server(tmp_path / "d.sqlite3", "--no-auth")
    cases = generate(1500, seed=7)
    body = "\n".join(json.dumps(c) for c in cases).encode()
    port = int(running.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/v1/decisions:batch", body=body)  # sent whole
    time.sleep(0.1)
    signalled_at = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    response = connection.getresponse()
    text = response.read().decode()
    answered_at = time.monotonic()
    # uvicorn finishes the requests in flight, shuts down, then re-raises the signal
    # (so the process ends "killed by SIGTERM", as service managers expect).
    assert running.process.wait(60) == -signal.SIGTERM
    assert answered_at > signalled_at + 0.05  # it was still being decided
    assert response.status == 200
    lines = text.splitlines()
    assert len(lines) == len(cases) and all("decision" in json.loads(line) for line in lines)
    assert DecisionLog(running.db).count() == len(cases)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{running.url}/healthz", timeout=1)


def test_success_every_answered_decision_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "d.sqlite3"
    running = start_server(db, "--no-auth")
    cases = [json.dumps(c).encode() for c in generate(2000, seed=11)]
    answered: dict[str, dict] = {}

    async def client(worker: int) -> None:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
            for body in cases[worker::8]:
                try:
                    response = await http.post("/v1/decisions", content=body)
                except httpx.TransportError:
                    return
                assert response.status_code == 201
                answered[response.headers["location"].rsplit("/", 1)[1]] = response.json()

    async def load() -> None:
        workers = [asyncio.create_task(client(w)) for w in range(8)]
        while len(answered) < 60:
            await asyncio.sleep(0.01)
        running.process.send_signal(signal.SIGKILL)
        await asyncio.gather(*workers)

    asyncio.run(asyncio.wait_for(load(), 120))
    assert running.process.wait(10) == -signal.SIGKILL
    # After the restart, every answered decision is there, whole.
    again = start_server(db, "--no-auth")
    try:
        for decision_id, answer in answered.items():
            record = httpx.get(f"{again.url}/v1/decisions/{decision_id}").json()
            assert record["answer"] == answer
            assert record["case"]["id"] == answer["id"]
        log = DecisionLog(db)
        assert log.count() >= len(answered)
        for record in log.iter_all():  # none half-written
            data = record.to_json()
            assert data["answer"]["determination"] == record.determination
            assert data["case"]["id"] == record.case_id == data["answer"]["id"]
            assert json.loads(record.input)["id"] == record.case_id
            assert record.kb_fingerprint and record.guideline_version == "2"
    finally:
        again.stop()


def test_success_a_large_batch_does_not_hold_up_other_calls(server: Server) -> None:
    """While a batch of 600 cases is decided, a health check and a single decision
    are answered long before the batch."""
    body = "\n".join(json.dumps(c) for c in generate(600, seed=5)).encode()
    single = (CASES / "45-pacemaker-conditional-approved.json").read_bytes()
    done: dict = {}

    def batch() -> None:
        httpx.post(f"{server.url}/v1/decisions:batch", content=body, timeout=120)
        done["batch"] = time.monotonic()

    started = threading.Thread(target=batch)
    started.start()
    time.sleep(0.1)  # the batch sent; deciding its 600 cases takes several times as long
    assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
    assert httpx.post(f"{server.url}/v1/decisions", content=single,
                      timeout=30).status_code == 201
    answered = time.monotonic()
    started.join(120)
    assert answered < done["batch"]
