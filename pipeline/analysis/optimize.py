"""`betpipe optimize` (DESIGN: research): a session's parameters searched with optuna's seeded
TPE sampler on the backtest engine itself, optionally walk-forward by season.

The CSVs are parsed once per worker (`Data`), and what a trial's backtest reuses is made once
(`trials.Trials`: each match's snapshot index, the price each picker takes); a trial is one
backtest of the one session with the trial's parameters over the fold's training seasons, on
the same engine as `backtest.run` and with the same figures, deciding only on the matches the
session can bet. A trial whose session fails the config validation (min > max, a plan without
its stake…) or that has fewer than `min_bets` bets is pruned: it can never be a fold's best. Each fold's best parameters are then backtested on the
test season alone, exactly as `betpipe backtest` would (same engine, same session, that season's
matches only); the headline `out_of_sample` figures sum those test seasons.

Studies live in optuna storage (`studies.py`): several workers, on this machine or others,
share one study by its name, and stop once it holds `trials` trials.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from pipeline.analysis import backtest as bt
from pipeline.analysis.trials import Prepared, Trials, prepare
from pipeline.core.config import Config, Session
from pipeline.core.errors import BetpipeError
from pipeline.strategies.settlement import figures

OBJECTIVES = ("roi", "profit", "log_growth")
WARN_GAP = 0.05  # out-of-sample ROI this far (or more) below in-sample: a warning
TRACE_ENV = "BETPIPE_OPTIMIZE_TRACE"  # a file: each trial appends what it ran on (tests)


class OptimizeError(BetpipeError, ValueError):
    """Input optimize cannot use: names the file, the key and the reason."""


# --------------------------------------------------------------------------- the space

@dataclass(frozen=True)
class Dim:
    key: str                       # dotted session key, e.g. "odds.min"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple | None = None
    integer: bool = False

    def suggest(self, trial) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)


def parse_space(doc: Any, where: str, base: Session) -> list[Dim]:
    """SPACE's `{"odds.min": {"low", "high", "step"?, "log"?}, "selection": {"choices"}}`,
    each key checked against the session model (an unknown key is an error here, not a crash
    in trial 1)."""
    if not isinstance(doc, dict) or not doc:
        raise OptimizeError(f"{where}: $: must be an object of session keys to ranges")
    dims = []
    for key, spec in doc.items():
        at = f"{where}: $.{key}"
        if not isinstance(spec, dict):
            raise OptimizeError(f"{at}: must be an object ({{low, high}} or {{choices}})")
        extra = set(spec) - {"low", "high", "step", "log", "choices"}
        if extra:
            raise OptimizeError(f"{at}: unknown field {sorted(extra)[0]!r}")
        if "choices" in spec:
            if set(spec) != {"choices"} or not isinstance(spec["choices"], list) or not spec[
                    "choices"]:
                raise OptimizeError(f"{at}: choices must be a non-empty list, alone")
            bad = [c for c in spec["choices"] if not isinstance(c, (str, int, float, bool))
                   and c is not None]
            if bad:
                raise OptimizeError(f"{at}: choices must be strings, numbers, booleans or null")
            dim = Dim(key, choices=tuple(spec["choices"]))
        else:
            lo, hi, step = spec.get("low"), spec.get("high"), spec.get("step")
            nums = [v for v in (lo, hi, step) if v is not None]
            if lo is None or hi is None or any(isinstance(v, bool) or not isinstance(
                    v, (int, float)) for v in nums):
                raise OptimizeError(f"{at}: low and high must be numbers")
            if lo > hi or (step is not None and step <= 0):
                raise OptimizeError(f"{at}: needs low <= high and step > 0")
            dim = Dim(key, float(lo), float(hi), None if step is None else float(step),
                      bool(spec.get("log", False)),
                      integer=all(isinstance(v, int) for v in nums))
        _check_key(key, at, base, dim)
        dims.append(dim)
    return dims


def _check_key(key: str, at: str, base: Session, dim: Dim) -> None:
    value = dim.choices[0] if dim.choices is not None else (
        int(dim.low) if dim.integer else dim.low)
    try:
        session_with(base, {key: value})
    except OptimizeError as e:
        if "unknown key" in str(e) or "not an object" in str(e):
            raise OptimizeError(f"{at}: not a session key ({e})") from None


def session_with(base: Session, params: dict[str, Any]) -> Session:
    """The base session with the dotted keys set, through the config validation; enabled (a
    search scores the session as if it ran). OptimizeError names the first problem."""
    doc = base.model_dump(mode="json")
    for key, value in params.items():
        parts, node = key.split("."), doc
        for p in parts[:-1]:
            if node.get(p) is None:
                node[p] = {}
            node = node[p]
            if not isinstance(node, dict):
                raise OptimizeError(f"{key}: {p} is not an object")
        node[parts[-1]] = value
    doc["enabled"] = True
    try:
        return Session.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix(
            "Value error, ")
        raise OptimizeError(f"session {loc or '$'}: {msg}") from None


# --------------------------------------------------------------------------- the data

@dataclass
class Data:
    """The matches of the CSVs, parsed once, by season (seasons in order), and what trials reuse
    of them (`trials.Trials`, per list of seasons), made once per worker."""
    config: Config
    base: Session
    seasons: dict[str, list[bt.BtMatch]] = field(default_factory=dict)
    fixtures: tuple = ()  # every row of the files: the model's training rows
    probabilities: dict = field(default_factory=dict)  # (probability, market) -> Tables
    prepared: dict[str, list[Prepared]] = field(default_factory=dict)  # season -> its matches
    runs: dict[tuple, Trials] = field(default_factory=dict)  # seasons -> their Trials

    @classmethod
    def load(cls, paths: Sequence[str | Path], odds: str, config: Config,
             session_id: str, markets: Sequence[str] = ()) -> "Data":
        """`markets`: more than the session's own (a SPACE over `market`)."""
        base = config.session(session_id)
        if base is None:
            raise OptimizeError(f"no session {session_id!r} in the config (sessions: "
                                f"{', '.join(s.id for s in config.sessions) or 'none'})")
        out = cls(config.model_copy(update={"sessions": []}), base)
        need = tuple(dict.fromkeys((base.market, *markets)))
        loaded = bt.load_matches(paths, odds, markets=need)
        out.fixtures = loaded.fixtures
        for m in loaded.matches:
            out.seasons.setdefault(m.fixture.season, []).append(m)
        out.seasons = dict(sorted(out.seasons.items()))
        return out

    def matches(self, seasons: Sequence[str]) -> list[bt.BtMatch]:
        """The seasons' matches in the backtest's order."""
        return self.trials(seasons).matches

    def trials(self, seasons: Sequence[str]) -> Trials:
        """The seasons' prepared matches in the backtest's order (each season's list already
        is), made on first use."""
        key = tuple(seasons)
        got = self.runs.get(key)
        if got is None:
            for s in key:
                if s not in self.prepared:
                    self.prepared[s] = [prepare(m) for m in self.seasons[s]]
            chosen = [p for s in key for p in self.prepared[s]]
            chosen.sort(key=lambda p: (p.match.kickoff, p.match.order))
            got = self.runs[key] = Trials(chosen)
        return got

    def backtest(self, session: Session, seasons: Sequence[str]) -> dict:
        """bets, staked, profit, roi, log_growth and equity of the session over the seasons:
        `backtest.run`'s figures, run through the prepared matches (`trials`)."""
        config = self.config.model_copy(update={"sessions": [session]})
        run = self.trials(seasons).run(config, self.tables(config, session))
        f = figures(run.session_book(session.id), session.bankroll)
        return {"bets": f["bets"], "staked": f["staked"], "profit": f["profit"],
                "roi": f["roi"], "log_growth": log_growth(f["equity"], session.bankroll),
                "equity": f["equity"]}

    def tables(self, config: Config, session: Session):
        """The model / reference probabilities of a session with `probability` (as `betpipe
        backtest` makes them: analysis.probabilities, walk-forward over every match of the
        data, the default refit interval, fits cached under the home's data/cache/models),
        made once per worker for each (probability, market) a trial names."""
        from pipeline.strategies.value import NO_TABLES

        if session.probability is None or session.probability.source == "market":
            return NO_TABLES  # (before the imports: probabilities brings scipy, ~0.3 s a worker)
        from pipeline.analysis import probabilities as pr  # only for probability sessions
        from pipeline.core.matchkey import load_tables
        from pipeline.core.paths import Home
        key = (session.probability, session.market)
        if key not in self.probabilities:
            every = [m for season in self.seasons.values() for m in season]
            try:
                self.probabilities[key] = pr.tables_for(
                    config, every, self.fixtures, load_tables(), pr.DEFAULT_REFIT_DAYS,
                    Home.from_env().data / "cache" / "models")
            except pr.ProbabilityError as e:
                raise OptimizeError(str(e)) from None
        return self.probabilities[key]


