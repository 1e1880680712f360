"""CLI start-up: wall time of `betpipe --help` and `betpipe key …` beside a bare `python -c pass`,
in the same run, alternated so the machine's load falls on all three alike (issue 20).

Goal: each command's median ≤ 3 × the bare start. The children run with bytecode caching on
(PYTHONDONTWRITEBYTECODE unset) after one warm-up run each, as an installed betpipe runs: the
figure is the CLI's start-up, not the compiling of its sources.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 3.0  # × a bare interpreter start
COMMANDS = {
    "bare": ["-c", "pass"],
    "help": ["-m", "pipeline.cli", "--help"],
    "key": ["-m", "pipeline.cli", "key", "Man United", "Nott'm Forest",
            "--kickoff", "2024-10-05T14:00:00Z"],
}


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["BETPIPE_HOME"] = str(home)
    return env


def _once(argv: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure(home: Path, runs: int) -> dict[str, list[float]]:
    env = _env(home)
    for argv in COMMANDS.values():  # warm-up: bytecode written, file cache warm
        _once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            times[name].append(_once(argv, env))
    return times


def run(tmp: Path, args) -> dict:
    runs = max(5, min(getattr(args, "samples", 20), 20))
    times = measure(tmp, runs)
    med = {name: statistics.median(t) for name, t in times.items()}
    out: dict = {"runs": runs, "goal_x_bare": GOAL,
                 "bare_ms": round(med["bare"] * 1000, 1)}
    for name in ("help", "key"):
        out[f"{name}_ms"] = round(med[name] * 1000, 1)
        out[f"{name}_x_bare"] = round(med[name] / med["bare"], 2)
    out["goal_met"] = all(out[f"{n}_x_bare"] <= GOAL for n in ("help", "key"))
    return out
