"""The decision engine, pure: odds snapshot + config + ledger-derived book + now -> decisions.

`decide` returns the standing decisions (dicts exactly as decisions.json carries them) and, per
session, notes saying why it made nothing or fewer than it could (disabled, halted, stale odds,
limits, a bankroll that can't cover the next stake). The `decide` program, `betpipe decide
--once` and the backtest all call this code.

Work is done once where it can be: the snapshot is indexed once (`OddsIndex`; pass one in to
reuse it across passes), a session's window is two bisections in it, its stake and free
bankroll are computed once per pass (`staking.Purse`), timestamps are formatted once.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.core.config import Config, Session
from pipeline.core.state import Book, SessionBook
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies import rules, staking
from pipeline.strategies.snapshot import OddsIndex, check_snapshot

__all__ = ["MARKET", "Outcome", "OddsIndex", "check_snapshot", "decide", "decision_id",
           "min_odds", "next_change"]

MARKET = "1X2"
_JUST_AFTER = timedelta(microseconds=1)


@dataclass
class Outcome:
    decisions: list[dict]
    notes: dict[str, list[str]] = field(default_factory=dict)  # session id -> notes
    stale: int = 0  # scheduled matches with odds older than max_odds_age_s
    next_change: datetime | None = None  # when time alone may change the outcome (None: never)


def decision_id(session_id: str, match_key: str, market: str = MARKET) -> str:
    return f"{session_id}|{match_key}|{market}"


def min_odds(price: float, session: Session) -> float:
    """max(odds.min, odds x (1 - slippage)), to 2 decimals (floored: never above the price) and
    above 1."""
    m = staking.floor2(price * (1 - session.slippage))
    if session.odds.min is not None:
        m = max(m, staking.ceil2(session.odds.min))
    if m <= 1:
        m = min(price, 1.01)
    return round(m, 2)


# --------------------------------------------------------------------------- one session

def _notes(counts: Counter) -> list[str]:
    return [why if n == 1 else f"{why} ({n} matches)" for why, n in counts.items()]


def _session(session: Session, sb: SessionBook, blocked: set[str], index: OddsIndex,
             stale: set[str], now: datetime | None, previous: dict[str, dict], max_age: float,
             now_iso: str) -> tuple[list[dict], list[str]]:
    """One session's decisions. `blocked`: decision ids that do not stand (Book.not_standing)."""
    made: list[dict] = []
    counts: Counter = Counter()
    stale_n = 0
    slots, limit = rules.bet_slots(session, sb)
    purse = staking.Purse(session, sb)
    reserved = 0.0
    pick, (lo, hi), sid = rules.picker(session.selection), rules.bounds(session.odds), session.id
    to = timedelta(minutes=session.window.to_minutes)
    floors: dict[float, float] = {}  # price -> min_odds
    reasons: dict[tuple, str] = {}  # (selection, price, stake reason) -> reason
    expiry = (lambda m: m.kickoff_iso) if not to else (lambda m: index.iso(m.kickoff - to))
    prefix, suffix = sid + "|", "|" + MARKET
    for m in index.select(session, now):
        selection, price = pick(m.odds)
        if not lo <= price <= hi:
            continue
        did = prefix + m.key + suffix
        if did in blocked:
            continue
        if stale and m.key in stale:
            stale_n += 1
            continue
        if slots is not None and len(made) >= slots:
            counts[f"limit reached: {limit}"] += 1
            continue
        res = purse.stake(m.odds, selection, reserved)
        if res.stake is None:
            counts[res.reason] += 1
            continue
        reserved += res.stake
        floor = floors.get(price)
        if floor is None:
            floor = floors[price] = min_odds(price, session)
        why = reasons.get((selection, price, res.reason))
        if why is None:
            why = reasons[(selection, price, res.reason)] = (
                f"{rules.odds_reason(selection, price, session.odds)}; {res.reason}")
        prev = previous.get(did)
        made.append({
            "id": did, "session": sid, "match_key": m.key, "market": MARKET,
            "selection": selection, "odds": price, "odds_at": m.seen_iso, "min_odds": floor,
            "stake": res.stake, "reason": why,
            "created_at": (prev and prev.get("created_at")) or now_iso,
            "expires_at": expiry(m),  # the window's end: kickoff - to_minutes
        })
    notes = []
    if stale_n:
        notes.append(f"stale odds: {stale_n} match{'es' if stale_n != 1 else ''} "
                     f"older than max_odds_age_s {max_age:g}")
    return made, notes + _notes(counts)


# --------------------------------------------------------------------------- every session

def decide(snapshot: dict | OddsIndex, config: Config, book: Book, now: datetime,
           previous: dict[str, dict] | None = None, *, windows: bool = True) -> Outcome:
    """The standing decisions for this odds snapshot, config, ledger state and time.

    `snapshot` is an odds-data document (used as it is: check it first with check_snapshot) or
    its `OddsIndex` (checked; build it once per snapshot to share it between passes). `previous` (id -> decision of the last decisions.json) keeps
    `created_at` of decisions that still stand. `windows=False` ignores the sessions' windows
    (the backtest: all odds pre-match). Sessions come in config order, matches by kickoff then
    key.
    """
    index = snapshot if isinstance(snapshot, OddsIndex) else OddsIndex(snapshot, check=False)
    previous = previous or {}
    stale = index.stale_keys(now, config.max_odds_age_s)
    blocked = book.not_standing()
    now_iso = iso(now)
    decisions: list[dict] = []
    notes: dict[str, list[str]] = {}
    active: list[Session] = []  # sessions that looked at matches
    for session in config.sessions:
        if not session.enabled:
            notes[session.id] = ["disabled"]
            continue
        if config.halt:
            notes[session.id] = ["halt: true in the config"]
            continue
        sb = book.sessions.get(session.id) or SessionBook(session.id)
        halt = rules.standing_halt(sb, now)
        if halt:
            notes[session.id] = [f"halted: {halt}"]
            continue
        cause = rules.session_halt_cause(session, sb, now)
        if cause:
            notes[session.id] = [f"halting: {cause}"]
            continue
        active.append(session)
        made, why = _session(session, sb, blocked, index, stale, now if windows else None,
                             previous, config.max_odds_age_s, now_iso)
        decisions.extend(made)
        if why:
            notes[session.id] = why
    nxt = next_change(index, config, book, now, active) if windows else None
    return Outcome(decisions, notes, len(stale), nxt)


def next_change(index: OddsIndex, config: Config, book: Book, now: datetime,
                active: list[Session]) -> datetime | None:
    """The first instant after `now` at which the passing of time alone may change `decide`'s
    outcome (same snapshot, config and ledger), given the `active` sessions (those not off or
    halted): a window opening or closing or odds turning stale for them, max_duration_h running
    out, a UTC day ending for a session with daily_loss. None: never."""
    times: list[datetime] = []
    day_end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    for s in config.sessions:
        if s.enabled and not config.halt and s.limits.daily_loss is not None:
            times.append(day_end)  # a daily_loss halt or cause ends with the day
    for s in active:
        sb = book.sessions.get(s.id)
        if s.limits.max_duration_h is not None and sb and sb.first_bet_at:
            times.append(parse_iso(sb.first_bet_at) + timedelta(hours=s.limits.max_duration_h))
        opens, closes = index.next_open(s, now), index.next_close(s, now)
        times += [t for t in (opens, closes and closes + _JUST_AFTER) if t is not None]
    stale_at = index.next_stale(now, config.max_odds_age_s) if active else None
    if stale_at is not None:
        times.append(stale_at + _JUST_AFTER)
    return min((t for t in times if t > now), default=None)
