"""The decision engine, pure: odds snapshot + config + ledger-derived book + now -> decisions.

`decide` returns the standing decisions (dicts exactly as decisions.json carries them) and, per
session, notes saying why it made nothing or fewer than it could (disabled, halted, stale odds,
limits, bankroll). The `decide` program, execute's re-checks and the backtest all call this code.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.core.config import Config, Session
from pipeline.core.state import Book, SessionBook
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies import rules, staking

MARKET = "1X2"
STATUSES = ("scheduled", "live", "finished", "postponed", "void")


@dataclass
class Outcome:
    decisions: list[dict]
    notes: dict[str, list[str]] = field(default_factory=dict)  # session id -> notes
    stale: int = 0  # scheduled matches with odds older than max_odds_age_s


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


# --------------------------------------------------------------------------- the snapshot

def _price_ok(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 1


def check_snapshot(doc: dict) -> None:
    """Raise ValueError('$.json.path: reason') when an odds-data document cannot be used."""
    if not isinstance(doc, dict):
        raise ValueError("$: the top level is not an object")
    try:
        parse_iso(doc.get("fetched_at"))
    except ValueError as e:
        raise ValueError(f"$.fetched_at: {e}") from None
    matches = doc.get("matches")
    if not isinstance(matches, list):
        raise ValueError("$.matches: missing or not a list")
    for i, m in enumerate(matches):
        at = f"$.matches[{i}]"
        if not isinstance(m, dict):
            raise ValueError(f"{at}: not an object")
        if not isinstance(m.get("key"), str) or not m["key"]:
            raise ValueError(f"{at}.key: missing or not a string")
        if not isinstance(m.get("competition"), str):
            raise ValueError(f"{at}.competition: missing or not a string")
        if m.get("status") not in STATUSES:
            raise ValueError(f"{at}.status: {m.get('status')!r} is not one of {', '.join(STATUSES)}")
        for ts in ("kickoff", "seen_at"):
            if ts == "seen_at" and m.get(ts) is None:
                continue
            try:
                parse_iso(m.get(ts))
            except ValueError as e:
                raise ValueError(f"{at}.{ts}: {e}") from None
        odds = m.get("odds")
        if odds is None:
            continue
        if not isinstance(odds, dict):
            raise ValueError(f"{at}.odds: not an object or null")
        for side in rules.SIDES:
            if not _price_ok(odds.get(side)):
                raise ValueError(f"{at}.odds.{side}: {odds.get(side)!r} is not a price > 1")


@dataclass(frozen=True)
class _Match:
    key: str
    competition: str
    kickoff: datetime
    odds: dict
    seen_at: datetime


def _candidates(snapshot: dict) -> list[_Match]:
    """Scheduled matches with odds on sale, by kickoff then key."""
    fetched = snapshot["fetched_at"]
    out = [_Match(m["key"], m["competition"], parse_iso(m["kickoff"]), m["odds"],
                  parse_iso(m.get("seen_at") or fetched))
           for m in snapshot.get("matches", ())
           if m.get("status") == "scheduled" and m.get("odds")]
    out.sort(key=lambda m: (m.kickoff, m.key))
    return out


# --------------------------------------------------------------------------- deciding

def _notes(counts: Counter) -> list[str]:
    return [why if n == 1 else f"{why} ({n} matches)" for why, n in counts.items()]


def _session(session: Session, sb: SessionBook, book: Book, matches: list[_Match],
             stale: set[str], now: datetime, previous: dict[str, dict], max_age: float,
             windows: bool) -> tuple[list[dict], list[str]]:
    made: list[dict] = []
    counts: Counter = Counter()
    stale_n = 0
    slots, limit = rules.bet_slots(session, sb)
    reserved = 0.0
    for m in matches:
        if not rules.competition_ok(session, m.competition):
            continue
        if windows and not rules.in_window(session.window, m.kickoff, now):
            continue
        did = decision_id(session.id, m.key)
        if not book.stands(did):
            continue
        if m.key in stale:
            stale_n += 1
            continue
        selection, price = rules.pick(session.selection, m.odds)
        if not rules.odds_in_bounds(session.odds, price):
            continue
        if slots is not None and len(made) >= slots:
            counts[f"limit reached: {limit}"] += 1
            continue
        res = staking.stake_for(session, sb, m.odds, selection, reserved=reserved)
        if res.stake is None:
            counts[res.reason] += 1
            continue
        reserved += res.stake
        prev = previous.get(did) or {}
        made.append({
            "id": did, "session": session.id, "match_key": m.key, "market": MARKET,
            "selection": selection, "odds": price, "odds_at": iso(m.seen_at),
            "min_odds": min_odds(price, session), "stake": res.stake,
            "reason": f"{rules.odds_reason(selection, price, session.odds)}; {res.reason}",
            "created_at": prev.get("created_at") or iso(now),
            "expires_at": iso(rules.window_end(session.window, m.kickoff)),
        })
    notes = []
    if stale_n:
        notes.append(f"stale odds: {stale_n} match{'es' if stale_n != 1 else ''} "
                     f"older than max_odds_age_s {max_age:g}")
    return made, notes + _notes(counts)


def decide(snapshot: dict, config: Config, book: Book, now: datetime,
           previous: dict[str, dict] | None = None, *, windows: bool = True) -> Outcome:
    """The standing decisions for this odds snapshot, config, ledger state and time.

    `previous` (id -> decision of the last decisions.json) keeps `created_at` of decisions that
    still stand. `windows=False` ignores the sessions' windows (the backtest: all odds pre-match).
    Sessions come in config order, matches by kickoff then key.
    """
    previous = previous or {}
    matches = _candidates(snapshot)
    limit = timedelta(seconds=config.max_odds_age_s)
    stale = {m.key for m in matches if now - m.seen_at > limit}
    decisions: list[dict] = []
    notes: dict[str, list[str]] = {}
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
        cause = rules.halt_cause(session, sb, now)
        if cause:
            notes[session.id] = [f"halting: {cause}"]
            continue
        made, why = _session(session, sb, book, matches, stale, now, previous,
                             config.max_odds_age_s, windows)
        decisions.extend(made)
        if why:
            notes[session.id] = why
    return Outcome(decisions, notes, len(stale))
