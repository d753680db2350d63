#!/usr/bin/env python3
"""Wall-clock benchmarks of the real ``mrs-asp`` command line.

    python benchmarks/bench.py [--n 5000] [--seed 1] [--repeat 3]

Generates a seeded case library (benchmarks/generate.py) into a temporary
directory and times the installed CLI as a subprocess, from process start to
exit, so interpreter start-up, imports, loading and validating the cases,
grounding, solving and writing the answers are all in the figure:

  a. mrs-asp evaluate LIB.jsonl --format json --no-missing   -> cases/s
  b. mrs-asp evaluate LIB.jsonl --format json                -> cases/s
  c. mrs-asp evaluate ONE.json --format json                 -> ms per call
     (one typical denied case with what-is-missing; also the library's heaviest
     case, the one with the most missing alternatives)
  d. mrs-asp regress cases/                                  -> s
  e. mrs-asp check                                           -> s (target < 10 s)
  f. mrs-asp diff kb kb/variants/... LIBRARY.jsonl           -> s (target < 10 s)
  plus, for reference, the start-up floor: mrs-asp schema    -> ms

Each command runs ``--repeat`` times; best and median are printed, and
PASS/MISS is decided on the median. The answers of run b give the mix of
determinations and the number of missing alternatives. Exit status is always 0:
these are figures, not a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

TARGET_NO_MISSING = 10_000.0   # cases/s, N=5000
TARGET_MISSING = 1_000.0       # cases/s
TARGET_ONE_MS = 300.0          # ms per single-case call
TARGET_CHECK_S = 10.0          # s for the whole mrs-asp check
TARGET_DIFF_S = 10.0           # s for mrs-asp diff over the N-case library


def mrs_asp_command() -> list[str]:
    beside = Path(sys.executable).parent / "mrs-asp"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mrs-asp")
    return [found or "mrs-asp"]


@dataclass
class Timing:
    label: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)   # user+sys of the child
    codes: list[int] = field(default_factory=list)
    stderr: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(label: str, argv: list[str], repeat: int, out: Path, cwd: Path) -> Timing:
    """Run ``argv`` ``repeat`` times; stdout to ``out`` (the last run's stays there)."""
    timing = Timing(label)
    for _ in range(repeat):
        with out.open("wb") as sink:
            cpu0 = _children_cpu()
            t0 = time.perf_counter()
            proc = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, cwd=cwd)
            t1 = time.perf_counter()
            cpu1 = _children_cpu()
        timing.seconds.append(t1 - t0)
        timing.cpu.append(cpu1 - cpu0)
        timing.codes.append(proc.returncode)
        if proc.stderr:
            timing.stderr = proc.stderr.decode("utf-8", "replace")
    return timing


def _read_answers(path: Path) -> list[dict]:
    answers = []
    with path.open("rb") as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    answers.append(json.loads(line))
                except ValueError:
                    pass
    return answers


