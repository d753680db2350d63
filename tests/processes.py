"""Runs of the real command line in the background, and their worker processes
(for the tests of signals and of workers that must not outlive their run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def background_evaluate(lib: Path, env: dict[str, str] | None = None,
                        **popen) -> subprocess.Popen:
    """``mrs-asp evaluate LIB --jobs 2 -f json`` started, answers thrown away;
    ``env`` adds to the environment, ``popen`` goes to :class:`subprocess.Popen`
    (stderr is a pipe unless given)."""
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-c", "from mrs_asp.cli import main; main()", "evaluate", lib,
         "--jobs", "2", "-f", "json"],
        stdout=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, **(env or {})}, **popen)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def assert_all_end(pids: set[int], within: float = 10) -> None:
    """Every process of ``pids`` ends within ``within`` seconds."""
    deadline = time.monotonic() + within
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, pids)), f"still running: {sorted(filter(alive, pids))}"
