"""The risk controls: an ordered chain, the first refusal wins (STYLE: flumine). Pure: a decision
and a `Ctx` of plain values in, a `Refusal(control, reason)` or None out; the executor runs the
chain on every decision before it intends a bet, the backtest on every decision before it fills
one (`BACKTEST_PASSES`: the controls that cannot refuse there, and why).

Each control is a small class with a constant `NAME` and `check(decision, ctx) -> str | None`,
the reason it refuses or None. `applies(session, config)` is False when the control can never
refuse under that config (a chain built for one fixed config may leave it out). A decision is a
dict with at least id, session, match_key, selection, min_odds, stake, expires_at (market and
line may come with other markets: the controls read only what they name). Reasons carry no
ever-changing numbers (an age, the time), so a refusal is written once per decision and control
and again only when its reason really changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from pipeline.core.config import Config, Session
from pipeline.core import files
from pipeline.core.state import Book, SessionBook, free_bankroll
from pipeline.core.timefmt import parse_iso
from pipeline.strategies.rules import can_halt, daily_profit, review_figures, standing_halt
from pipeline.strategies.settlement import halt_cause

MAX_ATTEMPTS = 3  # attempts the bookmaker answered (or may have)
MAX_TRIES = 10  # every attempt, those lost before the bookmaker was called included
ON_SALE = "scheduled"


class Refusal(NamedTuple):
    control: str  # the control's NAME
    reason: str


@dataclass(slots=True)
class Ctx:
    """What the controls see of one decision, as plain values (built by `context` in the
    executor, by the backtest from its own book)."""
    now: datetime
    session: Session | None  # the deciding session's config (None: not in the config)
    sb: SessionBook  # its ledger state, bets in flight included (invariant 8)
    match: dict | None = None  # the decision's match as odds-data has it (None: not there)
    price: float | None = None  # the decision's price on sale now (None: none)
    fetched_at: str | None = None  # odds-data's fetched_at (for a match without seen_at)
    max_odds_age_s: float = 90.0
    halt: bool = False  # the kill switch (system-config halt)
    tries: int = 0  # attempts at this decision so far
    lost: int = 0  # of them, attempts that never reached the bookmaker
    # every session's open + in-flight stake on the decision's match; None: not worked out
    # (only needed, and so only worked out, when the session has max_exposure_match)
    match_exposure: float | None = None


def price_of(match: dict | None, d: dict) -> float | None:
    """The current price of the decision's market, side and line (None: not on sale)."""
    return files.price_of(match or {}, d.get("market", "1X2"), d["selection"], d.get("line"))


def lost_attempts(book: Book, decision_id: str) -> int:
    """Attempts at the decision that never reached the bookmaker (their BET_FAILED reason)."""
    return sum(1 for f in book.failures.get(decision_id, ())
               if f.never_reached)


def match_exposure(book: Book, match_key: str) -> float:
    """Every session's stake on one match: open placed bets and intents in flight."""
    placed = sum(b.stake for b in book.placed.values() if b.open and b.match_key == match_key)
    flying = sum(i.stake for i in book.unresolved.values() if i.match_key == match_key)
    return round(placed + flying, 2)


def session_exposure(sb: SessionBook) -> float:
    """One session's open stake and stake in flight (bets open from before its last reset
    included, like max_open_bets: a reset gives back no exposure)."""
    return round(sb.open_stake + sum(i.stake for i in sb.in_flight.values()), 2)


def context(d: dict, *, now: datetime, config: Config, book: Book, matches: dict[str, dict],
            fetched_at: str | None) -> Ctx:
    """The executor's view of decision `d`: its session, the ledger's Book, the odds-data's
    matches (by key)."""
    s = config.session(d["session"])
    sb = book.sessions.get(d["session"]) or SessionBook(d["session"])
    m = matches.get(d["match_key"])
    exposure = (match_exposure(book, d["match_key"])
                if s is not None and s.limits.max_exposure_match is not None else None)
    return Ctx(now, s, sb, m, price_of(m, d), fetched_at, config.max_odds_age_s, config.halt,
               book.attempts(d["id"]), lost_attempts(book, d["id"]), exposure)


class Control:
    NAME = ""

    def check(self, d: dict, ctx: Ctx) -> str | None:
        raise NotImplementedError

    def applies(self, session: Session, config: Config) -> bool:
        return True


