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

AH and OU (`choose`, the engine's one call per match): the session's line is the main one inside
its `line` bounds (strategies/markets, as for any AH/OU session); each side of it gets
- `model`: the outcome probabilities (won, half_won, void, half_lost, lost) of the match's
  `goals` (strategies/goals); edge = the expected profit per unit staked under DESIGN's payout
  formula; kelly stakes the exact growth-optimal fraction of them (staking.growth_kelly);
- `market` / `reference`: the margin-free probability p of that side at that same line (the
  two prices of the line; a reference without that line: no bet, a note); edge = p × odds − 1
  and kelly the two-outcome stake. Documented approximation: a two-way price says nothing of
  the void share, so p is read as P(won | not void). For whole lines (void or win/lose) this is
  exact for kelly (a void changes no wealth) and the edge is the EV per unit of non-void stake
  (same sign, divided by 1 − P(void)); for quarter lines it is an approximation (a half result
  counted as a whole one of the same sign).
Ties: home before away, over before under.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Mapping, NamedTuple

from pipeline.core.config import Probability, Session
from pipeline.core.files import SIDES
from pipeline.core.timefmt import parse_iso
from pipeline.strategies import markets
from pipeline.strategies.goals import GoalsError, expected_value, outcome_probabilities
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
    # the model's goal parameters: key -> (λ, μ, ρ) (AH and OU)
    goals: dict[str, tuple[float, float, float]] | None = None
    # backtests only: (odds source, method) -> key -> (market, line) -> {side: p} (AH and OU)
    lines: dict[tuple[str, str], dict[str, dict[tuple[str, float], dict[str, float]]]] | None = None

    @classmethod
    def of_document(cls, doc: dict | None, problem: str | None = None) -> "Tables":
        """From a checked probabilities.json (core.files.check_probabilities); None: missing."""
        if doc is None:
            return cls(problem=problem or "no data/probabilities.json (is the model program on?)")
        table = {m["key"]: (m["1X2"]["home"], m["1X2"]["draw"], m["1X2"]["away"])
                 for m in doc["matches"] if "1X2" in m}
        goals = {m["key"]: (m["goals"]["home"], m["goals"]["away"], m["goals"].get("rho", 0.0))
                 for m in doc["matches"] if "goals" in m}
        return cls(model=table, fitted_at=parse_iso(doc["model"]["fitted_at"]), problem=problem,
                   goals=goals)


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
    return (None, _too_old(session)) if _stale(session, seen_at, tables) else (p, "")


def _stale(session: Session, seen_at: datetime | None, tables: Tables) -> bool:
    fitted = tables.fitted_at
    return (seen_at is not None and fitted is not None
            and seen_at - fitted > timedelta(hours=session.max_probability_age_h))


def _too_old(session: Session) -> str:
    return (f"model probability older than the odds by more than "
            f"max_probability_age_h {session.max_probability_age_h:g}")


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


# --------------------------------------------------------------------------- AH and OU

def line_probabilities(session: Session, key: str, entry: Mapping, seen_at: datetime | None,
                       tables: Tables) -> tuple[dict | None, str]:
    """({side: p (a float: market, reference) | {outcome: probability} (model)} for both
    sides of the AH or OU `entry` (odds-data's {"line", side, side}), or (None, why)."""
    market, source = session.market, session.probability
    a, b = markets.SIDES[market]
    line = entry["line"]
    if source.source == "market":
        try:
            pa, pb = implied([entry[a], entry[b]], source.method).probabilities
        except ValueError as e:
            return None, f"{source.method}: {e}"
        return {a: pa, b: pb}, ""
    if source.source == "reference":
        got = (tables.lines or {}).get((source.odds, source.method), {}).get(key, {}).get(
            (market, line))
        if got is None:
            return None, (f"no {source.odds} reference prices at {market} line "
                          f"{markets.line_label(market, line)}")
        return got, ""
    goals = (tables.goals or {}).get(key)
    if goals is None:
        return None, "no model goals"
    if _stale(session, seen_at, tables):
        return None, _too_old(session)
    try:
        return {side: outcome_probabilities(market, side, line, goals) for side in (a, b)}, ""
    except GoalsError as e:
        return None, f"model {e}"


class ValuePick(NamedTuple):
    """What a probability session backs on a match, and why."""

    selection: str
    price: float
    line: float | None
    prices: Mapping[str, float]  # what the stake reads: the 1X2 odds or the line's entry
    p: float | None              # the win probability (1X2; AH/OU from market or reference)
    outcomes: dict | None        # AH/OU from the model's goals: each outcome's probability
    edge: float                  # expected profit per unit staked


def no_value(session: Session) -> str:
    return f"no side priced inside the odds bounds with edge >= {session.min_edge:g}"


def choose(session: Session, pick: Callable | None, m, tables: Tables, lo: float,
           hi: float) -> ValuePick | str | None:
    """A probability session's bet on an indexed match `m` (its odds, handicap, totals): the
    value pick, or its own side (`pick`, rules.market_picker) with p; a str: why none (a
    note); None: the match offers the session nothing (no price of its market or line in its
    bounds, its own side priced outside the odds bounds)."""
    value = session.selection == "value"
    if session.market == "1X2":
        if not m.odds:
            return None
        p3, why = probabilities(session, m.key, m.odds, m.seen_at, tables)
        if p3 is None:
            return why
        if value:
            got = pick_value(m.odds, p3, lo, hi, session.min_edge)
            if got is None:
                return no_value(session)
            side, price, p, edge = got
        else:
            side, price = pick(m)[:2]
            if not lo <= price <= hi:
                return None
            p = p3[SIDES.index(side)]
            edge = p * price - 1
        return ValuePick(side, price, None, m.odds, p, None, edge)
    if value:
        entries = getattr(m, "handicap" if session.market == "AH" else "totals")
        entry = entries and markets.main_line(entries, *markets.SIDES[session.market],
                                              session.line)
        if not entry:
            return None
        sides = markets.SIDES[session.market]
    else:
        choice = pick(m)
        if choice is None or not lo <= choice[1] <= hi:
            return None
        entry, sides = choice[3], (choice[0],)
    probs, why = line_probabilities(session, m.key, entry, m.seen_at, tables)
    if probs is None:
        return why
    best = None
    for side in sides:  # ties: the first (home, over)
        price, q = float(entry[side]), probs[side]
        if not lo <= price <= hi:
            continue
        edge = expected_value(q, price) if isinstance(q, Mapping) else q * price - 1
        if (value and edge < session.min_edge) or (best is not None and edge <= best.edge):
            continue
        best = (ValuePick(side, price, entry["line"], entry, None, q, edge)
                if isinstance(q, Mapping) else ValuePick(side, price, entry["line"], entry, q,
                                                         None, edge))
    return best if best is not None else no_value(session)
