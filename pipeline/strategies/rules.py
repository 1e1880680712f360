"""Pure rules of a strategy session (DESIGN: strategy sessions): what to back, when, and whether
the session may bet at all. No I/O, no clock: every function is handed `now`.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Callable, Mapping

from pipeline.core.checkpoint import NO_DECIDED, add_decided
from pipeline.core.config import Limits, OddsBounds, Review, Session, Window
from pipeline.core.files import SIDES  # noqa: F401 (rules.SIDES: the selections)
from pipeline.core.state import SessionBook
from pipeline.core.timefmt import parse_iso
from pipeline.strategies import markets
from pipeline.strategies.markets import SIDES_1X2


# --------------------------------------------------------------------------- selection

def picker(selection: str) -> Callable[[Mapping[str, float]], tuple[str, float]]:
    """The side a session backs and its price, as a function of the 1X2 odds.

    favourite = the lower-priced of home and away (tie -> home);
    underdog = the higher-priced of home and away (tie -> away).
    """
    if selection in SIDES_1X2:
        return lambda odds: (selection, float(odds[selection]))
    if selection == "favourite":
        return lambda o: ("home", float(o["home"])) if o["home"] <= o["away"] else (
            "away", float(o["away"]))
    if selection == "underdog":
        return lambda o: ("away", float(o["away"])) if o["away"] >= o["home"] else (
            "home", float(o["home"]))
    raise ValueError(f"unknown selection {selection!r}")


def pick(selection: str, odds: Mapping[str, float]) -> tuple[str, float]:
    return picker(selection)(odds)


def _one_x_two(selection: str) -> Callable[[object], "Choice | None"]:
    """`picker`'s rule on an indexed match's 1X2 odds, as a `Choice` in one call (no wrapper
    around `picker`: the backtest calls it for every match and session)."""
    if selection in SIDES_1X2:
        return lambda m: (selection, float(m.odds[selection]), None, m.odds) if m.odds else None
    if selection == "favourite":
        return lambda m: None if not m.odds else (
            ("home", float(m.odds["home"]), None, m.odds) if m.odds["home"] <= m.odds["away"]
            else ("away", float(m.odds["away"]), None, m.odds))
    if selection == "underdog":
        return lambda m: None if not m.odds else (
            ("away", float(m.odds["away"]), None, m.odds) if m.odds["away"] >= m.odds["home"]
            else ("home", float(m.odds["home"]), None, m.odds))
    raise ValueError(f"unknown selection {selection!r}")


# (selection, price, line, the prices of the chosen line or the 1X2 odds) a session backs on a
# match, or None when the match offers it nothing (no price of its market, no line in bounds)
Choice = tuple[str, float, "float | None", Mapping[str, float]]
MARKET_FIELD = {"1X2": "odds", "AH": "handicap", "OU": "totals"}  # odds-data's field per market


def market_picker(session: Session) -> Callable[[object], Choice | None]:
    """The choice of a session as a function of an indexed match (its `odds`, `handicap`,
    `totals`) (DESIGN: markets → session keys). 1X2: `picker` on the 1X2 odds. AH and OU: the
    main line inside the session's `line` bounds (`markets.main_line`), then the side: AH home |
    away | favourite | underdog (`markets.ah_pick`), OU over | under."""
    market, selection = session.market, session.selection
    if market == "1X2":  # one call per match and session: the hot path of the backtest
        return _one_x_two(selection)
    field_ = MARKET_FIELD[market]
    side_a, side_b = markets.SIDES[market]
    bounds = session.line

    def by_line(m):
        entries = getattr(m, field_)
        if not entries:
            return None
        entry = markets.main_line(entries, side_a, side_b, bounds)
        if entry is None:
            return None
        if market == "AH":
            side, price = markets.ah_pick(selection, entry)
        else:
            side, price = selection, float(entry[selection])
        return side, price, entry["line"], entry
    return by_line


def bounds(b: OddsBounds) -> tuple[float, float]:
    """(lowest, highest) acceptable price, both inclusive; a missing bound does not limit."""
    return (-math.inf if b.min is None else b.min), (math.inf if b.max is None else b.max)


def odds_in_bounds(b: OddsBounds, price: float) -> bool:
    lo, hi = bounds(b)
    return lo <= price <= hi


def _bound(x: float | None) -> str:
    return "any" if x is None else f"{x:g}"


def odds_reason(selection: str, price: float, bounds: OddsBounds, line: float | None = None,
                market: str = "1X2") -> str:
    """'away 2.10 in [1.5, 2.2]'; with a line: 'home -0.75 1.92 in [1.5, 2.2]'."""
    selection = markets.pick_label(market, selection, line)
    if bounds.min is None and bounds.max is None:
        return f"{selection} {price:.2f} (any odds)"
    return f"{selection} {price:.2f} in [{_bound(bounds.min)}, {_bound(bounds.max)}]"


def competition_ok(session: Session, competition: str | None) -> bool:
    return session.competitions is None or competition in session.competitions


# --------------------------------------------------------------------------- the window

def window_end(window: Window, kickoff: datetime) -> datetime:
    """When the window closes: kickoff - to_minutes (a decision's expires_at)."""
    return kickoff - timedelta(minutes=window.to_minutes)


def window_start(window: Window, kickoff: datetime) -> datetime | None:
    """When the window opens; None = any time before kickoff."""
    if window.from_minutes is None:
        return None
    return kickoff - timedelta(minutes=window.from_minutes)


def in_window(window: Window, kickoff: datetime, now: datetime) -> bool:
    """to_minutes <= minutes before kickoff <= from_minutes, both inclusive."""
    before_s = (kickoff - now).total_seconds()
    if before_s < window.to_minutes * 60:
        return False
    return window.from_minutes is None or before_s <= window.from_minutes * 60


# --------------------------------------------------------------------------- halts

def standing_halt(sb: SessionBook, now: datetime) -> str | None:
    """The session's SESSION_HALTED reason while it holds.

    A halt lasts until the next SESSION_RESET, except a daily_loss halt (its reason starts with
    "daily_loss"), which holds for the rest of the UTC day it was written on.
    """
    if not sb.halted:
        return None
    if sb.halted.startswith("daily_loss") and sb.halted_at:
        if parse_iso(sb.halted_at).date() < now.date():
            return None
    return sb.halted


def daily_profit(sb: SessionBook, now: datetime) -> float:
    """Settled profit of the bets settled on now's UTC day."""
    return sb.day_profit(now.date())


HALT_LIMITS = ("stop_loss", "take_profit", "max_bets", "max_duration_h")  # what halt_cause reads


def can_halt(limits: Limits, *, daily: bool, review: Review | None = None) -> bool:
    """Whether any limit `halt_cause` reads is set (with `daily`: daily_loss too, which it
    reads only when given today's profit), or a `review`: without one it can never halt the
    session."""
    return (review is not None or any(getattr(limits, k) is not None for k in HALT_LIMITS)
            or (daily and limits.daily_loss is not None))


_REVIEW = ("review",)  # the SessionBook memo key of review_figures' fold


def review_figures(sb: SessionBook, extra: tuple | list = ()) -> tuple[int, float, float]:
    """(bets, staked, profit) of the session's settled non-void bets since its reset, what a
    `review` reads: those an archive carries (`sb.period.decided`) and then `sb.settled`, by
    one rule (`checkpoint.add_decided`); `extra`: BET_SETTLED bodies of this session not yet in
    the book (track checks halts with the settlements it is about to write). The fold over
    `sb.settled` is kept in `sb.memo` and continued, so a long backtest pays only for new
    settlements."""
    settled = sb.settled
    running = sb.has_running_figures()
    start = sb.period.decided if sb.period is not None else NO_DECIDED
    n, fig = sb.memo.get(_REVIEW, (0, start)) if running else (0, start)
    if n > len(settled):
        n, fig = 0, start
    fig = add_decided(fig, ((b.outcome, b.stake, b.profit) for b in settled[n:]))
    if running:
        sb.memo[_REVIEW] = (len(settled), fig)
    bets, staked, profit = add_decided(
        fig, ((ev.outcome, ev.stake, ev.profit) for ev in extra))
    return bets, round(staked, 2), round(profit, 2)


def review_cause(review: Review | None,
                 reviewed: tuple[int, float, float] | None) -> tuple[str, str] | None:
    """("review", detail) when the review's bets are in and their ROI is below min_roi."""
    if review is None or reviewed is None:
        return None
    bets, staked, profit = reviewed
    if bets < review.after_bets or not staked:
        return None
    roi = profit / staked
    if roi < review.min_roi:
        return "review", (f"{bets} settled bets since the reset, roi {roi:.4f} < "
                          f"min_roi {review.min_roi:g}")
    return None


def review_state(session: Session, sb: SessionBook) -> str | None:
    """'review: 32/50 bets, roi -0.0300 >= -0.05' (None without a review): what `betpipe
    sessions` and the dashboard show."""
    r = session.review
    if r is None:
        return None
    bets, staked, profit = review_figures(sb)
    roi = profit / staked if staked else 0.0
    cmp = "<" if roi < r.min_roi else ">="
    due = "" if bets < r.after_bets else " (due)"
    return f"review: {bets}/{r.after_bets} bets{due}, roi {roi:.4f} {cmp} {r.min_roi:g}"


def halt_cause(limits: Limits | None, *, settled_profit: float, placed: int,
               first_bet_at: str | None, now: datetime,
               today_profit: float | None = None, review: Review | None = None,
               reviewed: tuple[int, float, float] | None = None) -> tuple[str, str] | None:
    """(reason, detail) when a session's limits halt it now, else None: the one halt rule that
    decide, execute and track all use (DESIGN: halts). The reason is the limit's name, as
    SESSION_HALTED carries it.

    Counts run since the session's last SESSION_RESET (the caller's SessionBook starts there).
    `daily_loss` is checked only when the caller passes `today_profit` (the settled profit of
    now's UTC day): the executor enforces it as a control, decide reports it.
    `review` (the session's) is checked on `reviewed`, `review_figures` of its book.
    """
    if limits is None:
        return None
    if limits.stop_loss is not None and settled_profit <= -limits.stop_loss:
        return "stop_loss", f"settled profit {settled_profit:.2f} <= -{limits.stop_loss:g}"
    if limits.take_profit is not None and settled_profit >= limits.take_profit:
        return "take_profit", f"settled profit {settled_profit:.2f} >= {limits.take_profit:g}"
    if limits.max_bets is not None and placed >= limits.max_bets:
        return "max_bets", f"{placed} bets placed, max_bets {limits.max_bets}"
    if limits.max_duration_h is not None and first_bet_at is not None:
        if parse_iso(first_bet_at) + timedelta(hours=limits.max_duration_h) <= now:
            return ("max_duration_h",
                    f"first bet at {first_bet_at}, max_duration_h {limits.max_duration_h:g}")
    reviewing = review_cause(review, reviewed)
    if reviewing:
        return reviewing
    if (limits.daily_loss is not None and today_profit is not None
            and today_profit <= -limits.daily_loss):
        return "daily_loss", f"settled profit today {today_profit:.2f} <= -{limits.daily_loss:g}"
    return None


def session_halt_cause(session: Session, sb: SessionBook, now: datetime) -> str | None:
    """`halt_cause` of a session from its ledger-derived book, daily_loss included, as one
    line: "stop_loss: settled profit -312.50 <= -300"."""
    cause = halt_cause(session.limits, settled_profit=sb.settled_profit, placed=sb.bets_placed,
                       first_bet_at=sb.first_bet_at, now=now,
                       today_profit=daily_profit(sb, now) if session.limits.daily_loss else None,
                       review=session.review,
                       reviewed=review_figures(sb) if session.review else None)
    return f"{cause[0]}: {cause[1]}" if cause else None


def bet_slots(session: Session, sb: SessionBook) -> tuple[int | None, str]:
    """How many more decisions the session's limits allow now (None = no limit), and the limit.

    Counts bets placed since the last reset, every open bet (from before it too) and the
    intents still in flight.
    """
    placed, open_n, flying = sb.bets_placed, sb.open_count, len(sb.in_flight)
    caps: list[tuple[int, str]] = []
    lim = session.limits
    if lim.max_bets is not None:
        caps.append((lim.max_bets - placed - flying,
                     f"max_bets {lim.max_bets} ({placed} placed, {flying} in flight)"))
    if lim.max_open_bets is not None:
        caps.append((lim.max_open_bets - open_n - flying,
                     f"max_open_bets {lim.max_open_bets} ({open_n} open, {flying} in flight)"))
    if session.staking.result_dependent:  # at most one open or in-flight bet
        caps.append((1 - open_n - flying,
                     f"{session.staking.plan} holds one bet at a time ({open_n} open, "
                     f"{flying} in flight)"))
    if not caps:
        return None, ""
    n, why = min(caps, key=lambda c: c[0])
    return max(n, 0), why
