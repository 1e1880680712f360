"""The executor's risk controls: an ordered chain, the first refusal wins (STYLE: flumine).

Each control is a small class with a constant `NAME` and `check(decision, ctx) -> str | None`,
the reason it refuses or None. They see the ledger's `Book` including bets in flight (invariant
8) and the current odds-data. Reasons carry no ever-changing numbers (an age, the time), so a
refusal is written once per decision and control and again only when its reason really changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.bookmakers import UNREACHABLE
from pipeline.core.config import Config, Session
from pipeline.core.files import price_of
from pipeline.core.state import Book, SessionBook, free_bankroll
from pipeline.core.timefmt import parse_iso
from pipeline.strategies.rules import daily_profit, review_figures, standing_halt
from pipeline.strategies.settlement import halt_cause

MAX_ATTEMPTS = 3  # attempts the bookmaker answered (or may have)
MAX_TRIES = 10  # every attempt, those lost before the bookmaker was called included
NOT_FOUND = "not_found_on_reconcile"  # BET_FAILED reason: the bookmaker never had the bet
# reasons (prefixes) of bets that never got there
NEVER_REACHED = (NOT_FOUND, "browser_error", UNREACHABLE)
ON_SALE = "scheduled"


@dataclass
class Ctx:
    """What the controls look at for one decision: now, config, ledger state, odds-data."""
    now: datetime
    config: Config
    book: Book
    odds: dict | None  # the current odds-data document (None: none yet)
    matches: dict[str, dict] = field(default_factory=dict)
    _sessions: dict[str, Session | None] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not self.matches and self.odds:
            self.matches = {m.get("key"): m for m in self.odds.get("matches", [])}

    def session_cfg(self, decision: dict) -> Session | None:
        sid = decision["session"]
        if sid not in self._sessions:  # every control asks: look it up once
            self._sessions[sid] = self.config.session(sid)
        return self._sessions[sid]

    def sb(self, decision: dict) -> SessionBook:
        return self.book.sessions.get(decision["session"]) or SessionBook(decision["session"])

    def match(self, decision: dict) -> dict | None:
        return self.matches.get(decision["match_key"])

    def price(self, decision: dict) -> float | None:
        """The current price of the decision's market, side and line (None: not on sale)."""
        return price_of(self.match(decision) or {}, decision.get("market", "1X2"),
                        decision["selection"], decision.get("line"))


class KillSwitch:
    NAME = "KillSwitch"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        return "halt: true in system-config.json" if ctx.config.halt else None


class Expired:
    NAME = "Expired"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        try:
            expires = parse_iso(d["expires_at"])
        except (KeyError, ValueError):
            return f"expires_at is not a timestamp: {d.get('expires_at')!r}"
        return f"expired at {d['expires_at']}" if ctx.now > expires else None


class SessionOff:
    NAME = "SessionOff"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session_cfg(d)
        if s is None:
            return f"session {d['session']!r} is not in system-config.json"
        return None if s.enabled else f"session {d['session']!r} is disabled"


class SessionHalted:
    """Halted by a SESSION_HALTED event, or by a cause that is already there but not yet written
    (the executor then writes it: see engine.Executor.halt_sessions)."""
    NAME = "SessionHalted"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        sb = ctx.sb(d)
        halted = standing_halt(sb, ctx.now)
        if halted:
            return f"session halted: {halted}"
        s = ctx.session_cfg(d)
        cause = halt_cause(s.limits if s else None, settled_profit=sb.settled_profit,
                           placed=sb.bets_placed + len(sb.in_flight), first_bet_at=sb.first_bet_at,
                           now=ctx.now, review=s.review if s else None,
                           reviewed=review_figures(sb) if s and s.review else None)
        return f"halt cause {cause[0]} (counting bets in flight)" if cause else None


class MaxAttempts:
    """A decision is tried at most MAX_ATTEMPTS times at the bookmaker. An attempt that never
    reached it — the executor died before the call (reconciled as NOT_FOUND), or the site could
    not be reached before the bet was sent (`browser_error`, `unreachable`) — counts only
    towards MAX_TRIES (and backs off: backoff.py):
    a crash or an outage must not use up the attempts of every decision it touched."""
    NAME = "MaxAttempts"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        tries = ctx.book.attempts(d["id"])
        lost = sum(1 for f in ctx.book.failures.get(d["id"], [])
                   if str(f.get("reason", "")).startswith(NEVER_REACHED))
        if tries - lost >= MAX_ATTEMPTS:
            return f"{tries - lost} attempts failed (limit {MAX_ATTEMPTS})"
        if tries >= MAX_TRIES:
            return (f"{tries} attempts, {lost} of them never reached the bookmaker "
                    f"(limit {MAX_TRIES})")
        return None


