#!/usr/bin/env python3
"""FHIR benchmark: 1,000 PAS request Bundles beside the same cases as plain JSON.

    python benchmarks/fhir_bench.py [--n 1000] [--seed 1] [--repeat 3]

The cases come from benchmarks/generate.py; each is written as a PAS request
Bundle that reads back to the same facts (tests/fhir_builders.py: a Procedure
and a DiagnosticReport per study, a Device per cardiac or cochlear implant, the
guideline's QuestionnaireResponse for the rest). Figures:

  1. in one process: reading the 1,000 bundles (JSON parse + mrs_asp.fhir.read)
     against deciding the same 1,000 cases (mrs_asp.decide, without and with
     what is missing): FHIR reading must cost less than the decision;
  2. the command line, end to end (start-up included), on the JSONL files:
     mrs-asp evaluate bundles.jsonl / cases.jsonl --format json [--no-missing],
     and mrs-asp evaluate bundles.jsonl --format pas -> bundles/s and cases/s.

Figures, not a test: exit status 0.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from generate import generate  # noqa: E402
import fhir_builders  # noqa: E402


def _cli() -> str:
    beside = Path(sys.executable).with_name("mrs-asp")
    return str(beside) if beside.exists() else "mrs-asp"


def _best(times: list[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from mrs_asp import decide
    from mrs_asp.cases import case_from_data
    from mrs_asp.fhir import read
    from mrs_asp.fhir.read import read_bytes

    cases = generate(args.n, seed=args.seed)
    bundles = [fhir_builders.case_as_resources(c, identifier=c["id"]) for c in cases]
    texts = [json.dumps(b).encode() for b in bundles]
    print(f"{args.n} cases (seed {args.seed}); a bundle is {statistics.mean(map(len, texts)):.0f}"
          f" bytes on average, a case {statistics.mean(len(json.dumps(c)) for c in cases):.0f}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" on {os.cpu_count()} cores (figures on a shared machine are noisy)")

    models = [case_from_data(c) for c in cases]
    decide(models[:50])  # warm: the KB parsed and ground once
    read(bundles[0])
    reading, quiet, plain, full = [], [], [], []
    derived = []
    for _ in range(args.repeat):
        derived = []
        started = time.perf_counter()
        derived = [c for i, text in enumerate(texts) for c in read_bytes(text, f"b{i}")]
        reading.append(time.perf_counter() - started)
        derived = []
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        derived = [c for i, text in enumerate(texts) for c in read_bytes(text, f"b{i}")]
        quiet.append(time.perf_counter() - started)
        gc.enable()
        started = time.perf_counter()
        decide(derived, missing=False)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        decide(derived, missing=True)
        full.append(time.perf_counter() - started)
    print("\nin one process (best / median of", args.repeat, "runs):")
    for name, times in (("read 1,000 bundles (parse + read)", reading),
                        ("the same, the collector off", quiet),
                        ("decide them, --no-missing", plain),
                        ("decide them, with what is missing", full)):
        best, median = _best(times)
        print(f"  {name:<36} {best * 1000:8.1f} ms / {median * 1000:8.1f} ms"
              f"   {args.n / median:8.0f} per s")
    for label, times, base in (("reading / decision without what is missing", reading, plain),
                               ("reading, collector off / the same", quiet, plain),
                               ("reading / decision with what is missing", reading, full)):
        ratio = statistics.median(times) / statistics.median(base)
        print(f"  {label:<46} {ratio:5.2f}  ({'PASS' if ratio < 1 else 'MISS'}: FHIR reading"
              " must cost less than the decision)")

    with tempfile.TemporaryDirectory(prefix="mrs-asp-fhir-bench-") as tmp:
        lib_cases = Path(tmp) / "cases.jsonl"
        lib_bundles = Path(tmp) / "bundles.jsonl"
        lib_cases.write_text("\n".join(json.dumps(c) for c in cases) + "\n")
        lib_bundles.write_bytes(b"\n".join(texts) + b"\n")
        print("\nthe command line, end to end (best / median):")
        runs = [("cases.jsonl   --format json --no-missing", lib_cases, ["-f", "json", "--no-missing"]),
                ("bundles.jsonl --format json --no-missing", lib_bundles, ["-f", "json", "--no-missing"]),
                ("cases.jsonl   --format json", lib_cases, ["-f", "json"]),
                ("bundles.jsonl --format json", lib_bundles, ["-f", "json"]),
                ("bundles.jsonl --format pas", lib_bundles, ["-f", "pas"])]
        for name, path, flags in runs:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                subprocess.run([_cli(), "evaluate", str(path), *flags], check=True,
                               stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - started)
            best, median = _best(times)
            print(f"  {name:<42} {best:6.2f} s / {median:6.2f} s   {args.n / median:7.0f} per s")


if __name__ == "__main__":
    main()