class KillSwitch(Control):
    NAME = "KillSwitch"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        return "halt: true in system-config.json" if ctx.halt else None

    def applies(self, session: Session, config: Config) -> bool:
        return config.halt


class Expired(Control):
    NAME = "Expired"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        try:
            expires = parse_iso(d["expires_at"])
        except (KeyError, ValueError):
            return f"expires_at is not a timestamp: {d.get('expires_at')!r}"
        return f"expired at {d['expires_at']}" if ctx.now > expires else None


class SessionOff(Control):
    NAME = "SessionOff"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        if ctx.session is None:
            return f"session {d['session']!r} is not in system-config.json"
        return None if ctx.session.enabled else f"session {d['session']!r} is disabled"


class SessionHalted(Control):
    """Halted by a SESSION_HALTED event, or by a cause that is already there but not yet written
    (the executor then writes it: see execute's engine.Executor.halt_sessions)."""
    NAME = "SessionHalted"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        sb = ctx.sb
        halted = standing_halt(sb, ctx.now)
        if halted:
            return f"session halted: {halted}"
        s = ctx.session
        cause = halt_cause(s.limits if s else None, settled_profit=sb.settled_profit,
                           placed=sb.bets_placed + len(sb.in_flight), first_bet_at=sb.first_bet_at,
                           now=ctx.now, review=s.review if s else None,
                           reviewed=review_figures(sb) if s and s.review else None)
        return f"halt cause {cause[0]} (counting bets in flight)" if cause else None

    def applies(self, session: Session, config: Config) -> bool:
        # halts come from the limits and the review only
        return can_halt(session.limits, daily=True, review=session.review)


class MaxAttempts(Control):
    """A decision is tried at most MAX_ATTEMPTS times at the bookmaker. An attempt that never
    reached it — the executor died before the call (reconciled as NOT_FOUND), or the site could
    not be reached before the bet was sent (`browser_error`, `unreachable`) — counts only
    towards MAX_TRIES (and backs off: execute's backoff.py):
    a crash or an outage must not use up the attempts of every decision it touched."""
    NAME = "MaxAttempts"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        tries, lost = ctx.tries, ctx.lost
        if tries - lost >= MAX_ATTEMPTS:
            return f"{tries - lost} attempts failed (limit {MAX_ATTEMPTS})"
        if tries >= MAX_TRIES:
            return (f"{tries} attempts, {lost} of them never reached the bookmaker "
                    f"(limit {MAX_TRIES})")
        return None


class DailyLoss(Control):
    """`limits.daily_loss`: no new bet for the rest of a UTC day whose settled loss reached it."""
    NAME = "DailyLoss"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session
        if s is None or s.limits.daily_loss is None:
            return None
        if daily_profit(ctx.sb, ctx.now) <= -s.limits.daily_loss:
            return f"daily_loss {s.limits.daily_loss:g} reached on {ctx.now.date().isoformat()}"
        return None

    def applies(self, session: Session, config: Config) -> bool:
        return session.limits.daily_loss is not None


class StaleOdds(Control):
    NAME = "StaleOdds"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        m = ctx.match
        if m is None:
            return "match not in odds-data"
        if m.get("status") != ON_SALE:
            return f"match {m.get('status')}: not on sale"
        if ctx.price is None:
            return "no price on sale"
        seen = m.get("seen_at") or ctx.fetched_at
        try:
            age = ctx.now - parse_iso(seen)
        except (TypeError, ValueError):
            return f"seen_at is not a timestamp: {seen!r}"
        if age > timedelta(seconds=ctx.max_odds_age_s):
            return f"odds older than max_odds_age_s {ctx.max_odds_age_s:g}"
        return None


class PriceMoved(Control):
    NAME = "PriceMoved"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        price = ctx.price
        if price is not None and price < float(d["min_odds"]):
            return f"{d['selection']} {price:g} < min_odds {float(d['min_odds']):g}"
        return None


class MaxStake(Control):
    NAME = "MaxStake"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        cap = ctx.session.limits.max_stake if ctx.session else None
        stake = float(d["stake"])
        if stake <= 0:
            return f"stake {stake:g} is not positive"
        return f"stake {stake:g} > max_stake {cap:g}" if cap is not None and stake > cap else None