class DailyLoss:
    """`limits.daily_loss`: no new bet for the rest of a UTC day whose settled loss reached it."""
    NAME = "DailyLoss"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session_cfg(d)
        if s is None or s.limits.daily_loss is None:
            return None
        if daily_profit(ctx.sb(d), ctx.now) <= -s.limits.daily_loss:
            return f"daily_loss {s.limits.daily_loss:g} reached on {ctx.now.date().isoformat()}"
        return None


class StaleOdds:
    NAME = "StaleOdds"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        m = ctx.match(d)
        if m is None:
            return "match not in odds-data"
        if m.get("status") != ON_SALE:
            return f"match {m.get('status')}: not on sale"
        if ctx.price(d) is None:
            return "no price on sale"
        seen = m.get("seen_at") or ctx.odds.get("fetched_at")
        try:
            age = ctx.now - parse_iso(seen)
        except ValueError:
            return f"seen_at is not a timestamp: {seen!r}"
        if age > timedelta(seconds=ctx.config.max_odds_age_s):
            return f"odds older than max_odds_age_s {ctx.config.max_odds_age_s:g}"
        return None


class PriceMoved:
    NAME = "PriceMoved"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        price = ctx.price(d)
        if price is not None and price < float(d["min_odds"]):
            return f"{d['selection']} {price:g} < min_odds {float(d['min_odds']):g}"
        return None


class MaxStake:
    NAME = "MaxStake"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session_cfg(d)
        cap = s.limits.max_stake if s else None
        stake = float(d["stake"])
        if stake <= 0:
            return f"stake {stake:g} is not positive"
        return f"stake {stake:g} > max_stake {cap:g}" if cap is not None and stake > cap else None


class MaxOpenBets:
    NAME = "MaxOpenBets"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session_cfg(d)
        limit = s.limits.max_open_bets if s else None
        sb = ctx.sb(d)
        if limit is not None and len(sb.open_bets) + len(sb.in_flight) >= limit:
            return f"max_open_bets {limit} reached (open or in flight)"
        return None


def match_exposure(book: Book, match_key: str) -> float:
    """Every session's stake on one match: open placed bets and intents in flight."""
    placed = sum(b.stake for b in book.placed.values() if b.open and b.match_key == match_key)
    flying = sum(i.stake for i in book.unresolved.values() if i.match_key == match_key)
    return round(placed + flying, 2)


def session_exposure(sb: SessionBook) -> float:
    """One session's open stake and stake in flight (bets open from before its last reset
    included, like max_open_bets: a reset gives back no exposure)."""
    return round(sb.open_stake + sum(i.stake for i in sb.in_flight.values()), 2)


class _ExposureCap:
    """Refuses when the exposure (open + in-flight stake) with this stake exceeds a limit."""
    LIMIT = ""  # the Limits field

    def exposure(self, d: dict, ctx: Ctx) -> tuple[float, str]:
        """(the exposure now, what it is the exposure of)."""
        raise NotImplementedError

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session_cfg(d)
        cap = getattr(s.limits, self.LIMIT) if s else None
        if cap is None:
            return None
        stake = float(d["stake"])
        now, of = self.exposure(d, ctx)
        if now + stake > cap + 1e-9:
            return (f"stake {stake:g} would take the exposure on {of} (open and in flight) "
                    f"above {self.LIMIT} {cap:g}")
        return None


class MatchExposure(_ExposureCap):
    """`limits.max_exposure_match`: all sessions' open + in-flight stake on the decision's match,
    with this stake, must not exceed the deciding session's limit."""
    NAME, LIMIT = "MatchExposure", "max_exposure_match"

    def exposure(self, d: dict, ctx: Ctx) -> tuple[float, str]:
        return match_exposure(ctx.book, d["match_key"]), f"{d['match_key']} (all sessions)"


class SessionExposure(_ExposureCap):
    """`limits.max_exposure_session`: the session's open + in-flight stake, with this stake."""
    NAME, LIMIT = "SessionExposure", "max_exposure_session"

    def exposure(self, d: dict, ctx: Ctx) -> tuple[float, str]:
        return session_exposure(ctx.sb(d)), f"session {d['session']}"


class FreeBankroll:
    NAME = "FreeBankroll"

    def check(self, d: dict, ctx: Ctx) -> str | None:
        s = ctx.session_cfg(d)
        free = free_bankroll(ctx.sb(d), s.bankroll if s else 0.0)
        stake = float(d["stake"])
        return f"stake {stake:g} > free bankroll {free:g}" if stake > free else None


CONTROLS = (KillSwitch(), Expired(), SessionOff(), SessionHalted(), MaxAttempts(), DailyLoss(),
            StaleOdds(), PriceMoved(), MaxStake(), MaxOpenBets(), MatchExposure(),
            SessionExposure(), FreeBankroll())


def first_refusal(decision: dict, ctx: Ctx, controls=CONTROLS) -> tuple[str, str] | None:
    """(control NAME, reason) of the first control that refuses, None when all pass."""
    for control in controls:
        reason = control.check(decision, ctx)
        if reason:
            return control.NAME, reason
    return None
