"""Dixon–Coles figures (issue 18).

- refit: one fit at two seasons of EPL matches (760), at the first kickoff of the next season,
  xi 0.0018 — best of three, wall-clock.
- versus penaltyblog (when installed — the `test` extra): for each EPL season 2005-06 … 2019-20,
  both models fitted on the two seasons before it with the same weights; fit time, in-sample log
  likelihood (higher = closer to the maximum) and 1X2 log-loss on the season's matches whose two
  teams both models saw (promoted teams get no probability), plus the largest |Δp|.
- model_backtest: the CSV backtest of EPL 2010-11 … 2019-20 (10 seasons, b365) × 1 value session
  with probability from model, walk-forward (refit every 7 days) — cold (an empty fit cache,
  goal <= 60 s) and again with the cache it filled (goal <= 5 s) — beside a plain favourite
  backtest of the same files in the same run. Wall clock with CPU seconds beside it.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pipeline.models  # noqa: F401  (one BLAS thread, before numpy is imported)
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import REPO
from pipeline.history.football_data import parse_file
from pipeline.models import dixon_coles as dc

DATA = REPO.parent / "shared" / "data" / "football-data"
SIDES = ("home", "draw", "away")


def _file(year: int) -> Path:
    return DATA / f"E0_{year}-{str(year + 1)[2:]}.csv"


def load(paths) -> list[dc.Match]:
    tables = load_tables()
    return [dc.Match(f.home, f.away, f.kickoff, f.fthg, f.ftag)
            for p in paths for f in parse_file(p, tables)]


def _winner(m: dc.Match) -> str:
    return "home" if m.home_goals > m.away_goals else "away" if m.away_goals > m.home_goals \
        else "draw"


def refit_time(xi: float = dc.DEFAULT_XI) -> dict:
    train, test = load([_file(2017), _file(2018)]), load([_file(2019)])
    at = min(m.kickoff for m in test)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        fit = dc.fit(train, at, xi)
        best = min(best, time.perf_counter() - t0)
    return {"matches": fit.matches, "teams": len(fit.teams), "refit_ms": round(best * 1000, 1)}


def versus_penaltyblog(first: int = 2005, last: int = 2019, xi: float = dc.DEFAULT_XI) -> dict:
    try:
        import penaltyblog as pb
    except ImportError:
        return {"skipped": "penaltyblog is not installed (pip install -e '.[test]')"}
    seasons, own_ll, pb_ll, n_all = [], 0.0, 0.0, 0
    for year in range(first, last + 1):
        train, test = load([_file(year - 2), _file(year - 1)]), load([_file(year)])
        at = min(m.kickoff for m in test)
        used = dc.finished_before(train, at)
        w = dc.weights([m.kickoff for m in used], at, xi)
        t0 = time.perf_counter()
        fit = dc.fit(train, at, xi)
        t_own = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = pb.models.DixonColesGoalModel(
            [m.home_goals for m in used], [m.away_goals for m in used],
            [m.home for m in used], [m.away for m in used], weights=w)
        ref.fit()
        t_pb = time.perf_counter() - t0
        lo, lp, dmax, n = 0.0, 0.0, 0.0, 0
        for m in test:
            goals = fit.goals(m.home, m.away)
            if goals is None or m.home_goals is None:
                continue
            p = dc.probabilities_1x2(goals)
            q = dict(zip(SIDES, ref.predict(m.home, m.away).home_draw_away))
            dmax = max(dmax, *(abs(p[s] - q[s]) for s in SIDES))
            lo -= math.log(p[_winner(m)])
            lp -= math.log(q[_winner(m)])
            n += 1
        own_ll, pb_ll, n_all = own_ll + lo, pb_ll + lp, n_all + n
        seasons.append({"season": _file(year).stem, "fit_ms": [round(t_own * 1000),
                                                                round(t_pb * 1000)],
                        "train_loglik": [round(fit.loglik, 3), round(ref.loglikelihood, 3)],
                        "test_matches": n, "log_loss": [round(lo / n, 5), round(lp / n, 5)],
                        "max_abs_dp": float(f"{dmax:.2e}")})
    return {"pairs": "[own, penaltyblog]", "seasons": seasons, "test_matches": n_all,
            "log_loss": [round(own_ll / n_all, 5), round(pb_ll / n_all, 5)],
            "fit_ms_median": [sorted(s["fit_ms"][0] for s in seasons)[len(seasons) // 2],
                              sorted(s["fit_ms"][1] for s in seasons)[len(seasons) // 2]],
            "own_loglik_higher_in": sum(s["train_loglik"][0] >= s["train_loglik"][1]
                                        for s in seasons)}


VALUE = {"id": "model-value", "selection": "value", "probability": {"from": "model"},
         "min_edge": 0.03, "odds": {"min": 1.5, "max": 5.0}, "staking": {"plan": "flat",
                                                                           "stake": 10}}
PLAIN = {"id": "favourite", "selection": "favourite", "odds": {"min": 1.3, "max": 2.6},
         "staking": {"plan": "flat", "stake": 10}}
COLD_GOAL_S, WARM_GOAL_S = 60.0, 5.0


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2)


def model_backtest(tmp: Path, first: int = 2010, last: int = 2019) -> dict:
    from pipeline.analysis import backtest as bt
    from pipeline.analysis.probabilities import tables_for
    from pipeline.core.config import Config

    files = [_file(y) for y in range(first, last + 1)]
    tables = load_tables()
    cache = tmp / "cache" / "models"
    loaded, load_s, _ = _timed(lambda: bt.load_matches(files, "b365", tables))
    plain = Config.model_validate({"sessions": [PLAIN]})
    report, plain_s, plain_cpu = _timed(lambda: bt.run(loaded.matches, plain).report())
    config = Config.model_validate({"sessions": [VALUE]})
    out = {"seasons": len(files), "matches": len(loaded.matches), "load_s": load_s,
           "plain_backtest": {"s": plain_s, "cpu_s": plain_cpu,
                              "bets": report["favourite"]["bets"]},
           "load_avg": round(os.getloadavg()[0], 2)}
    for label in ("cold", "cached"):
        stats: dict = {}

        def once():
            t = tables_for(config, loaded.matches, loaded.fixtures, tables, 7.0, cache, stats)
            return bt.run(loaded.matches, config, tables=t).report()["model-value"]

        got, wall, cpu = _timed(once)
        out[label] = {"s": wall, "cpu_s": cpu, "fits_made": stats["fits_made"],
                      "fits_read": stats["fits_read"], "priced": stats["priced"],
                      "bets": got["bets"], "roi": round(got["roi"], 4)}
    out["goal_met"] = {"cold": out["cold"]["s"] <= COLD_GOAL_S,
                       "cached": out["cached"]["s"] <= WARM_GOAL_S}
    return out


def run(tmp: Path, args) -> dict:
    return {"refit_two_seasons": refit_time(), "model_backtest": model_backtest(tmp),
            "versus_penaltyblog": versus_penaltyblog()}