class MaxOpenBets(Control):
    NAME = "MaxOpenBets"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        limit = ctx.session.limits.max_open_bets if ctx.session else None
        sb = ctx.sb
        if limit is not None and sb.open_count + len(sb.in_flight) >= limit:
            return f"max_open_bets {limit} reached (open or in flight)"
        return None

    def applies(self, session: Session, config: Config) -> bool:
        return session.limits.max_open_bets is not None


class _ExposureCap(Control):
    """Refuses when the exposure (open + in-flight stake) with this stake exceeds a limit."""
    LIMIT = ""  # the Limits field

    def exposure(self, d: dict, ctx: Ctx) -> tuple[float, str]:
        """(the exposure now, what it is the exposure of)."""
        raise NotImplementedError

    def check(self, d: dict, ctx: Ctx) -> str | None:
        cap = getattr(ctx.session.limits, self.LIMIT) if ctx.session else None
        if cap is None:
            return None
        stake = float(d["stake"])
        now, of = self.exposure(d, ctx)
        if now + stake > cap + 1e-9:
            return (f"stake {stake:g} would take the exposure on {of} (open and in flight) "
                    f"above {self.LIMIT} {cap:g}")
        return None

    def applies(self, session: Session, config: Config) -> bool:
        return getattr(session.limits, self.LIMIT) is not None


class MatchExposure(_ExposureCap):
    """`limits.max_exposure_match`: all sessions' open + in-flight stake on the decision's match,
    with this stake, must not exceed the deciding session's limit."""
    NAME, LIMIT = "MatchExposure", "max_exposure_match"

    def exposure(self, d: dict, ctx: Ctx) -> tuple[float, str]:
        if ctx.match_exposure is None:
            raise ValueError("Ctx.match_exposure was not worked out for a session with "
                             "max_exposure_match")
        return ctx.match_exposure, f"{d['match_key']} (all sessions)"


class SessionExposure(_ExposureCap):
    """`limits.max_exposure_session`: the session's open + in-flight stake, with this stake."""
    NAME, LIMIT = "SessionExposure", "max_exposure_session"

    def exposure(self, d: dict, ctx: Ctx) -> tuple[float, str]:
        return session_exposure(ctx.sb), f"session {d['session']}"


class FreeBankroll(Control):
    NAME = "FreeBankroll"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        free = free_bankroll(ctx.sb, ctx.session.bankroll if ctx.session else 0.0)
        stake = float(d["stake"])
        return f"stake {stake:g} > free bankroll {free:g}" if stake > free else None


CONTROLS = (KillSwitch(), Expired(), SessionOff(), SessionHalted(), MaxAttempts(), DailyLoss(),
            StaleOdds(), PriceMoved(), MaxStake(), MaxOpenBets(), MatchExposure(),
            SessionExposure(), FreeBankroll())

# The controls that cannot refuse in a CSV backtest, and why (the backtest leaves them out; its
# tests run the whole chain beside and find the same bets).
BACKTEST_PASSES = {
    "KillSwitch": "decide makes no decision while halt is true",
    "Expired": "a decision is made and filled at the same instant (its match's kickoff), "
               "never after its expires_at",
    "SessionOff": "decide makes no decision for a disabled session",
    "MaxAttempts": "every decision is filled at its first attempt: nothing fails",
    "StaleOdds": "the match is on sale and its prices are seen at the decision's own instant "
                 "(age 0)",
    "PriceMoved": "the decision is filled at the price it was made on, never below its "
                  "min_odds",
    "MaxStake": "decide's stakes are positive and capped at max_stake (strategies.staking)",
    "FreeBankroll": "decide stakes only what the free bankroll covers, counting its earlier "
                    "decisions of the pass (staking.Purse), and nothing else is placed between "
                    "a decision and its fill",
}


def chain(session: Session, config: Config, leave_out=()) -> tuple[Control, ...]:
    """CONTROLS in order, without those that cannot refuse for `session` under `config` (nor
    the ones named in `leave_out`): for a caller whose config stays fixed (the backtest)."""
    return tuple(c for c in CONTROLS
                 if c.NAME not in leave_out and c.applies(session, config))


def first_refusal(decision: dict, ctx: Ctx, controls=CONTROLS) -> Refusal | None:
    """The first control that refuses (NAME, reason), None when all pass."""
    for control in controls:
        reason = control.check(decision, ctx)
        if reason:
            return Refusal(control.NAME, reason)
    return None
