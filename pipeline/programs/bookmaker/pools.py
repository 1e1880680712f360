"""Prices that move with the money placed on them: one constant-product pool per outcome.

The way prediction-market AMMs price (a fixed-product market maker, x·y = k): each outcome of a
match has a pool of `y` "outcome" shares against `n` "rest" shares, seeded from the real price o
with the configured liquidity L: n0 = L / o, y0 = L − n0, k = y0 · n0, so the pool's marginal
price, 1 + y / n, is exactly o before any money arrives. A bet of s on the outcome adds s to both
sides and pays out the outcome shares that keep the product at k:

    y' = k / (n + s)          shares out = y + s − y'          odds taken = shares out / s

so a bet's own size moves its price (slippage), and every later bet on that outcome gets less
(its marginal price 1 + k / n² falls as money comes in). With Q the total stake a pool has taken,
n = n0 + Q and y = k / n: the pool's state is Q alone, and it is seeded afresh from the real price
of the moment, so prices still drift from the pre-match towards the closing columns while the
money on them pushes them down. Pure functions; the store keeps Q per (match, outcome) on disk.

Asian handicap and over/under have a pool per side and line (`pool_key`): money on "AH home
-0.75" moves that price only, and a line that changes opens fresh pools.
"""
from __future__ import annotations

import math
from dataclasses import replace

from pipeline.core.files import MARKET_SIDES
from pipeline.programs.bookmaker.market import MIN_PRICE, SELECTIONS, MatchState

TAKEN_MIN = 1.01  # a bet is never taken below this (the market's own floor is MIN_PRICE)


def _seed(price: float, liquidity: float) -> tuple[float, float]:
    """(n0, k) of an outcome's pool priced at `price` with `liquidity`."""
    n0 = liquidity / price
    return n0, (liquidity - n0) * n0


def marginal(price: float, staked: float, liquidity: float) -> float:
    """The price a tiny bet would get after `staked` has been bet on the outcome."""
    n0, k = _seed(price, liquidity)
    n = n0 + staked
    return 1.0 + k / (n * n)


def taken(price: float, staked: float, stake: float, liquidity: float) -> float:
    """The odds a bet of `stake` gets (rounded down to 2 decimals, never above the marginal)."""
    n0, k = _seed(price, liquidity)
    n = n0 + staked
    y = k / n
    shares = y + stake - k / (n + stake)
    odds = math.floor(shares / stake * 100 + 1e-9) / 100
    return max(TAKEN_MIN, min(odds, shown(price, staked, liquidity)))


def shown(price: float, staked: float, liquidity: float) -> float:
    """The marginal price as the pages show it: 2 decimals, never below the market's floor."""
    return max(MIN_PRICE, round(marginal(price, staked, liquidity), 2))


def pool_key(market: str, selection: str, line: float | None) -> str:
    """The pool a bet is on, within its match: the selection for 1X2 (as the store has always
    kept it), "AH|-0.75|home" / "OU|2.5|over" for a side and line."""
    if market == "1X2":
        return selection
    return f"{market}|{float(line)}|{selection}"


def priced(state: MatchState, staked: dict[str, float], liquidity: float) -> MatchState:
    """`state` with the pools' prices: `staked` maps a pool (`pool_key`) to the money bet on it."""
    if not staked:
        return state
    changes: dict = {}
    if state.odds is not None and any(staked.get(sel) for sel in SELECTIONS):
        changes["odds"] = tuple(shown(p, staked.get(sel, 0.0), liquidity)
                                for sel, p in zip(SELECTIONS, state.odds))
    for market, field in (("AH", "handicap"), ("OU", "totals")):
        entry = state.entry(market)
        if entry is None:
            continue
        keys = [pool_key(market, side, entry[0]) for side in MARKET_SIDES[market]]
        if any(staked.get(k) for k in keys):
            changes[field] = (entry[0], *(shown(p, staked.get(k, 0.0), liquidity)
                                          for k, p in zip(keys, entry[1:])))
    return replace(state, **changes) if changes else state
