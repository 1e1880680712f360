"""The probabilities.json document of a set of matches at an instant (DESIGN: "Probabilities,
models and value"), shared by `betpipe model predict`, the model program and the backtest.

One Dixon–Coles fit per competition (leagues share no teams; one home advantage and ρ each),
each on that competition's matches finished before the instant (dixon_coles.fit), predicting the
matches kicking off in [at, at + horizon). Teams are the canonical names of config/teams.json,
so a CSV's and a source's spellings of one club meet. A match with a team its competition's fit
never saw is left out of `matches` (no probability, never a guess) and counted in
`model.unpriced`.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Iterable, NamedTuple

from pipeline.core.matchkey import KeyTables
from pipeline.core.timefmt import iso
from pipeline.models import dixon_coles as dc
from pipeline.strategies.goals import GoalsError

HORIZON = timedelta(days=7)


class Row(NamedTuple):
    """A match for the model: its key, its competition and the model's view of it."""

    key: str
    competition: str
    match: dc.Match


def rows_of_fixtures(fixtures: Iterable, tables: KeyTables) -> list[Row]:
    """football-data Fixtures as Rows (canonical team names)."""
    return [Row(f.key, f.competition, dc.Match(tables.team(f.home), tables.team(f.away),
                                               f.kickoff, f.fthg, f.ftag))
            for f in fixtures]


def fits_at(rows: Iterable[Row], at: datetime, xi: float = dc.DEFAULT_XI,
            cache=None, by_comp: dict[str, list[dc.Match]] | None = None) -> dict[str, dc.Fit]:
    """competition -> its fit at `at` (competitions without a finished match are left out).
    `cache`: an object with get(competition, at, xi) / put(competition, fit) (the backtest's
    on-disk cache); None fits every time. `by_comp`: the rows already grouped by competition
    (the backtest's walk-forward groups them once for all its instants; `rows` is then unused)."""
    if by_comp is None:
        by_comp = {}
        for r in rows:
            by_comp.setdefault(r.competition, []).append(r.match)
    out = {}
    for comp, matches in sorted(by_comp.items()):
        fit = cache.get(comp, at, xi) if cache is not None else None
        if fit is None:
            fit = dc.fit(matches, at, xi)
            if fit is not None and cache is not None:
                cache.put(comp, fit)
        if fit is not None:
            out[comp] = fit
    return out


def entry(key: str, fit: dc.Fit | None, match: dc.Match) -> dict | None:
    """A probabilities.json `matches` entry, or None when the fit never saw a team or its
    parameters give no finite probabilities (a fit on a handful of matches can diverge)."""
    goals = fit.goals(match.home, match.away) if fit is not None else None
    if goals is None or not all(map(math.isfinite, goals)):
        return None
    try:
        p = dc.probabilities_1x2(goals)
    except GoalsError:  # λ or μ underflowed to 0, or a τ < 0
        return None
    if not all(map(math.isfinite, p.values())):
        return None
    return {"key": key, "1X2": p,
            "goals": {"home": goals.home, "away": goals.away, "rho": goals.rho}}


def document(rows: list[Row], at: datetime, xi: float = dc.DEFAULT_XI, *,
             written_at: datetime | None = None, version: int = 1,
             horizon: timedelta = HORIZON) -> dict:
    """probabilities.json for the rows kicking off in [at, at + horizon), fitted at `at`."""
    fits = fits_at(rows, at, xi)
    matches, unpriced = [], 0
    for r in sorted((r for r in rows if at <= r.match.kickoff < at + horizon),
                    key=lambda r: (r.match.kickoff, r.key)):
        e = entry(r.key, fits.get(r.competition), r.match)
        if e is None:
            unpriced += 1
        else:
            matches.append(e)
    return {"version": version, "written_at": iso(written_at or at),
            "model": model_info(fits, at, xi, unpriced), "matches": matches}


def model_info(fits: dict[str, dc.Fit], at: datetime, xi: float, unpriced: int) -> dict:
    """probabilities.json's `model`: name, fitted_at, trained_until, xi, per-competition fits
    and how many matches were left out for an unseen team."""
    trained = [f.trained_until for f in fits.values()]
    return {"name": dc.NAME, "fitted_at": iso(at),
            "trained_until": iso(max(trained) if trained else at), "xi": xi,
            "fits": {c: {"matches": f.matches, "teams": len(f.teams),
                         "trained_until": iso(f.trained_until), "home": f.home, "rho": f.rho}
                     for c, f in fits.items()},
            "unpriced": unpriced}
