"""Pure rules of a strategy session (DESIGN: strategy sessions): what to back, when, and whether
the session may bet at all. No I/O, no clock: every function is handed `now`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from pipeline.core.config import OddsBounds, Session, Window
from pipeline.core.state import SessionBook
from pipeline.core.timefmt import parse_iso

SIDES = ("home", "draw", "away")
RESULT_DEPENDENT = ("martingale", "fibonacci", "ladder")  # at most one open or in-flight bet


# --------------------------------------------------------------------------- selection

def pick(selection: str, odds: Mapping[str, float]) -> tuple[str, float]:
    """The side a session backs and its price.

    favourite = the lower-priced of home and away (tie -> home);
    underdog = the higher-priced of home and away (tie -> away).
    """
    if selection in SIDES:
        return selection, float(odds[selection])
    home, away = float(odds["home"]), float(odds["away"])
    if selection == "favourite":
        return ("home", home) if home <= away else ("away", away)
    if selection == "underdog":
        return ("away", away) if away >= home else ("home", home)
    raise ValueError(f"unknown selection {selection!r}")


def odds_in_bounds(bounds: OddsBounds, price: float) -> bool:
    """Both bounds inclusive; a missing bound does not limit."""
    if bounds.min is not None and price < bounds.min:
        return False
    if bounds.max is not None and price > bounds.max:
        return False
    return True


def _bound(x: float | None) -> str:
    return "any" if x is None else f"{x:g}"


def odds_reason(selection: str, price: float, bounds: OddsBounds) -> str:
    """'away 2.10 in [1.5, 2.2]'."""
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
    day = now.date()
    return round(sum(b.profit for b in sb.settled
                     if b.settled_at and parse_iso(b.settled_at).date() == day), 2)


def halt_cause(session: Session, sb: SessionBook, now: datetime) -> str | None:
    """A reason the session must halt now, from the ledger-derived figures (DESIGN: halts).

    Counts run since the session's last SESSION_RESET (the SessionBook starts there). Reasons
    start with the limit's name, e.g. "stop_loss 300: settled profit -312.50".
    """
    lim = session.limits
    if lim.max_bets is not None and len(sb.bets) >= lim.max_bets:
        return f"max_bets {lim.max_bets}: {len(sb.bets)} bets placed"
    profit = sb.settled_profit
    if lim.stop_loss is not None and profit <= -lim.stop_loss:
        return f"stop_loss {lim.stop_loss:g}: settled profit {profit:.2f}"
    if lim.take_profit is not None and profit >= lim.take_profit:
        return f"take_profit {lim.take_profit:g}: settled profit {profit:.2f}"
    if lim.max_duration_h is not None and sb.first_bet_at:
        if now - parse_iso(sb.first_bet_at) >= timedelta(hours=lim.max_duration_h):
            return f"max_duration_h {lim.max_duration_h:g}: first bet at {sb.first_bet_at}"
    if lim.daily_loss is not None:
        today = daily_profit(sb, now)
        if today <= -lim.daily_loss:
            return f"daily_loss {lim.daily_loss:g}: settled profit today {today:.2f}"
    return None


def bet_slots(session: Session, sb: SessionBook) -> tuple[int | None, str]:
    """How many more decisions the session's limits allow now (None = no limit), and the limit.

    Counts placed and open bets since the last reset plus intents still in flight.
    """
    placed, open_n, flying = len(sb.bets), len(sb.open_bets), len(sb.in_flight)
    caps: list[tuple[int, str]] = []
    lim = session.limits
    if lim.max_bets is not None:
        caps.append((lim.max_bets - placed - flying,
                     f"max_bets {lim.max_bets} ({placed} placed, {flying} in flight)"))
    if lim.max_open_bets is not None:
        caps.append((lim.max_open_bets - open_n - flying,
                     f"max_open_bets {lim.max_open_bets} ({open_n} open, {flying} in flight)"))
    if session.staking.plan in RESULT_DEPENDENT:
        caps.append((1 - open_n - flying,
                     f"{session.staking.plan} holds one bet at a time ({open_n} open, "
                     f"{flying} in flight)"))
    if not caps:
        return None, ""
    n, why = min(caps, key=lambda c: c[0])
    return max(n, 0), why