def _fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def _status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="cases in the library (5000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (3)")
    parser.add_argument("--cases", type=Path, default=REPO / "cases",
                        help="library for the regress timing (the repository's cases/)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the generated library and outputs in this directory")
    parser.add_argument("--plain", default="", metavar="TRICKS",
                        help="speed tricks to leave off, e.g. split,spool or all "
                             "(MRS_ASP_PLAIN, mrs_asp/tricks.py; default: none)")
    args = parser.parse_args(argv)
    os.environ["MRS_ASP_PLAIN"] = args.plain  # the commands timed inherit it
    n, repeat = max(args.n, 1), max(args.repeat, 1)
    cli = mrs_asp_command()

    tmp_ctx = tempfile.TemporaryDirectory(prefix="mrs-asp-bench-")
    work = Path(tmp_ctx.name)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        work = args.keep

    try:
        print(f"mrs-asp benchmarks: N={n} seed={args.seed} repeat={repeat} "
              f"cpus={os.cpu_count()} python={sys.version.split()[0]} "
              f"load={' '.join(f'{x:.2f}' for x in os.getloadavg())}"
              f"{f' MRS_ASP_PLAIN={args.plain}' if args.plain else ''}")
        print(f"command: {' '.join(cli)}")

        t0 = time.perf_counter()
        cases = generate(n, args.seed)
        library = work / "library.jsonl"
        with library.open("w", encoding="utf-8") as fh:
            for case in cases:
                fh.write(json.dumps(case, separators=(",", ":")) + "\n")
        print(f"generated {n} cases in {time.perf_counter() - t0:.2f}s -> {library}")

        # Warm the page cache (venv, clingo, kb) so the first timed run is not penalised.
        subprocess.run(cli + ["schema"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=REPO)

        print("timing a. evaluate --no-missing ...", flush=True)
        a = run("a", cli + ["evaluate", str(library), "--format", "json", "--no-missing"],
                repeat, work / "a.jsonl", REPO)
        print("timing b. evaluate (missing on) ...", flush=True)
        b = run("b", cli + ["evaluate", str(library), "--format", "json"],
                repeat, work / "b.jsonl", REPO)
        answers = _read_answers(work / "b.jsonl")

        # c: single cases, picked from the answers of run b.
        by_id = {c["id"]: c for c in cases}
        denied = [x for x in answers if x.get("determination") == "denied"]
        typical = next((x for x in denied if 1 <= len(x.get("missing", [])) <= 3), None)
        typical = typical or (denied[0] if denied else (answers[0] if answers else None))
        heaviest = max(denied, key=lambda x: len(x.get("missing", [])), default=None)
        singles: list[tuple[str, Timing, int]] = []
        for tag, pick in (("typical", typical), ("heaviest", heaviest)):
            if pick is None or pick["id"] not in by_id:
                continue
            one = work / f"one-{tag}.json"
            one.write_text(json.dumps(by_id[pick["id"]], indent=2), encoding="utf-8")
            print(f"timing c. evaluate one case ({tag}: {pick['id']}, "
                  f"{len(pick.get('missing', []))} missing alternatives) ...", flush=True)
            timing = run(f"c-{tag}", cli + ["evaluate", str(one), "--format", "json"],
                         max(repeat, 5), work / f"c-{tag}.json", REPO)
            singles.append((tag, timing, len(pick.get("missing", []))))

        regress = None
        regress_count = 0
        if args.cases.exists():
            regress_count = (sum(1 for _ in args.cases.glob("*.json")) if args.cases.is_dir()
                             else sum(1 for line in args.cases.open() if line.strip()))
            print(f"timing d. regress {args.cases} ...", flush=True)
            regress = run("d", cli + ["regress", str(args.cases)], repeat,
                          work / "d.txt", REPO)
        print("timing e. check (the policy checks over all valid cases) ...", flush=True)
        check = run("e", cli + ["check"], repeat, work / "e.txt", REPO)
        variant = REPO / "kb" / "variants" / "qualifying-study-exempt"
        print(f"timing f. diff kb {variant.name} over the N-case library ...", flush=True)
        diff = run("f", cli + ["diff", str(REPO / "kb"), str(variant), str(library)], repeat,
                   work / "f.txt", REPO)
        startup = run("startup", cli + ["schema"], max(repeat, 5), work / "schema.json", REPO)

        # ---- table ----------------------------------------------------------------
        rows: list[tuple[str, str, str, str, str, str]] = []
        rows.append(("a. evaluate --no-missing, N=%d" % n,
                     _fmt_rate(n / a.best) + " cases/s", _fmt_rate(n / a.median) + " cases/s",
                     f">= {_fmt_rate(TARGET_NO_MISSING)} cases/s",
                     _status(n / a.median >= TARGET_NO_MISSING),
                     f"{a.median:.2f}s wall, {statistics.median(a.cpu):.2f}s cpu"))
        rows.append(("b. evaluate (missing on), N=%d" % n,
                     _fmt_rate(n / b.best) + " cases/s", _fmt_rate(n / b.median) + " cases/s",
                     f">= {_fmt_rate(TARGET_MISSING)} cases/s",
                     _status(n / b.median >= TARGET_MISSING),
                     f"{b.median:.2f}s wall, {statistics.median(b.cpu):.2f}s cpu"))
        for tag, timing, alts in singles:
            rows.append((f"c. evaluate ONE.json ({tag}, {alts} alt.)",
                         f"{timing.best * 1000:.0f} ms", f"{timing.median * 1000:.0f} ms",
                         f"< {TARGET_ONE_MS:.0f} ms",
                         _status(timing.median * 1000 < TARGET_ONE_MS),
                         f"{len(timing.seconds)} runs"))
        if regress is not None:
            rows.append((f"d. regress {args.cases.name}/ ({regress_count} cases)",
                         f"{regress.best:.2f} s", f"{regress.median:.2f} s", "-", "-",
                         f"exit {regress.codes[-1]}"))
        rows.append(("e. check (all valid cases)", f"{check.best:.2f} s", f"{check.median:.2f} s",
                     f"< {TARGET_CHECK_S:.0f} s", _status(check.median < TARGET_CHECK_S),
                     f"exit {check.codes[-1]}"))
        rows.append((f"f. diff kb variant, N={n} library", f"{diff.best:.2f} s",
                     f"{diff.median:.2f} s", f"< {TARGET_DIFF_S:.0f} s",
                     _status(diff.median < TARGET_DIFF_S), "with generated witnesses"))
        rows.append(("   start-up floor (mrs-asp schema)",
                     f"{startup.best * 1000:.0f} ms", f"{startup.median * 1000:.0f} ms",
                     "-", "-", "import + exit"))

        header = ("measurement", "best", "median", "target", "", "notes")
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        print()
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        print(line)
        for r in rows:
            print("  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w) if i in (1, 2, 3) else
                            c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
        print()

        # ---- sanity: exit codes and answer counts ------------------------------------
        for timing, label in ((a, "a"), (b, "b")):
            if any(code != 0 for code in timing.codes):
                print(f"warning: run {label} exited {timing.codes}; stderr: "
                      f"{timing.stderr.strip()[:500]}")
        counted_a = len(_read_answers(work / "a.jsonl"))
        if counted_a != n or len(answers) != n:
            print(f"warning: expected {n} answers, got {counted_a} (a) and {len(answers)} (b)")
        for tag, timing, _ in singles:
            if any(code != 0 for code in timing.codes):
                print(f"warning: single case ({tag}) exited {timing.codes}")

        # ---- the mix -----------------------------------------------------------------
        determinations = collections.Counter(x.get("determination") for x in answers)
        print("determinations (run b):")
        for name in ("approved", "denied", "not_applicable"):
            count = determinations.get(name, 0)
            print(f"  {name:<15} {count:>6}  {100 * count / max(len(answers), 1):5.1f}%")
        non_ind = collections.Counter(ni for x in answers for ni in x.get("non_indications", []))
        if non_ind:
            print("non-indications holding: " +
                  ", ".join(f"{k} {v}" for k, v in non_ind.most_common()))
        counts = [len(x.get("missing", [])) for x in denied]
        if counts:
            none = sum(1 for c in counts if c == 0)
            print(f"missing alternatives per denied case: max {max(counts)}, "
                  f"mean {statistics.mean(counts):.2f}, median {statistics.median(counts):g}, "
                  f"none possible {none} ({100 * none / len(counts):.0f}%)")
            buckets = collections.Counter(
                "0" if c == 0 else "1" if c == 1 else "2-3" if c <= 3 else "4-9" if c <= 9
                else "10-29" if c <= 29 else "30+" for c in counts)
            print("  histogram: " + ", ".join(
                f"{k}: {buckets.get(k, 0)}" for k in ("0", "1", "2-3", "4-9", "10-29", "30+")))
        scen = collections.Counter(x["id"].rsplit("-", 1)[-1] for x in answers)
        print("generator scenarios: " + ", ".join(f"{k} {v}" for k, v in scen.most_common()))
        print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
              + "  (other work on the machine inflates wall time; cpu time does not)")
        if args.keep is not None:
            print(f"kept library and outputs in {work}")
    except Exception as exc:  # figures, not a test: report and exit 0
        print(f"benchmark error: {type(exc).__name__}: {exc}")
    finally:
        tmp_ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