def log_growth(equity: Sequence[tuple[str, float]], start: float) -> float:
    """Sum of log(1 + profit_i / bankroll_before_i) over the settlements; -inf once ruined."""
    total, before = 0.0, 0.0
    for _, cum in equity:
        bank = start + before
        grow = 1 + (cum - before) / bank if bank > 0 else 0.0
        if grow <= 0:
            return -math.inf
        total += math.log(grow)
        before = cum
    return total


# --------------------------------------------------------------------------- folds

@dataclass(frozen=True)
class Fold:
    train: tuple[str, ...]
    test: str | None  # None: no walk-forward, one search on every season

    @property
    def name(self) -> str:
        return self.test or "all"


def folds(seasons: Sequence[str], by_season: bool, train: int) -> list[Fold]:
    """Walk-forward: for each season k after the first `train`, train on every season before k
    and test on k alone. Without it: one fold, every season, no test."""
    if not by_season:
        return [Fold(tuple(seasons), None)]
    if train < 1:
        raise OptimizeError(f"--train {train}: must be at least 1")
    if len(seasons) <= train:
        raise OptimizeError(f"--folds season needs more than --train {train} seasons; the data "
                            f"has {len(seasons)} ({', '.join(seasons) or 'none'})")
    return [Fold(tuple(seasons[:k]), seasons[k]) for k in range(train, len(seasons))]


