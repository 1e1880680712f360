"""The probabilities of a CSV backtest's probability sessions (DESIGN: "Probabilities, models and
value", "Backtest semantics"), as one `strategies.value.Tables` for the whole run.

- `from: market`: nothing to build (strategies/value prices the match's own odds).
- `from: reference`: one table per (odds source, method) the sessions name — the margin-free
  probabilities (strategies/implied) of that source's 1X2 columns of the same rows; for AH and
  OU sessions, of that source's two prices of each line it has (DESIGN "Markets" columns: a
  bet's line without the reference's price at that same line gets no probability, a note). A
  closing reference beside non-closing `--odds` knows the future: `lookahead` says which sessions.
- `from: model`: walk-forward Dixon–Coles (models/predict). Refit instants start at the first
  kickoff of the files' rows (priced or not: which markets or sessions a run has moves no
  instant) and follow every `refit_days`; at each, every competition is fitted on the files'
  matches whose results were out by then (kickoff + 110 min <= instant) and prices the matches
  kicking off before the next instant. No match's own result, nor any later one, reaches its
  probability. A match with a team its fit never saw gets none (no bet). Each priced match
  has its 1X2 probabilities and its goal parameters (λ, μ, ρ: AH and OU sessions).
  `max_probability_age_h` does not apply here: the refit cadence is `--refit-days`.

Fits are cached on disk (`FitCache`, under the home's data/cache/models/), one file per fit,
named by a hash of the model, competition, instant, xi and the content of the training rows, so
a second run reads them and a changed row refits only the instants that saw it.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import orjson

from pipeline.core.config import Config
from pipeline.core.errors import BetpipeError
from pipeline.core.files import MARKET_SIDES
from pipeline.core.matchkey import KeyTables
from pipeline.core.timefmt import iso
from pipeline.history.football_data import PRICE_SOURCES
from pipeline.models import dixon_coles as dc
from pipeline.models.predict import Row, entry, fits_at, rows_of_fixtures
from pipeline.strategies.implied import implied
from pipeline.strategies.value import Tables

DEFAULT_REFIT_DAYS = 7.0
CACHE_VERSION = "1"  # part of every fit's hash: bump when the fit's code changes its output


class ProbabilityError(BetpipeError, ValueError):
    """A probability source the backtest cannot build (names the session and the field)."""


def is_closing(source: str) -> bool:
    return source.endswith("-closing")


def lookahead(config: Config, odds: str) -> list[str]:
    """One sentence per session whose reference is closing prices beside non-closing `odds`."""
    if is_closing(odds):
        return []
    return [f"session {s.id}: probability from reference {s.probability.odds} (closing prices) "
            f"beside --odds {odds}: it knows the future (lookahead)"
            for s in config.sessions
            if s.probability is not None and s.probability.source == "reference"
            and is_closing(s.probability.odds)]


def reference_tables(matches: Sequence, config: Config) -> dict[tuple[str, str], dict]:
    """(odds source, method) -> {match key: (home, draw, away)} for the sessions' references;
    a row without that source's prices (or whose prices the method cannot use) has none."""
    out: dict[tuple[str, str], dict] = {}
    for s in config.sessions:
        p = s.probability
        if p is None or p.source != "reference" or (p.odds, p.method) in out:
            continue
        if p.odds not in PRICE_SOURCES:
            raise ProbabilityError(f"session {s.id}: field probability.odds: unknown source "
                                   f"{p.odds!r}; known: {', '.join(PRICE_SOURCES)}")
        table = out[(p.odds, p.method)] = {}
        for m in matches:
            prices = m.fixture.odds(p.odds)
            if prices is None:
                continue
            try:
                table[m.fixture.key] = implied(list(prices), p.method).probabilities
            except ValueError:
                continue
    return out


def line_tables(matches: Sequence, config: Config) -> dict[tuple[str, str], dict]:
    """(odds source, method) -> {match key: {(market, line): {side: p}}} for the AH and OU
    sessions' references: the margin-free two-way probabilities of each line the source prices
    (a line whose prices the method cannot use has none)."""
    out: dict[tuple[str, str], dict] = {}
    for s in config.sessions:
        p = s.probability
        if p is None or p.source != "reference" or s.market == "1X2":
            continue
        table = out.setdefault((p.odds, p.method), {})
        for m in matches:
            entries = (m.fixture.handicap(p.odds) if s.market == "AH"
                       else m.fixture.totals(p.odds))
            for e in entries:
                a, b = MARKET_SIDES[s.market]
                try:
                    pa, pb = implied([e[a], e[b]], p.method).probabilities
                except ValueError:
                    continue
                table.setdefault(m.fixture.key, {})[(s.market, e["line"])] = {a: pa, b: pb}
    return out


