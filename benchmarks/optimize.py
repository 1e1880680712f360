"""Optimize throughput (issue 19): trials per second at 10 EPL seasons x 1 session.

- plain_backtest_s: one plain backtest (`backtest.run`, as `betpipe backtest` runs it after
  parsing) of the session over the 10 seasons (median of 3), measured in the same run;
  trial_backtest_s: the same backtest as a trial runs it (`Data.backtest`: prepared matches,
  deciding only where the session can bet), the raw limit of a trial without optuna.
- jobs_1 / jobs_2: `studies.search_all` on a fresh journal study (seeded TPE, SPACE of odds.min,
  odds.max, selection), `trials` trials with 1 and 2 worker processes: wall seconds,
  trials_per_s, and per_trial_s beside the plain backtest (trial_vs_backtest); CPU seconds
  per trial (all processes: what the machine's load does not inflate) and the trials' mean
  bets (an invalid trial, min > max, bets nothing). fsync_append_s: one small fsynced append
  on the same disk (median of 20), the journal's floor per append. Goal: >= 10
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
    matches = sorted((m for season in fold[0].train for m in data.seasons[season]),
                     key=lambda m: (m.kickoff, m.order))  # as load_matches orders them
    load_avg = os.getloadavg()[0]
    plain, plain_cpu, cached, cached_cpu = [], [], [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        bt.run(matches, config).figures("bench")
        plain.append(time.perf_counter() - t0)
        plain_cpu.append(time.process_time() - c0)
    t0 = time.perf_counter()
    data.trials(fold[0].train)
    prepare_s = time.perf_counter() - t0
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        data.backtest(data.base, fold[0].train)
        cached.append(time.perf_counter() - t0)
        cached_cpu.append(time.process_time() - c0)
    plain_s = statistics.median(plain)
    out = {"seasons": len(data.seasons), "matches": len(matches), "load_s": round(load_s, 3),
           "load_avg": round(load_avg, 2), "plain_backtest_s": round(plain_s, 4),
           "plain_runs_s": [round(x, 4) for x in plain],
           "plain_backtest_cpu_s": round(statistics.median(plain_cpu), 4),
           "prepare_s": round(prepare_s, 3),
           "trial_backtest_s": round(statistics.median(cached), 4),
           "trial_runs_s": [round(x, 4) for x in cached],
           "trial_backtest_cpu_s": round(statistics.median(cached_cpu), 4),
           "trials": TRIALS, "goal_trials_per_s": GOAL}
    out["fsync_append_s"] = _fsync_append(tmp / "fsync.probe")
    for jobs in (1, 2):
        load_avg = os.getloadavg()[0]
        t0, cpu0 = time.perf_counter(), _cpu()
        specs = studies.search_all(search, fold, {"bench": jobs, "t": time.time()},
                                   storage_url=str(tmp / f"bench-{jobs}.journal"),
                                   default_dir=tmp, trials=TRIALS, jobs=jobs, seed=1)
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        rate = TRIALS / wall
        out[f"jobs_{jobs}"] = {"wall_s": round(wall, 3), "trials_per_s": round(rate, 2),
                               "per_trial_s": round(wall / TRIALS, 4),
                               "cpu_per_trial_s": round(cpu / TRIALS, 4),
                               "bets_per_trial": _bets(tmp / f"bench-{jobs}.journal", specs),
                               "trial_vs_backtest": round(wall / TRIALS / plain_s, 2),
                               "load_avg": round(load_avg, 2), "goal_met": rate >= GOAL}
    return out


def _fsync_append(path: Path, n: int = 20) -> float:
    """Median seconds of one small fsynced append on this disk (a trial makes 2: its claim,
    then its parameters, figures and end state in one)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with open(path, "ab") as f:
            f.write(b'{"op_code":4}\n')
            f.flush()
            os.fsync(f.fileno())
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 5)


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (the forked workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _bets(journal: Path, specs) -> float:
    """Mean bets per trial of the study (the trials' sessions differ from the base one)."""
    import optuna
    study = optuna.load_study(study_name=specs[0][1],
                              storage=studies.storage_for(str(journal), journal.parent, ""))
    bets = [t.user_attrs.get("figures", {}).get("bets", 0) for t in study.get_trials()]
    return round(sum(bets) / len(bets), 1) if bets else 0.0
