"""Closing-line value (DESIGN: "Odds history and closing-line value"): the one definition every
report uses — track's results.json, `betpipe sessions` / `bets`, the dashboard and both backtests.

A bet's closing price is the price of the same market, selection and line in the match's closing
state: per market, the prices of the last history line seen before kickoff that priced it (a
suspension just before kickoff does not erase the close; history, live), or the `--closing`
source's columns of the row (CSV backtest). A state is odds-data-shaped: `{"odds":
{"home", "draw", "away"} | None, "handicap": [{"line", "home", "away"}], "totals": [{"line",
"over", "under"}]}`. An AH/OU bet whose line is not offered at the close has no closing price.

    clv      = odds / closing − 1
    ev_close = odds × p_close − 1,  p_close the selection's margin-free closing probability
               (multiplicative normalisation over the market's sides at that line; implied.py)

Per session: `clv_bets` (its bets with a closing price), `clv_mean`, `ev_close_mean` (means over
those bets, rounded to 6 decimals; None when there is none). Pure functions of plain values.
"""
from __future__ import annotations

from typing import Iterable, Mapping, NamedTuple

from pipeline.core.files import MARKET_SIDES
from pipeline.strategies.implied import multiplicative

ROUND = 6
_LISTS = {"AH": "handicap", "OU": "totals"}


class Clv(NamedTuple):
    """One bet's figures, each rounded to 6 decimals (so results.json's per-bet values give
    the same means as the unrounded ones everywhere they are read back)."""

    closing: float     # the closing price of the bet's selection
    clv: float         # odds / closing − 1
    ev_close: float    # odds × p_close − 1

    def to_json(self) -> dict:
        return self._asdict()


def market_prices(state: Mapping | None, market: str = "1X2",
                  line: float | None = None) -> dict[str, float] | None:
    """side -> price of `market` (at `line` for AH/OU) in an odds-data-shaped state; None when
    the state does not price every side of it (an AH/OU line not offered included)."""
    if not state or market not in MARKET_SIDES:
        return None
    sides = MARKET_SIDES[market]
    if market == "1X2":
        entry = state.get("odds")
    else:
        entry = next((e for e in state.get(_LISTS[market]) or ()
                      if line is not None and e.get("line") == line), None)
    if not entry:
        return None
    prices = {s: entry.get(s) for s in sides}
    if any(isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 1
           for p in prices.values()):
        return None
    return prices


def of_bet(odds: float, selection: str, closing: Mapping | None, market: str = "1X2",
           line: float | None = None) -> Clv | None:
    """A bet's CLV against a closing state (None: no closing price for it)."""
    prices = market_prices(closing, market, line)
    if prices is None or selection not in prices:
        return None
    sides = list(prices)
    p_close = multiplicative([prices[s] for s in sides]).probabilities[sides.index(selection)]
    close = float(prices[selection])
    return Clv(close, round(odds / close - 1, ROUND), round(odds * p_close - 1, ROUND))


def summary(values: Iterable[Clv | Mapping | None]) -> dict:
    """clv_bets, clv_mean, ev_close_mean over the values that are not None (Clv or its JSON)."""
    clv, ev = [], []
    for v in values:
        if v is None:
            continue
        if isinstance(v, Clv):
            clv.append(v.clv)
            ev.append(v.ev_close)
        else:
            clv.append(v["clv"])
            ev.append(v["ev_close"])
    n = len(clv)
    return {"clv_bets": n, "clv_mean": round(sum(clv) / n, ROUND) if n else None,
            "ev_close_mean": round(sum(ev) / n, ROUND) if n else None}


def bet_market(bet) -> tuple[str, float | None]:
    """(market, line) of a ledger bet (a 1X2 bet carries neither)."""
    return getattr(bet, "market", None) or "1X2", getattr(bet, "line", None)


def closing_state(lines: Iterable[Mapping], kickoff: str) -> dict | None:
    """The closing state among one match's history lines (in `t` order): per market, its
    prices in the last line seen before `kickoff` (ISO text) that priced it; None if none did.

    The lines read are those before the first one at or after kickoff; of them, each market's
    last line that priced it is found by reading back from the cut, stopping once every
    market is found (the same lines a forward pass keeping the latest would end on)."""
    lines = lines if isinstance(lines, list) else list(lines)
    end = _ms(kickoff)
    # a whole-second text t ("...SSZ") is at or after `end` when t >= e20 (end on a whole
    # second) or t > e20 (end with milliseconds): _ms(t) >= end without building _ms(t)
    e20, whole = end[:19] + "Z", end[19:] == ".000Z"
    cut = len(lines)
    for i, r in enumerate(lines):
        t = r["t"]
        if ((t >= e20 if whole else t > e20) if len(t) == 20 else _ms(t) >= end):
            cut = i
            break
    close: dict = {}
    for i in range(cut - 1, -1, -1):
        r = lines[i]
        for name in _NAMES:
            if name not in close and r.get(name):
                close[name] = r[name]
        if len(close) == len(_NAMES):
            break
    return close or None


_NAMES = ("odds", "handicap", "totals")


def _ms(t: str) -> str:
    """An ISO `...Z` text that sorts as its instant does (whole seconds gain `.000`)."""
    return t[:-1] + ".000Z" if len(t) == 20 else t