class FitCache:
    """Fits on disk, `folder/<sha256>.json`; the `fits_at` cache hook. `at(rows, t)` names the
    files of the fits at instant t before `fits_at` asks for them. `made` / `read` count the
    fits computed and read from disk."""

    def __init__(self, folder: Path | None, rows: Sequence[Row], xi: float):
        self.folder, self.xi = folder, xi
        self.made = self.read = 0
        self._names: dict[str, str] = {}
        # per competition: its rows in kickoff order, a running hash and how many it has taken
        self._comps: dict[str, list] = {}
        for r in sorted(rows, key=lambda r: (r.match.kickoff, r.match.home, r.match.away)):
            self._comps.setdefault(r.competition, [[], hashlib.sha256(), 0])[0].append(r)

    def at(self, t: datetime) -> None:
        """Hash each competition's rows whose result was out by `t` (a prefix: rows in
        kickoff order), salted with the model, competition, instant and xi."""
        for comp, state in self._comps.items():
            rows, h, n = state
            while n < len(rows) and rows[n].match.kickoff + dc.FINISHED_AFTER <= t:
                m = rows[n].match
                h.update(f"{m.home}|{m.away}|{iso(m.kickoff)}|{m.home_goals}|{m.away_goals}\n"
                         .encode())
                n += 1
            state[2] = n
            salted = h.copy()
            salted.update(f"{dc.NAME} v{CACHE_VERSION}|{comp}|{iso(t)}|{self.xi!r}".encode())
            self._names[comp] = salted.hexdigest()

    def _path(self, comp: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{self._names[comp]}.json"

    def get(self, comp: str, at: datetime, xi: float) -> dc.Fit | None:
        path = self._path(comp)
        if path is None:
            return None
        try:
            fit = dc.Fit.from_json(orjson.loads(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):  # absent or torn: fit again
            return None
        if fit.fitted_for != at or fit.xi != xi:
            return None
        self.read += 1
        return fit

    def put(self, comp: str, fit: dc.Fit) -> None:
        self.made += 1
        path = self._path(comp)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(fit.to_json()))  # a cache: no fsync, a torn file refits
        os.replace(tmp, path)

    @property
    def by_competition(self) -> dict[str, list[dc.Match]]:
        """competition -> its matches in kickoff order (the order the fits see them)."""
        return {comp: [r.match for r in rows] for comp, (rows, _, _) in self._comps.items()}


def walk_forward(rows: Sequence[Row], targets: Sequence[Row], refit_days: float, xi: float,
                 cache: FitCache) -> dict[str, dict]:
    """key -> the probabilities.json entry of each target ("1X2", "goals"), priced by the fit
    at the last refit instant at or before its kickoff (instants: the first kickoff of `rows`
    and of the targets + k × refit_days)."""
    if refit_days <= 0:
        raise ProbabilityError(f"--refit-days must be > 0 (got {refit_days:g})")
    step = timedelta(days=refit_days)
    targets = sorted(targets, key=lambda r: (r.match.kickoff, r.key))
    by_comp = cache.by_competition  # grouped once, not at each of the run's instants
    out: dict[str, dict] = {}
    i, n = 0, len(targets)
    if not n:
        return out
    start = min([targets[0].match.kickoff, *(r.match.kickoff for r in rows)])
    while i < n:
        k = (targets[i].match.kickoff - start) // step  # the refit instant of the next target
        t, nxt = start + k * step, start + (k + 1) * step
        cache.at(t)
        fits = fits_at((), t, xi, cache=cache, by_comp=by_comp)
        while i < n and targets[i].match.kickoff < nxt:
            r = targets[i]
            e = entry(r.key, fits.get(r.competition), r.match)
            if e is not None:
                out[r.key] = e
            i += 1
    return out


def needs(config: Config, source: str) -> bool:
    return any(s.probability is not None and s.probability.source == source
               for s in config.sessions)


def tables_for(config: Config, matches: Sequence, fixtures: Sequence, key_tables: KeyTables,
               refit_days: float = DEFAULT_REFIT_DAYS, cache_dir: Path | None = None,
               stats: dict | None = None) -> Tables:
    """The run's Tables: the reference tables and the walk-forward model's, for the sessions
    that name them. `fixtures`: every row of the files (the model's training rows);
    `matches`: the backtest's (BtMatch). `stats` (if given) gets refits, fits made and read."""
    reference = reference_tables(matches, config) if needs(config, "reference") else None
    lines = line_tables(matches, config) if needs(config, "reference") else None
    model = goals = None
    if needs(config, "model"):
        rows = rows_of_fixtures(fixtures, key_tables)
        by_key = {r.key: r for r in rows}
        targets = [by_key[m.fixture.key] for m in matches]
        cache = FitCache(cache_dir, rows, config.model.xi)
        priced = walk_forward(rows, targets, refit_days, config.model.xi, cache)
        model = {k: (e["1X2"]["home"], e["1X2"]["draw"], e["1X2"]["away"])
                 for k, e in priced.items()}
        goals = {k: (e["goals"]["home"], e["goals"]["away"], e["goals"]["rho"])
                 for k, e in priced.items()}
        if stats is not None:
            stats.update(fits_made=cache.made, fits_read=cache.read, priced=len(model),
                         matches=len(targets))
    return Tables(model=model, reference=reference, goals=goals, lines=lines,
                  problem=None if model is not None else "no model in this backtest")
