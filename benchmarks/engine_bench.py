#!/usr/bin/env python3
"""The engine's figures of issue 14, side by side in one run.

    python benchmarks/engine_bench.py [--n 5000] [--repeat 3] [--warm 10000] [--memory]

  1. ``mrs-asp evaluate LIB.jsonl --format json [--no-missing] --jobs J`` for
     J = 1 and 2: cases/s (median of --repeat runs; wall and user+sys CPU);
  2. the plain-Python reference: SPEC section 2's determination written out
     in Python, from the same JSON lines to one JSON answer line per case
     (json.loads, decide, json.dumps), cases/s on one core, and
     the ratio of (1) at --jobs 2 without what is missing to it (target >= 0.15),
     taken of back-to-back pairs (the machine drifts) and their median;
     the reference's determinations are checked against mrs-asp's;
  3. warm single decisions (benchmarks/warm.py): median and p99 per decision
     over --warm cases, with what is missing;
  4. cold one-case latency: ``mrs-asp evaluate ONE.json --format json``;
  5. with --memory: peak resident memory of ``evaluate --no-missing`` at
     10k and 100k cases (ru_maxrss of the child).

The reference decides the determination only (no explanation, no missing):
it is the yardstick the issue names, not a second engine. Figures, not a
test: always exits 0. The machine is shared: the CPU time moves less than
the wall time, and ``uptime`` is printed before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
sys.path.insert(0, str(HERE.parent))

from generate import generate  # noqa: E402
from warm import measure as warm_measure, summary  # noqa: E402


def mrs_asp() -> list[str]:
    beside = Path(sys.executable).parent / "mrs-asp"
    return [str(beside)] if beside.exists() else ["mrs-asp"]


def installed() -> None:
    """The project as an installation runs it: its bytecode compiled (pip does
    that for a wheel; this machine's shells set PYTHONDONTWRITEBYTECODE, which
    would leave an editable install compiling every module at every start)
    and the caches of the prepared KB and its compiled form filled (one
    decision fills them; every later process reads them)."""
    import compileall
    import importlib.util
    compileall.compile_dir(Path(importlib.util.find_spec("mrs_asp").origin).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="mrs-asp-bench-") as tmp:
        lib = Path(tmp) / "warm-up.jsonl"
        lib.write_text("".join(json.dumps(c) + "\n" for c in generate(200, seed=0)))
        for missing in ([], ["--no-missing"]):
            subprocess.run([*mrs_asp(), "evaluate", str(lib), "--format", "json", *missing],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def timed(command: list[str], out: Path) -> tuple[float, float, int]:
    """(wall seconds, user+sys CPU seconds, peak RSS in KiB) of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(out, "wb") as sink:
        subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


# -- the plain-Python reference (SPEC section 2, determination only) -------------

_CONDITIONS = (
    lambda f: f.get("glioma") is True and f.get("glioma_grading") is True,
    lambda f: (any(f.get(k) is True for k in ("glioma", "brain_tumor", "brain_mass"))
               and any(f.get(k) is True for k in ("brain_tumor_evaluation",
                                                  "recurrence_vs_radiation_necrosis"))),
    lambda f: f.get("neonatal_hie") is True,
    lambda f: any(f.get(k) is True for k in ("mitochondrial_disease",
                                             "inborn_error_of_metabolism")),
    lambda f: any(f.get(k) is True for k in ("canavan_disease", "mitochondrial_encephalopathy",
                                             "leukodystrophy")),
)


def reference(case: dict, day) -> str:
    request = case["request"]
    if request["cpt"] != "76390":
        return "not_applicable"
    region, on = request["body_region"], day(request["date"])
    findings = case.get("findings", {})
    changed = findings.get("symptoms") in ("new", "worsening")
    studies = [(s["modality"], on - day(s["date"]), s.get("result"))
               for s in case.get("imaging", ()) if s["body_region"] == region]
    conventional = any(m in ("MRI", "CT") and d >= 0 and r == "inconclusive"
                       for m, d, r in studies)
    repeat = (any(m == "MRS" and 0 <= d <= 90 for m, d, _ in studies) and (
        (changed and findings.get("repeat_influences_treatment") is True)
        or (findings.get("prior_indeterminate_finding") is True
            and findings.get("clarifying_follow_up_done") is not True)
        or (not changed and findings.get("monitoring_need_established") is True)))
    indicated = conventional and (repeat or any(c(findings) for c in _CONDITIONS))
    if not indicated:
        return "denied"
    if (any(m in ("MRI", "CT", "MRS", "PET") and 0 <= d <= 90 for m, d, _ in studies)
            and not (findings.get("treatment_since_last_imaging") is True or changed)):
        return "denied"
    for implant in case.get("implants", ()):
        kind, metallic, status = implant["kind"], implant.get("metallic"), implant.get("mr_status")
        compatible = status in ("safe", "conditional")
        if kind == "aneurysm_clip" and metallic is not False:
            return "denied"
        if kind in ("pacemaker", "defibrillator", "cardiac_valve"):
            if not compatible:
                return "denied"
        elif metallic is True and not compatible:
            return "denied"
    for body in case.get("foreign_bodies", ()):
        endangers = body["location"] in ("orbit", "critical_area") or (
            body["location"] == "field_of_view" and body.get("obscures_area_of_concern") is True)
        if endangers and body.get("metallic") is not False:
            return "denied"
    return "approved"


