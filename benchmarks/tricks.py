#!/usr/bin/env python3
"""What each speed trick gains: the same commands with the trick on and off.

    python benchmarks/tricks.py [--n 5000] [--seed 1] [--repeat 5] [--warm 2000]

For each trick of mrs_asp/tricks.py (``anonymous``, ``split``, ``spool``) it
times ``mrs-asp evaluate LIB.jsonl --format json`` with and without what is
missing, on the generated library (benchmarks/generate.py), once as shipped
and once with ``MRS_ASP_PLAIN=<trick>``, the two settings alternating run by
run so that a change in the machine's load falls on both. ``anonymous`` and
``split`` are timed at ``--jobs 1`` (their gain is CPU in one process),
``spool`` at ``--jobs 2`` (its gain is the workers' waiting: wall time). With
``--warm N`` it also times N warm single decisions (benchmarks/warm.py, what
``mrs-asp serve`` pays a case) both ways for ``anonymous`` and ``split``.

Printed per row: the median wall time and the median CPU time (user + sys of
the command and its workers) of each setting, the cases per second they make
and the gain (plain / trick - 1, of the CPU time for ``--jobs 1``, of the wall
time for ``--jobs 2``). It checks the two settings' answers are the same bytes.
Figures, not a test: always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

TRICKS = {"anonymous": "1", "split": "1", "spool": "2"}


def mrs_asp() -> list[str]:
    beside = Path(sys.executable).parent / "mrs-asp"
    return [str(beside)] if beside.exists() else ["mrs-asp"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], plain: str, out: Path) -> tuple[float, float, bytes]:
    """Wall and CPU seconds of one run, and what it wrote."""
    env = {**os.environ, "MRS_ASP_PLAIN": plain}
    with out.open("wb") as sink:
        cpu0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=env)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode:
        print(f"  warning: exit {proc.returncode}: {proc.stderr.decode()[-300:]}")
    return wall, cpu, out.read_bytes()


def warm_ms(plain: str, n: int, seed: int) -> float:
    """Median CPU ms of a warm decision (what is missing included)."""
    proc = subprocess.run([sys.executable, str(HERE / "warm.py"), "--n", str(n),
                           "--seed", str(seed)], capture_output=True, text=True,
                          env={**os.environ, "MRS_ASP_PLAIN": plain})
    for line in proc.stdout.splitlines():
        if line.strip().startswith("cpu"):
            return float(line.split("median")[1].split()[0])
    raise SystemExit(f"benchmarks/warm.py printed no cpu line: {proc.stdout}{proc.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each setting (5)")
    parser.add_argument("--warm", type=int, default=2000,
                        help="warm single decisions per setting (2000; 0: none)")
    parser.add_argument("--tricks", nargs="*", default=list(TRICKS), choices=list(TRICKS))
    args = parser.parse_args(argv)
    print(f"N={args.n} seed={args.seed} repeat={args.repeat} python={sys.version.split()[0]} "
          f"load={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="mrs-asp-tricks-") as tmp:
        tmp = Path(tmp)
        library = tmp / "lib.jsonl"
        library.write_text("".join(json.dumps(c) + "\n" for c in generate(args.n, args.seed)))
        subprocess.run([*mrs_asp(), "schema"], stdout=subprocess.DEVNULL)  # warm the caches
        print(f"| trick | command | trick on: wall / CPU | off: wall / CPU | on | off | gain |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for trick in args.tricks:
            jobs = TRICKS[trick]
            for missing in (False, True):
                command = [*mrs_asp(), "evaluate", str(library), "--format", "json",
                           "--jobs", jobs, *([] if missing else ["--no-missing"])]
                for plain in ("", trick):  # prepare each KB cache entry, untimed
                    timed(command, plain, tmp / "out")
                runs: dict[str, list[tuple[float, float]]] = {"": [], trick: []}
                answers: dict[str, bytes] = {}
                for _ in range(args.repeat):
                    for plain in ("", trick):
                        wall, cpu, answers[plain] = timed(command, plain, tmp / "out")
                        runs[plain].append((wall, cpu))
                wall = {p: statistics.median(w for w, _ in r) for p, r in runs.items()}
                cpu = {p: statistics.median(c for _, c in r) for p, r in runs.items()}
                figure = cpu if jobs == "1" else wall
                gain = figure[trick] / figure[""] - 1
                same = "" if answers[""] == answers[trick] else " ANSWERS DIFFER"
                what = f"evaluate{'' if missing else ' --no-missing'} --jobs {jobs}"
                print(f"| {trick} | {what} | {wall['']:.2f} / {cpu['']:.2f} s | "
                      f"{wall[trick]:.2f} / {cpu[trick]:.2f} s | "
                      f"{args.n / figure['']:,.0f}/s | {args.n / figure[trick]:,.0f}/s | "
                      f"{gain:+.1%} {'CPU' if jobs == '1' else 'wall'}{same} |")
            if args.warm and trick != "spool":
                medians: dict[str, list[float]] = {"": [], trick: []}
                for _ in range(max(1, args.repeat // 2)):
                    for plain in ("", trick):
                        medians[plain].append(warm_ms(plain, args.warm, args.seed))
                on, off = (statistics.median(medians[p]) for p in ("", trick))
                print(f"| {trick} | {args.warm} warm decisions (CPU median) | {on:.3f} ms | "
                      f"{off:.3f} ms | | | {off / on - 1:+.1%} CPU |")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
