"""Simulated price paths from football-data rows, shared by the sandbox bookmaker
(programs/bookmaker/market.py) and the replay source (sources/replay.py).

A fixture with kickoff K is listed from K - 7 days until K + 3 days and has its result from
K + 110 minutes; its prices (B365 where the row has them, else the market average) move
linearly from the pre-match columns at K - 7 days to the closing columns (B365C*, else AvgC*)
at K, rounded to 2 decimals and never <= 1.01. Pure: no clock, no I/O.

Asian handicap and over/under (DESIGN: markets) follow the same path from the same bookmaker's
columns (`Fixture.handicap` / `Fixture.totals`: B365 where the row has them, else the average;
closing B365C, else AvgC): one entry per market. When the closing line equals the pre-match
line its two prices move linearly like 1X2's; when the line itself moved (AHh ≠ AHCh), the
pre-match entry is offered for the first half of the 7 days on sale and the closing entry (its
line and prices) from then on — the line changes once, at kickoff − 3.5 days, so a slip for the
old line is refused "line changed" after that.
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
Entry = tuple[float, float, float]  # (line, first side's price, second side's price)


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


@dataclass(frozen=True)
class LineQuote:
    """A fixture's pre-match and closing entry in one line market (AH: line, home, away; OU:
    line, over, under); closing = pre-match when the file has none."""

    opening: Entry
    closing: Entry


def _entry(fixture: Fixture, market: str, source: str) -> Entry | None:
    """The first entry of `Fixture.handicap(source)` (AH) or `Fixture.totals(source)` (OU)."""
    if market == "AH":
        entries, sides = fixture.handicap(source), ("home", "away")
    else:
        entries, sides = fixture.totals(source), ("over", "under")
    return (entries[0]["line"], entries[0][sides[0]], entries[0][sides[1]]) if entries else None


def line_quote(fixture: Fixture, market: str, opening: str,
               closings: tuple[str, ...]) -> LineQuote | None:
    """`market` "AH" or "OU": the entry of price source `opening` → the first of `closings`
    the row has (names of `football_data.HANDICAP_SOURCES`); None without a pre-match entry."""
    pre = _entry(fixture, market, opening)
    if pre is None:
        return None
    close = next((e for e in (_entry(fixture, market, c) for c in closings) if e), None)
    return LineQuote(pre, close or pre)


def line_quotes_of(fixture: Fixture) -> tuple[LineQuote | None, LineQuote | None]:
    """(AH, OU) quotes with the sandbox's choice of columns, as `quote_of`: B365 (closing B365C,
    else AvgC) where the row has them, else the average (closing AvgC)."""
    return tuple(line_quote(fixture, market, "b365", ("b365-closing", "avg-closing"))
                 or line_quote(fixture, market, "avg", ("avg-closing",))
                 for market in ("AH", "OU"))  # type: ignore[return-value]


def line_at(quote: LineQuote, kickoff: datetime, now: datetime) -> Entry:
    """The entry on offer at `now` (module docstring): linear when the line holds, else the
    pre-match entry until kickoff - 3.5 days and the closing one from then."""
    span = ON_SALE_BEFORE.total_seconds()
    frac = (now - (kickoff - ON_SALE_BEFORE)).total_seconds() / span
    frac = min(1.0, max(0.0, frac))
    (lo, o1, o2), (lc, c1, c2) = quote.opening, quote.closing
    if lo != lc:
        (lo, o1, o2) = (lc, c1, c2) = quote.opening if frac < 0.5 else quote.closing
    return (lo, max(MIN_PRICE, round(o1 + (c1 - o1) * frac, 2)),
            max(MIN_PRICE, round(o2 + (c2 - o2) * frac, 2)))