# --------------------------------------------------------------------------- the objective

@dataclass(frozen=True)
class Search:
    data: Data
    dims: list[Dim]
    objective: str
    min_bets: int

    def score(self, params: dict[str, Any], seasons: Sequence[str],
              tag: dict | None = None) -> tuple[float | None, dict]:
        """(objective value or None when the trial is worthless, its figures and reason)."""
        try:
            session = session_with(self.data.base, params)
        except OptimizeError as e:
            return None, {"reason": f"invalid: {e}"}
        _trace(tag or {}, seasons, self.data)
        fig = self.data.backtest(session, seasons)
        fig.pop("equity")
        if fig["bets"] < self.min_bets:
            return None, {**fig, "reason": f"{fig['bets']} bets < min_bets {self.min_bets}"}
        value = fig[self.objective]
        if not math.isfinite(value):
            return None, {**fig, "reason": f"{self.objective} is {value}"}
        return float(value), fig

    def trial(self, trial, fold: Fold) -> tuple[float | None, dict]:
        params = {d.key: d.suggest(trial) for d in self.dims}
        value, fig = self.score(params, fold.train, {"fold": fold.name, "trial": trial.number})
        return value, {**fig, "pid": os.getpid()}


def _trace(tag: dict, seasons: Sequence[str], data: Data) -> None:
    """With $BETPIPE_OPTIMIZE_TRACE: one line per backtest, the seasons and files it ran on."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    matches = data.matches(seasons)
    line = {**tag, "pid": os.getpid(), "asked": list(seasons),
            "seasons": sorted({m.fixture.season for m in matches}),
            "files": sorted({Path(m.fixture.file).name for m in matches}),
            "last_kickoff": max((m.kickoff for m in matches), default=None)}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, default=str) + "\n")


def test_figures(data: Data, params: dict[str, Any], season: str) -> dict:
    """The fold's test: the session with `params`, backtested on that season alone."""
    session = session_with(data.base, params)
    _trace({"fold": season, "test": True}, [season], data)
    fig = data.backtest(session, [season])
    return {k: fig[k] for k in ("bets", "staked", "profit", "roi", "equity")}


def summed(tests: Sequence[dict]) -> dict:
    bets = sum(t["bets"] for t in tests)
    staked = round(sum(t["staked"] for t in tests), 2)
    profit = round(sum(t["profit"] for t in tests), 2)
    return {"bets": bets, "staked": staked, "profit": profit,
            "roi": round(profit / staked, 6) if staked else 0.0}


def chained_equity(tests: Sequence[dict]) -> list[list]:
    """The test seasons' equity curves one after another, each starting where the last ended."""
    out, base = [], 0.0
    for t in tests:
        for at, cum in t["equity"]:
            out.append([at, round(base + cum, 2)])
        base = round(base + t["profit"], 2)
    return out


def far_below(in_sample_roi: float, out_roi: float) -> bool:
    return out_roi < in_sample_roi - WARN_GAP


def report_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 10) if isinstance(v, float) else v) for k, v in params.items()}

