"""Simulated price paths from football-data rows, shared by the sandbox bookmaker
(programs/bookmaker/market.py) and the replay source (sources/replay.py).

A fixture with kickoff K is listed from K - 7 days until K + 3 days and has its result from
K + 110 minutes; its prices (B365 where the row has them, else the market average) move
linearly from the pre-match columns at K - 7 days to the closing columns (B365C*, else AvgC*)
at K, rounded to 2 decimals and never <= 1.01. Pure: no clock, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.history.football_data import Fixture

LISTED_BEFORE = timedelta(days=7)
LISTED_AFTER = timedelta(days=3)
ON_SALE_BEFORE = timedelta(days=7)
RESULT_AFTER = timedelta(minutes=110)
MIN_PRICE = 1.02  # prices are never ≤ 1.01

Prices = tuple[float, float, float]


@dataclass(frozen=True)
class Quote:
    """A fixture's pre-match and closing prices (closing = pre-match when the file has none)."""

    opening: Prices
    closing: Prices


def quote_of(fixture: Fixture) -> Quote | None:
    """B365 (closing B365C, else AvgC) where the row has them, else the average (closing AvgC)."""
    pre = fixture.odds("b365")
    if pre is not None:
        close = fixture.odds("b365-closing") or fixture.odds("avg-closing")
    else:
        pre = fixture.odds("avg")
        close = fixture.odds("avg-closing")
    if pre is None:
        return None
    return Quote(pre, close or pre)


def prices_at(quote: Quote, kickoff: datetime, now: datetime) -> Prices:
    """Linear from the opening prices at kickoff - 7 days to the closing prices at kickoff."""
    span = ON_SALE_BEFORE.total_seconds()
    frac = (now - (kickoff - ON_SALE_BEFORE)).total_seconds() / span
    frac = min(1.0, max(0.0, frac))
    out = []
    for o, c in zip(quote.opening, quote.closing):
        out.append(max(MIN_PRICE, round(o + (c - o) * frac, 2)))
    return out[0], out[1], out[2]
