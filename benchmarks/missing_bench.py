#!/usr/bin/env python3
"""Wall-clock time of ``mrs-asp missing`` on the hardest single cases (issue 13 item 1).

    .venv/bin/python benchmarks/missing_bench.py [--entries 100] [--repeat 3]
                                                 [--max-alternatives 100]

Each case documents only the request plus ``--entries`` entries of one array
(the documented limit on array entries, when there is one, is the largest
valid size), chosen so that the number of minimal alternatives explodes:

  nothing          the request only: 13 conditions x 3 ways past the appended MRI
  results-old      N old MRIs of the region without a result: 13 x N ways
  results-recent   N MRIs of the region 30 days old, no result: 13 x 3 x N ways
  mixed            N/2 recent MRIs without a result, N/4 pacemakers of unknown
                   MR status, N/4 orbit fragments of undocumented material

The installed CLI runs as a subprocess, from process start to exit, with
``--format json`` and with text. The target (issue 13): under a second for any
valid case under the limits (PASS/MISS on the wall-clock median). The wall
clock depends on the machine's load: the script prints ``os.getloadavg()``
and each run's CPU time (user + sys of the child) beside it. Exit status is
always 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0
REQUEST = {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"}


def mrs_asp_command() -> list[str]:
    beside = Path(sys.executable).parent / "mrs-asp"
    return [str(beside)] if beside.exists() else [shutil.which("mrs-asp") or "mrs-asp"]


def study(date: str) -> dict:
    return {"modality": "MRI", "body_region": "brain", "date": date}


def cases(n: int) -> dict[str, dict]:
    return {
        "nothing": {"id": "nothing", "request": dict(REQUEST)},
        "results-old": {"id": "results-old", "request": dict(REQUEST),
                        "imaging": [study("2025-06-01") for _ in range(n)]},
        "results-recent": {"id": "results-recent", "request": dict(REQUEST),
                           "imaging": [study("2026-01-31") for _ in range(n)]},
        "mixed": {"id": "mixed", "request": dict(REQUEST),
                  "imaging": [study("2026-01-31") for _ in range(max(n // 2, 1))],
                  "implants": [{"kind": "pacemaker"} for _ in range(max(n // 4, 1))],
                  "foreign_bodies": [{"location": "orbit"} for _ in range(max(n // 4, 1))]},
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], repeat: int) -> tuple[list[float], list[float], bytes, int]:
    """Wall-clock and CPU (user + sys) seconds of each run, the last output and exit."""
    seconds, cpu, out, code = [], [], b"", 0
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, capture_output=True)
        seconds.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
        out, code = proc.stdout, proc.returncode
    return seconds, cpu, out, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100,
                        help="entries of the array that multiplies the alternatives (100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (3)")
    parser.add_argument("--max-alternatives", type=int, default=100,
                        help="passed to mrs-asp (100, its default)")
    args = parser.parse_args(argv)
    cli = mrs_asp_command()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"mrs-asp missing, one case per run, {args.entries} entries, "
          f"--max-alternatives {args.max_alternatives}, {args.repeat} runs each; "
          f"load average {load} on {os.cpu_count()} cores")
    print(f"{'case':16} {'alternatives':>12} {'listed':>7} {'json median':>12} "
          f"{'(cpu)':>7} {'text median':>12} {'(cpu)':>7} {'json MB':>8}  "
          f"target < {TARGET_S:.1f} s")
    with tempfile.TemporaryDirectory(prefix="mrs-asp-missing-bench-") as tmp:
        for name, case in cases(args.entries).items():
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(case), encoding="utf-8")
            base = cli + ["missing", str(path), "--max-alternatives", str(args.max_alternatives)]
            js, js_cpu, out, code = timed(base + ["--format", "json"], args.repeat)
            text, text_cpu, _, _ = timed(base, args.repeat)
            if code != 0 or not out.strip():
                print(f"{name:16} exit {code}: {out[:200]!r}")
                continue
            answer = json.loads(out)
            listed = len(answer["missing"])
            total = answer.get("missing_total", listed)
            worst = max(statistics.median(js), statistics.median(text))
            print(f"{name:16} {total:>12,} {listed:>7} {statistics.median(js):>11.3f}s "
                  f"{statistics.median(js_cpu):>6.2f}s "
                  f"{statistics.median(text):>11.3f}s {statistics.median(text_cpu):>6.2f}s "
                  f"{len(out) / 1e6:>8.2f}  "
                  f"{'PASS' if worst < TARGET_S else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