def reference_rate(lines: list[str]) -> tuple[float, list[str]]:
    """Cases/s of the reference from JSON lines to JSON answer lines, on one
    core (best of 3), like the command line reads and writes them; and its
    determinations."""
    def day(text: str) -> int:
        return dt.date.fromisoformat(text).toordinal()

    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        out = []
        for line in lines:
            case = json.loads(line)
            out.append(json.dumps({"id": case["id"], "determination": reference(case, day)}))
        best = min(best, time.process_time() - started)
    return len(lines) / best, [json.loads(line)["determination"] for line in out]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warm", type=int, default=10_000)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--plain", default="", metavar="TRICKS",
                        help="speed tricks to leave off, e.g. split,spool or all "
                             "(MRS_ASP_PLAIN, mrs_asp/tricks.py; default: none)")
    args = parser.parse_args(argv)
    os.environ["MRS_ASP_PLAIN"] = args.plain  # the commands timed inherit it
    installed()
    print(f"load before: {os.getloadavg()}")
    cases = generate(args.n, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="mrs-asp-bench-") as tmp:
        tmp = Path(tmp)
        library = tmp / "lib.jsonl"
        library.write_text("".join(json.dumps(c) + "\n" for c in cases))
        rows = []
        rates = {}
        for missing in (False, True):
            for jobs in (1, 2):
                runs = [timed([*mrs_asp(), "evaluate", str(library), "--format", "json",
                               *([] if missing else ["--no-missing"]), "--jobs", str(jobs)],
                              tmp / "out.jsonl") for _ in range(args.repeat)]
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rates[(missing, jobs)] = args.n / wall
                target = 1_000 if missing else 10_000
                rows.append((f"evaluate {'(missing on)' if missing else '--no-missing'} "
                             f"--jobs {jobs}", f"{args.n / wall:,.0f} cases/s",
                             f"{wall:.2f} s wall, {cpu:.2f} s cpu",
                             f">= {target:,} at --jobs 2" if jobs == 2 else "",
                             ("PASS" if args.n / wall >= target else "MISS") if jobs == 2 else ""))
                if not missing and jobs == 1:
                    determinations = [json.loads(line)["determination"]
                                      for line in (tmp / "out.jsonl").read_text().splitlines()]
        lines = library.read_text().splitlines()
        ref_rate, ref_out = reference_rate(lines)
        agree = sum(a == b for a, b in zip(ref_out, determinations))
        rows.append(("plain-Python reference (determination, 1 core)", f"{ref_rate:,.0f} cases/s",
                     f"agrees with mrs-asp on {agree}/{len(cases)}", "", ""))
        # This machine's speed drifts by half within minutes: the ratio is taken
        # of pairs measured back to back (the reference, then --jobs 2), and
        # the median of those is the figure; the ratio of the medians above
        # (measured minutes apart) is shown beside it.
        paired = []
        for _ in range(args.repeat):
            rate = reference_rate(lines)[0]
            wall = timed([*mrs_asp(), "evaluate", str(library), "--format", "json",
                          "--no-missing", "--jobs", "2"], tmp / "out.jsonl")[0]
            paired.append(args.n / wall / rate)
        ratio = statistics.median(paired)
        rows.append(("ratio: --no-missing --jobs 2 / reference", f"{ratio:.3f}",
                     f"median of {len(paired)} back-to-back pairs "
                     f"({min(paired):.3f}-{max(paired):.3f}); of the medians above "
                     f"{rates[(False, 2)] / ref_rate:.3f}",
                     ">= 0.15", "PASS" if ratio >= 0.15 else "MISS"))
        warm = warm_measure(args.warm, args.seed, True)
        for label in ("wall", "cpu"):
            s = summary(warm[label])
            rows.append((f"warm single decision, missing on ({label})",
                         f"median {s['median']:.3f} ms, p99 {s['p99']:.3f} ms",
                         f"{args.warm} decisions, {warm['beyond']} beyond the slots",
                         "median < 1 ms, p99 < 5 ms",
                         "PASS" if s["median"] < 1 and s["p99"] < 5 else "MISS"))
        one = tmp / "one.json"
        denied = next(c for c, d in zip(cases, determinations) if d == "denied")
        one.write_text(json.dumps(denied))
        cold = [timed([*mrs_asp(), "evaluate", str(one), "--format", "json"], tmp / "o.json")
                for _ in range(max(5, args.repeat))]
        wall = statistics.median(r[0] for r in cold) * 1000
        cpu = statistics.median(r[1] for r in cold) * 1000
        rows.append(("cold evaluate ONE.json", f"{wall:.0f} ms", f"{cpu:.0f} ms cpu", "< 200 ms",
                     "PASS" if wall < 200 else "MISS"))
        if args.memory:
            for size in (10_000, 100_000):
                big = tmp / f"lib{size}.jsonl"
                with open(big, "w") as sink:
                    for c in generate(size, seed=args.seed + 1):
                        sink.write(json.dumps(c) + "\n")
                script = ("import resource,subprocess,sys;"
                          "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
                          "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
                peak = subprocess.run([sys.executable, "-c", script, *mrs_asp(), "evaluate",
                                       str(big), "--format", "json", "--no-missing",
                                       "--jobs", "2"], capture_output=True, text=True)
                rows.append((f"peak memory, evaluate --no-missing {size:,} cases",
                             f"{int(peak.stdout.strip() or 0) / 1024:.0f} MiB",
                             "largest process", "", ""))
    width = max(len(r[0]) for r in rows)
    for name, figure, notes, target, verdict in rows:
        print(f"{name:<{width}}  {figure:>30}  {target:>26}  {verdict:4}  {notes}")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
