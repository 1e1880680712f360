"""A short soak (1 simulated day, `pipeline.harness.soak`): the whole pipeline under supervisord on the
replay source and the step clock, as a real `python -m pipeline.harness.soak` subprocess.

Figures: real seconds per simulated day of stepping (and the 30-day projection against the
15-minute goal), the start-up, steps, bets, and per program max RSS and RSS at the end. The raw limit measured in the same run:
the RSS of a bare `python -c "import pipeline"` interpreter (what every program costs before it
does anything) and the real seconds the step clock needs per step.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from pipeline.core.paths import REPO
from pipeline.harness.soak.sample import sample_pid

SIM_DAYS = 1


def bare_interpreter_rss_mb() -> float:
    """RSS of the venv's Python with the package imported, read from /proc once it says so."""
    code = "import pipeline, sys; print('ready', flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        got = sample_pid(proc.pid)
        return got["rss_mb"] if got else float("nan")
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def run(tmp: Path, args) -> dict:
    out = subprocess.run([sys.executable, "-m", "pipeline.harness.soak", "--sim-days", str(SIM_DAYS),
                          "--home", str(tmp / "home")], cwd=REPO, capture_output=True,
                         timeout=900)
    doc = orjson.loads(out.stdout)
    real = doc["real"]
    days, stepping = real.get("stepped_sim_days"), real.get("stepping_s")
    return {
        "sim_days": SIM_DAYS, "exit_code": out.returncode, "broke": doc["broke"],
        "real_s_per_sim_day": round(stepping / days, 2) if days else None,
        "real_s_per_step_with_startup": round(real["run_s"] / doc["steps"], 3)
        if doc.get("steps") else None,
        "startup_s": round(real["run_s"] - stepping, 1) if stepping is not None else None,
        "goals": doc["goals"], "steps": doc["steps"], "bets": doc["bets"],
        "load_avg_1m": doc["real"]["load_avg_1m"],
        "rss_mb": {n: {"max": f.get("max_rss_mb"), "end": f.get("rss_end_mb")}
                   for n, f in doc["programs"].items()},
        "raw_python_with_package_rss_mb": bare_interpreter_rss_mb(),
    }
