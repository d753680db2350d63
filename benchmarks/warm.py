#!/usr/bin/env python3
"""Warm single decisions: what a long-running process (``mrs-asp serve``) pays per case.

    python benchmarks/warm.py [--n 10000] [--seed 1] [--no-missing]

Builds the process's warm engine (mrs_asp/warm.py) once, decides one case to
warm it, then decides N generated cases one call at a time, with what is
missing, and prints the median, p90, p99 and max of each call's wall-clock
time and of its CPU time (the CPU time is what other tenants of the machine
do not inflate). Targets (issue 14): median under 1 ms, p99 under 5 ms.
Prints how many cases fell beyond the generic grounding's slots (decided by
the batch path). Figures, not a test: always exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from generate import generate  # noqa: E402

from mrs_asp import parse_case  # noqa: E402
from mrs_asp.warm import warm_engine_for  # noqa: E402

TARGET_MEDIAN_MS = 1.0
TARGET_P99_MS = 5.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(n: int, seed: int, missing: bool) -> dict:
    cases = [parse_case(json.dumps(d), f"generated {i}").case
             for i, d in enumerate(generate(n, seed=seed))]
    started = time.perf_counter()
    engine = warm_engine_for()
    engine.decide(cases[0], missing)  # builds the abduction's grounding too
    build_ms = (time.perf_counter() - started) * 1000
    beyond = sum(1 for c in cases if engine.beyond_slots(c))
    wall: list[float] = []
    cpu: list[float] = []
    clock, cpu_clock = time.perf_counter, time.thread_time
    for case in cases:
        w0, c0 = clock(), cpu_clock()
        engine.decide(case, missing)
        cpu.append((cpu_clock() - c0) * 1000)
        wall.append((clock() - w0) * 1000)
    return {"n": n, "build_ms": build_ms, "beyond": beyond, "wall": wall, "cpu": cpu}


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-missing", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.n, args.seed, not args.no_missing)
    print(f"warm engine: built and warmed in {result['build_ms']:.0f} ms; "
          f"{result['n']} decisions{'' if not args.no_missing else ' (no missing)'}, "
          f"{result['beyond']} beyond the slots (batch path)")
    for label in ("wall", "cpu"):
        s = summary(result[label])
        verdict = ("PASS" if s["median"] < TARGET_MEDIAN_MS and s["p99"] < TARGET_P99_MS
                   else "MISS")
        print(f"  {label:4} ms per decision: median {s['median']:.3f}  p90 {s['p90']:.3f}  "
              f"p99 {s['p99']:.3f}  max {s['max']:.1f}  "
              f"(targets: median < {TARGET_MEDIAN_MS:g}, p99 < {TARGET_P99_MS:g}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
