#!/usr/bin/env python3
"""Peak memory of reading and deciding a JSONL library, 10k against 100k cases.

    .venv/bin/python benchmarks/memory.py [--sizes 10000 100000] [--jobs 1]

For each size, writes a generated library (benchmarks/generate.py) to a
temporary folder, then in a fresh process each: reads it with
``iter_cases`` (every case validated, nothing decided), and runs
``mrs-asp evaluate --no-missing --format json`` over it with the answers
thrown away.  Prints the peak resident set size (ru_maxrss) of each process,
and of its worker processes for ``--jobs`` above 1.  Streaming input keeps
the figures flat as the library grows ten times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

READ = """
import resource, sys
from mrs_asp.loading import iter_cases
n = sum(1 for _ in iter_cases([sys.argv[1]]))
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0)
"""

EVALUATE = """
import os, resource, sys
sys.stdout = open(os.devnull, "w")
from mrs_asp.cli import app
try:
    app(["evaluate", "--no-missing", "--format", "json", "--jobs", sys.argv[2], sys.argv[1]])
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(script: str, *args: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.split()
    return time.perf_counter() - started, int(out[1]), int(out[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--jobs", default="1", help="workers for evaluate (1)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mrs-asp-memory-") as folder:
        print(f"{'cases':>8}  {'MB':>6}  {'read: s':>8}  {'peak MB':>7}  "
              f"{'evaluate: s':>11}  {'peak MB':>7}  {'workers MB':>10}")
        for size in args.sizes:
            path = Path(folder) / f"lib-{size}.jsonl"
            # in its own process: a child's peak counts the pages of the
            # process it was forked from, so this one stays small
            subprocess.run([sys.executable, str(HERE / "generate.py"), str(size), "1",
                            str(path)], check=True, capture_output=True)
            megabytes = path.stat().st_size / 1e6
            read_s, read_kb, _ = measure(READ, str(path))
            eval_s, eval_kb, workers_kb = measure(EVALUATE, str(path), args.jobs)
            print(f"{size:>8}  {megabytes:>6.1f}  {read_s:>8.2f}  {read_kb / 1024:>7.1f}  "
                  f"{eval_s:>11.2f}  {eval_kb / 1024:>7.1f}  {workers_kb / 1024:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
