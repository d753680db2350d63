#!/usr/bin/env python3
"""A bounded load generator for `mrs-asp serve`, on loopback.

    .venv/bin/python benchmarks/serve_load.py                 # 1, 8, 32 clients, 5 s each,
                                                              # then 8 clients at 500/s
    .venv/bin/python benchmarks/serve_load.py --seconds 2 --clients 8
    .venv/bin/python benchmarks/serve_load.py --url http://127.0.0.1:8080   # a running service

It starts its own `mrs-asp serve` (the one beside sys.executable) on a free
loopback port with a fresh decision log (recording on; --durability full, the
default, or normal to compare) unless --url is given, then for each number of
clients runs that many concurrent httpx clients for --seconds, each sending
one request after another, and prints per endpoint: requests, decisions/s,
p50 and p99 latency.

Endpoints measured:
- `POST /v1/decisions`: the cases of benchmarks/generate.py (seed 1), in turn;
- `POST /cds-services/mrs-asp-order-sign` (CRD): CDS Hooks requests built
  from the same cases with tests/fhir_builders.py. The service runs with
  --no-auth here: a token per call would measure the client's signing more
  than the service.

It always stops by itself: each phase is bounded in time, the whole run in
requests (--max-requests per phase).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

CRD_PATH = "/cds-services/mrs-asp-order-sign"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: Path, durability: str = "full") -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).with_name("mrs-asp")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mrs_asp.cli"]
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--db", str(db), "--no-auth",
         "--no-access-log", "--durability", durability],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit("mrs-asp serve did not start")
        time.sleep(0.1)
    process.kill()
    raise SystemExit("mrs-asp serve did not become ready")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def crd_bodies(cases: list[dict]) -> list[bytes] | None:
    """CDS Hooks order-sign requests for the cases, built with tests/fhir_builders.py:
    the order from the case's request, every other fact as questionnaire answers
    (the Patient without a birthDate, so the case's own ages stand)."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import fhir_builders as fb  # type: ignore[import-not-found]
    except ImportError:
        return None
    patient = {k: v for k, v in fb.PATIENT.items() if k != "birthDate"}
    bodies = []
    for case in cases:
        request = case["request"]
        order = fb.service_request("sr1", request["date"], request["cpt"],
                                   fb.REGION_SITES[request["body_region"]])
        answers = fb.questionnaire_response(fb.qr_items(fb.case_as_answers(case)))
        bodies.append(json.dumps(fb.crd_request([order], [answers], patient=patient)).encode())
    return bodies


class RawClient:
    """One keep-alive HTTP/1.1 connection over asyncio streams: a few microseconds of
    client CPU per request where httpx spends about a millisecond, which on a
    2-core machine shared with the service would otherwise be most of what is
    measured. Answers must carry Content-Length (the service's do)."""

    def __init__(self, url: str) -> None:
        host_port = url.split("://", 1)[1].rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> "RawClient":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()

    async def post(self, path: str, content: bytes, headers: dict | None = None) -> "RawAnswer":
        assert self.reader is not None and self.writer is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(content)}\r\n\r\n".encode() + content)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return RawAnswer(status, body)


class RawAnswer:
    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content


async def phase(url: str, path: str, bodies: list[bytes], clients: int, seconds: float,
                max_requests: int, rate: float | None = None, raw: bool = True) -> dict:
    """Closed loop (``rate`` None): each client sends its next request as soon as the
    last is answered. Open loop: the clients together send ``rate`` requests a
    second on a fixed schedule, and a latency counts from the scheduled time (a
    request held up by a slow one before it is not forgiven its wait)."""
    latencies: list[float] = []
    errors = 0
    began = time.perf_counter()
    stop_at = began + seconds
    counter = iter(range(max_requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(worker: int) -> None:
        if raw:
            async with RawClient(url) as http:
                await run(http, worker)
        else:
            async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
                await run(http, worker)

    async def run(http, worker: int) -> None:
        nonlocal errors
        for n in counter:
            due = began + n / rate if rate else time.perf_counter()
            if due >= stop_at:
                return
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            body = bodies[(n * 7 + worker) % len(bodies)]
            response = await http.post(path, content=body,
                                       headers={"content-type": "application/json"})
            latencies.append(time.perf_counter() - due)
            if response.status_code >= 300:
                errors += 1

    await asyncio.gather(*(client(w) for w in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "path": path, "clients": clients, "rate": rate, "requests": len(latencies),
        "errors": errors,
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="measure a running service instead of starting one")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per phase")
    parser.add_argument("--cases", type=int, default=500, help="distinct cases sent")
    parser.add_argument("--rate", type=float, nargs="*", default=[500.0],
                        help="also run open-loop phases at these total requests/s "
                             "(with 8 clients); none: closed loop only")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="raw: a minimal asyncio HTTP/1.1 client (default); httpx: "
                             "one httpx.AsyncClient per client, heavier")
    parser.add_argument("--durability", choices=["full", "normal"], default="full",
                        help="the started service's --durability")
    args = parser.parse_args()

    cases = generate(args.cases, seed=1)
    decision_bodies = [json.dumps(c).encode() for c in cases]
    tmp = tempfile.TemporaryDirectory(prefix="mrs-asp-load-")
    process = None
    url = args.url
    if url is None:
        process, url = start(Path(tmp.name) / "decisions.sqlite3", args.durability)
    try:
        targets = [("/v1/decisions", decision_bodies)]
        crd = crd_bodies(cases)
        probe = crd and httpx.post(f"{url}{CRD_PATH}", content=crd[0], timeout=30)
        if crd and probe.status_code == 200:
            targets.append((CRD_PATH, crd))
        elif not args.json:
            print(f"(no CRD figures: {CRD_PATH} or tests/fhir_builders.py missing)")
        load = os.getloadavg()
        if not args.json:
            print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
                  f"({os.cpu_count()} cores)")
            print(f"{'endpoint':<34} {'clients':>7} {'offered':>8} {'requests':>8} "
                  f"{'errors':>6} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'server CPU ms/req':>17}")
        phases = [(c, None) for c in args.clients] + [(8, r) for r in args.rate or ()]
        for path, bodies in targets:
            for clients, rate in phases:
                pid = process.pid if process is not None else None
                cpu = cpu_seconds(pid)
                result = asyncio.run(phase(url, path, bodies, clients, args.seconds,
                                           args.max_requests, rate, args.client == "raw"))
                if pid is not None and result["requests"]:
                    result["server_cpu_ms"] = ((cpu_seconds(pid) - cpu) * 1000
                                               / result["requests"])
                if args.json:
                    print(json.dumps(result))
                else:
                    offered = f"{rate:.0f}/s" if rate else "max"
                    print(f"{path:<34} {clients:>7} {offered:>8} {result['requests']:>8} "
                          f"{result['errors']:>6} {result['per_second']:>8.0f} "
                          f"{result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
                          f"{result.get('server_cpu_ms', float('nan')):>17.2f}")
        if not args.json:
            load = os.getloadavg()
            print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        tmp.cleanup()


if __name__ == "__main__":
    main()
