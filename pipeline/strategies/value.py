"""Value betting (DESIGN: "Probabilities, models and value"), pure: where a session's 1X2
probabilities come from, and the value pick.

A session's `probability` says where p comes from:
- `market`: the margin-free price itself (strategies/implied, the session's method) of the odds
  it bets at; kelly then stakes with p × (1 + staking.edge) (the `edge` key applies here only);
- `model`: data/probabilities.json (`Tables.model`, the decide program reads and checks it); no
  bet when the file is missing, torn, invalid or older than the odds by more than the session's
  `max_probability_age_h` (its `model.fitted_at` against the match's odds `seen_at`), or the
  model has no probability for the match;
- `reference`: another bookmaker's columns of the same CSV (`Tables.reference`, one table per
  (odds source, method), which only the backtest fills); the decide program refuses it with a
  note.

`pick_value`: among the sides whose price is inside the session's odds bounds, the one with the
largest edge = p × odds − 1 when it is >= min_edge; ties -> home, draw, away.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from pipeline.core.config import Probability, Session
from pipeline.core.files import SIDES
from pipeline.core.timefmt import parse_iso
from pipeline.strategies.implied import implied

REFERENCE_LIVE = "probability from 'reference' is for CSV backtests only (betpipe backtest)"


@dataclass
class Tables:
    """The probabilities a decide call may use besides the market's own prices."""

    model: dict[str, tuple[float, float, float]] | None = None  # key -> (home, draw, away)
    fitted_at: datetime | None = None  # the model's fit instant; None: no age check (backtest)
    problem: str | None = None  # why there is no usable probabilities.json (a note)
    # backtests only: (odds source, method) -> key -> (home, draw, away)
    reference: dict[tuple[str, str], dict[str, tuple[float, float, float]]] | None = None

    @classmethod
    def of_document(cls, doc: dict | None, problem: str | None = None) -> "Tables":
        """From a checked probabilities.json (core.files.check_probabilities); None: missing."""
        if doc is None:
            return cls(problem=problem or "no data/probabilities.json (is the model program on?)")
        table = {m["key"]: (m["1X2"]["home"], m["1X2"]["draw"], m["1X2"]["away"])
                 for m in doc["matches"] if "1X2" in m}
        return cls(model=table, fitted_at=parse_iso(doc["model"]["fitted_at"]), problem=problem)


NO_TABLES = Tables(problem="no data/probabilities.json (is the model program on?)")


def session_problem(source: Probability, tables: Tables) -> str | None:
    """Why a session with this probability source can bet on nothing now, else None."""
    if source.source == "model" and tables.model is None:
        return f"no bet: {tables.problem}"
    if source.source == "reference" and tables.reference is None:
        return f"no bet: {REFERENCE_LIVE}"
    return None


def probabilities(session: Session, key: str, odds: Mapping[str, float],
                  seen_at: datetime | None, tables: Tables) -> tuple[tuple | None, str]:
    """(home, draw, away) probabilities of a match for the session, or (None, why)."""
    source = session.probability
    if source.source == "market":
        try:
            return implied([odds[s] for s in SIDES], source.method).probabilities, ""
        except ValueError as e:
            return None, f"{source.method}: {e}"
    if source.source == "reference":
        p = tables.reference.get((source.odds, source.method), {}).get(key)
        return (p, "") if p is not None else (None, f"no {source.odds} reference prices")
    p = tables.model.get(key)
    if p is None:
        return None, "no model probability"
    fitted = tables.fitted_at
    if seen_at is not None and fitted is not None and seen_at - fitted > timedelta(
            hours=session.max_probability_age_h):
        return None, (f"model probability older than the odds by more than "
                      f"max_probability_age_h {session.max_probability_age_h:g}")
    return p, ""


def pick_value(odds: Mapping[str, float], p: tuple, lo: float, hi: float,
               min_edge: float) -> tuple[str, float, float, float] | None:
    """(side, price, p, edge) of the largest edge >= min_edge among the sides priced inside
    [lo, hi]; ties -> home, draw, away. None: no side qualifies."""
    best = None
    for side, q in zip(SIDES, p):
        price = float(odds[side])
        if not lo <= price <= hi:
            continue
        edge = q * price - 1
        if edge >= min_edge and (best is None or edge > best[3]):
            best = (side, price, q, edge)
    return best
