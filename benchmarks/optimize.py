"""Optimize throughput (issue 19): trials per second at 10 EPL seasons x 1 session.

- plain_backtest_s: one plain backtest (`backtest.run`, as `betpipe backtest` runs it after
  parsing) of the session over the 10 seasons (median of 3), measured in the same run;
  trial_backtest_s: the same backtest as a trial runs it (`Data.backtest`: prepared matches,
  deciding only where the session can bet), the raw limit of a trial without optuna.
- jobs_1 / jobs_2: `studies.search_all` on a fresh journal study (seeded TPE, SPACE of odds.min,
  odds.max, selection), `trials` trials with 1 and 2 worker processes: wall seconds,
  trials_per_s, and per_trial_s beside the plain backtest (trial_vs_backtest). Goal: >= 10
  trials/s (goal_met). The CSVs are parsed once, before the workers fork.
The machine is shared: load_avg is the 1-minute load average just before each part.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from pipeline.analysis import backtest as bt
from pipeline.analysis import optimize as op
from pipeline.analysis import studies
from pipeline.core.config import Config
from pipeline.core.paths import REPO

DATA = REPO.parent / "shared" / "data" / "football-data"
GOAL = 10.0  # trials per second
TRIALS = 40
SESSION = {"id": "bench", "selection": "favourite", "odds": {"min": 1.4, "max": 2.5},
           "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000}
SPACE = {"odds.min": {"low": 1.3, "high": 2.0, "step": 0.05},
         "odds.max": {"low": 2.0, "high": 4.0, "step": 0.1},
         "selection": {"choices": ["favourite", "underdog", "home", "away"]}}


def run(tmp: Path, args) -> dict:
    files = sorted(DATA.glob("E0_*.csv"))[-10:]
    config = Config.model_validate({"sessions": [SESSION]})
    t0 = time.perf_counter()
    data = op.Data.load(files, "b365", config, "bench")
    load_s = time.perf_counter() - t0
    search = op.Search(data, op.parse_space(SPACE, "bench space", data.base), "roi", 1)
    fold = op.folds(list(data.seasons), False, 1)
    matches = data.matches(fold[0].train)
    load_avg = os.getloadavg()[0]
    plain, cached = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        bt.run(matches, config).figures("bench")
        plain.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    data.trials(fold[0].train)
    prepare_s = time.perf_counter() - t0
    for _ in range(3):
        t0 = time.perf_counter()
        data.backtest(data.base, fold[0].train)
        cached.append(time.perf_counter() - t0)
    plain_s = statistics.median(plain)
    out = {"seasons": len(data.seasons), "matches": len(matches), "load_s": round(load_s, 3),
           "load_avg": round(load_avg, 2), "plain_backtest_s": round(plain_s, 4),
           "plain_runs_s": [round(x, 4) for x in plain], "prepare_s": round(prepare_s, 3),
           "trial_backtest_s": round(statistics.median(cached), 4),
           "trial_runs_s": [round(x, 4) for x in cached],
           "trials": TRIALS, "goal_trials_per_s": GOAL}
    for jobs in (1, 2):
        load_avg = os.getloadavg()[0]
        t0 = time.perf_counter()
        studies.search_all(search, fold, {"bench": jobs, "t": time.time()},
                           storage_url=str(tmp / f"bench-{jobs}.journal"), default_dir=tmp,
                           trials=TRIALS, jobs=jobs, seed=1)
        wall = time.perf_counter() - t0
        rate = TRIALS / wall
        out[f"jobs_{jobs}"] = {"wall_s": round(wall, 3), "trials_per_s": round(rate, 2),
                               "per_trial_s": round(wall / TRIALS, 4),
                               "trial_vs_backtest": round(wall / TRIALS / plain_s, 2),
                               "load_avg": round(load_avg, 2), "goal_met": rate >= GOAL}
    return out
