"""The decision engine, pure: odds snapshot + config + ledger-derived book + now -> decisions.

`decide` returns the standing decisions (dicts exactly as decisions.json carries them) and, per
session, notes saying why it made nothing or fewer than it could (disabled, halted, stale odds,
limits, a bankroll that can't cover the next stake). The `decide` program, `betpipe decide
--once` and the backtest all call this code.

Work is done once where it can be: the snapshot is indexed once (`OddsIndex`; pass one in to
reuse it across passes), a session's window is two bisections in it, a session with no match
there costs nothing more, its stake and free bankroll are computed once per pass
(`staking.Purse`), timestamps are formatted once, and what a session's config fixes is worked
out once per config (`Compiled`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.core.config import Config, Session
from pipeline.core.state import Book, NotStanding, SessionBook
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies import rules, staking
from pipeline.strategies.snapshot import OddsIndex, check_snapshot
from pipeline.strategies.markets import pick_label
from pipeline.strategies.value import NO_TABLES, Tables, choose, session_problem

__all__ = ["MARKET", "Outcome", "OddsIndex", "Tables", "check_snapshot", "decide",
           "decision_id", "min_odds", "next_change"]

MARKET = "1X2"  # the default market
_JUST_AFTER = timedelta(microseconds=1)


@dataclass
class Outcome:
    decisions: list[dict]
    notes: dict[str, list[str]] = field(default_factory=dict)  # session id -> notes
    stale: int = 0  # scheduled matches with odds older than max_odds_age_s
    next_change: datetime | None = None  # when time alone may change the outcome (None: never)
    active: list[Session] = field(default_factory=list)  # sessions not off or halted


_last_iso: tuple = (None, "")  # (instant, its ISO text): successive calls often share `now`


def _iso_of(now: datetime) -> str:
    global _last_iso
    last = _last_iso
    if last[0] != now:
        last = _last_iso = (now, iso(now))
    return last[1]


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

def id_parts(session: Session) -> tuple[str, str]:
    """(prefix, suffix): a decision's id is prefix + match key + suffix ("session|key|market")."""
    return session.id + "|", "|" + session.market


class Compiled:
    """What a session's config fixes, worked out once per Session object (configs are frozen and
    a running program keeps the same objects until the file changes): the side picker, the odds
    bounds, id prefix, window end, whether any limit can halt it, and memos of the min_odds and
    reason strings of the prices it has met."""
    __slots__ = ("session", "pick", "lo", "hi", "prefix", "to", "can_halt", "capped", "floors",
                 "reasons", "stakes", "hot", "suffix")
    MEMO = 4096  # entries per memo before it starts afresh (bounded memory in a 24/7 program)

    def __init__(self, session: Session):
        self.session = session
        # match -> (side, price, line, prices); value sessions pick per match from their
        # probabilities (strategies/value)
        self.pick = None if session.selection == "value" else rules.market_picker(session)
        self.prefix, self.suffix = id_parts(session)
        self.lo, self.hi = rules.bounds(session.odds)
        self.to = timedelta(minutes=session.window.to_minutes)
        lim = session.limits
        self.can_halt = rules.can_halt(lim, daily=True, review=session.review)
        # whether bet_slots can be anything but "no limit"
        self.capped = (lim.max_bets is not None or lim.max_open_bets is not None
                       or session.staking.result_dependent)
        self.floors: dict[float, float] = {}  # price -> min_odds
        self.stakes = staking.StakePlan(session)
        self.reasons: dict[tuple, str] = {}  # (selection, price, reason, line) -> reason
        # what _session reads for every match, in one tuple
        self.hot = (self.pick, self.lo, self.hi, session.id, self.prefix, self.to, self.floors,
                    self.reasons)

    def floor(self, price: float) -> float:
        floor = self.floors.get(price)
        if floor is None:
            if len(self.floors) >= self.MEMO:
                self.floors.clear()
            floor = self.floors[price] = min_odds(price, self.session)
        return floor

    def reason(self, selection: str, price: float, stake_reason: str,
               line: float | None = None) -> str:
        key = (selection, price, stake_reason, line)
        why = self.reasons.get(key)
        if why is None:
            if len(self.reasons) >= self.MEMO:
                self.reasons.clear()
            why = self.reasons[key] = (
                f"{rules.odds_reason(selection, price, self.session.odds, line, self.session.market)}; "
                f"{stake_reason}")
        return why


_COMPILED: dict[int, Compiled] = {}  # id(session) -> its Compiled (checked by identity)


def compiled(session: Session) -> Compiled:
    c = _COMPILED.get(id(session))
    if c is None or c.session is not session:
        if len(_COMPILED) >= Compiled.MEMO:
            _COMPILED.clear()
        c = _COMPILED[id(session)] = Compiled(session)
    return c


_LAST_CONFIG: tuple = (None, [])  # (the config decide last saw, its sessions' Compiled)


def compiled_all(config: Config) -> list[Compiled]:
    """`compiled(s)` of each of the config's sessions, in order, kept for the last Config."""
    global _LAST_CONFIG
    if _LAST_CONFIG[0] is not config:
        _LAST_CONFIG = (config, [compiled(s) for s in config.sessions])
    return _LAST_CONFIG[1]


def _notes(counts: dict[str, int]) -> list[str]:
    return [why if n == 1 else f"{why} ({n} matches)" for why, n in counts.items()]


def _blocked_parts(blocked) -> tuple:
    """`did in blocked` as three `in` tests, without a call per match when blocked is the Book's
    view (Book.not_standing)."""
    return ((blocked.placed, blocked.flying, blocked.final)
            if isinstance(blocked, NotStanding) else (blocked, (), ()))


def _session(c: Compiled, sb: SessionBook, blocked: tuple, index: OddsIndex, stale: set[str],
             now: datetime | None, previous: dict[str, dict], max_age: float, now_iso: str,
             made: list[dict], tables: Tables = NO_TABLES, count_all: bool = True
             ) -> list[str] | None:
    """One session's decisions, appended to `made`; returns its notes (None: none).
    `blocked`: `_blocked_parts` of the decision ids that do not stand; `count_all`: `decide`'s."""
    session = c.session
    matches = index.select(session, now)
    if not matches:
        return None  # nothing in its competitions and window: no stake, bankroll or limit asked
    if session.probability is not None:  # a probability session (strategies/value)
        problem = session_problem(session.probability, tables)
        if problem:
            return [problem]
        return _probability_session(c, sb, blocked, matches, stale, previous, max_age, now_iso,
                                    made, tables, index)
    counts: dict[str, int] = {}
    stale_n = n = 0  # n: decisions made
    slots, limit = rules.bet_slots(session, sb) if c.capped else (None, "")
    purse: staking.Purse | None = None  # made for the first match that passes the filters
    reserved = 0.0
    pick, lo, hi, sid, prefix, to, floors, reasons = c.hot
    suffix, market = c.suffix, session.market
    placed, flying, final = blocked
    for m in matches:
        choice = pick(m)
        if choice is None:  # no price of the session's market, or no line in its bounds
            continue
        selection, price, line, prices = choice
        if not lo <= price <= hi:
            continue
        did = prefix + m.key + suffix
        if did in placed or did in flying or did in final:
            continue
        if stale and m.key in stale:
            stale_n += 1
            continue
        if slots is not None and n >= slots:
            why = f"limit reached: {limit}"
            counts[why] = counts.get(why, 0) + 1
            if count_all:
                continue
            break  # n no longer moves: every later match is refused the same
        if purse is None:
            purse = staking.Purse(session, sb, c.stakes)
        res = purse.stake(prices, selection, reserved)
        stake = res.stake
        if stake is None:
            counts[res.reason] = counts.get(res.reason, 0) + 1
            if count_all or not purse.same_for_every_match:
                continue
            break  # the same stake against the same free bankroll for every later match
        reserved += stake
        n += 1
        prev = previous.get(did) if previous else None
        d = {
            "id": did, "session": sid, "match_key": m.key, "market": market,
            "selection": selection, "odds": price, "odds_at": m.seen_iso,
            "min_odds": floors.get(price) or c.floor(price), "stake": stake,
            "reason": (reasons.get((selection, price, res.reason, line))
                       or c.reason(selection, price, res.reason, line)),
            "created_at": (prev and prev.get("created_at")) or now_iso,
            # the window's end: kickoff - to_minutes
            "expires_at": index.iso(m.kickoff - to) if to else m.kickoff_iso,
        }
        if line is not None:
            d["line"] = line
        made.append(d)
    return _session_notes(stale_n, counts, max_age)


def _session_notes(stale_n: int, counts: dict[str, int], max_age: float) -> list[str] | None:
    if not (stale_n or counts):
        return None
    notes = []
    if stale_n:
        notes.append(f"stale odds: {stale_n} match{'es' if stale_n != 1 else ''} "
                     f"older than max_odds_age_s {max_age:g}")
    return notes + _notes(counts)


def _probability_session(c: Compiled, sb: SessionBook, blocked: tuple, matches, stale,
                         previous, max_age: float, now_iso: str, made: list[dict],
                         tables: Tables, index: OddsIndex) -> list[str] | None:
    """`_session` for a session with `probability`: p (or an AH/OU bet's outcome
    probabilities) per match and the value pick or the session's own side (strategies/value),
    kelly on them."""
    session = c.session
    source = session.probability
    counts: dict[str, int] = {}
    stale_n = n = 0
    slots, limit = rules.bet_slots(session, sb) if c.capped else (None, "")
    purse: staking.Purse | None = None
    reserved = 0.0
    placed, flying, final = blocked
    # a plan's `edge` key (kelly's) scales a market probability; other plans have no such key
    boost = (1 + session.staking.edge
             if source.source == "market" and session.staking.reads_edge else 1.0)
    for m in matches:
        did = c.prefix + m.key + c.suffix
        if did in placed or did in flying or did in final:
            continue
        if stale and m.key in stale:
            stale_n += 1
            continue
        got = choose(session, c.pick, m, tables, c.lo, c.hi)
        if got is None:
            continue
        if isinstance(got, str):
            counts[got] = counts.get(got, 0) + 1
            continue
        if slots is not None and n >= slots:
            why = f"limit reached: {limit}"
            counts[why] = counts.get(why, 0) + 1
            continue
        if purse is None:
            purse = staking.Purse(session, sb, c.stakes)
        selection, price, line = got.selection, got.price, got.line
        res = purse.stake(got.prices, selection, reserved,
                          p=None if got.p is None else got.p * boost, outcomes=got.outcomes)
        if res.stake is None:
            counts[res.reason] = counts.get(res.reason, 0) + 1
            continue
        reserved += res.stake
        n += 1
        prev = previous.get(did) if previous else None
        p_text = (f"p {got.p:.4f}" if got.outcomes is None else ", ".join(
            f"{o} {q:.4f}" for o, q in got.outcomes.items() if q >= 5e-5))
        d = {
            "id": did, "session": session.id, "match_key": m.key, "market": session.market,
            "selection": selection, "odds": price, "odds_at": m.seen_iso,
            "min_odds": c.floor(price), "stake": res.stake,
            "reason": (f"{pick_label(session.market, selection, line)} at {price:.2f}: "
                       f"{p_text} ({source.source}), edge {got.edge:+.4f}; {res.reason}"),
            "created_at": (prev and prev.get("created_at")) or now_iso,
            "expires_at": index.iso(m.kickoff - c.to) if c.to else m.kickoff_iso,
        }
        if line is not None:
            d["line"] = line
        made.append(d)
    return _session_notes(stale_n, counts, max_age)


# --------------------------------------------------------------------------- every session

def decide(snapshot: dict | OddsIndex, config: Config, book: Book, now: datetime,
           previous: dict[str, dict] | None = None, *, windows: bool = True,
           with_next_change: bool = True, tables: Tables = NO_TABLES,
           count_all: bool = True) -> Outcome:
    """The standing decisions for this odds snapshot, config, ledger state and time.

    `snapshot` is an odds-data document (used as it is: check it first with check_snapshot) or
    its `OddsIndex` (checked; build it once per snapshot to share it between passes).
    `previous` (id -> decision of the last decisions.json) keeps `created_at` of decisions that
    still stand. `windows=False` ignores the sessions' windows (the backtest: all odds
    pre-match). Sessions come in config order, matches by kickoff then key.
    `with_next_change=False` leaves `next_change` to the caller, once its decisions are out:
    `next_change(index, config, book, now, outcome.active)` (the decide program).
    `tables`: the probabilities of sessions with `probability` from model or reference
    (strategies/value; the decide program's probabilities.json, the backtest's).
    `count_all=False`: a session (without `probability`) stops at its first match refused for a
    reason every later match of the pass would get too — its bet limit reached, or a stake the
    same for every match (`Purse.same_for_every_match`) refused — so the decisions are the same
    and its note counts that one match (the history backtest: it reads a session's notes only
    for whether the session was held back).
    """
    index = snapshot if isinstance(snapshot, OddsIndex) else OddsIndex(snapshot, check=False)
    previous = previous or {}
    stale = index.stale_keys(now, config.max_odds_age_s)
    blocked = _blocked_parts(book.not_standing())
    now_iso = _iso_of(now)
    decisions: list[dict] = []
    notes: dict[str, list[str]] = {}
    active: list[Session] = []  # sessions that looked at matches
    books, halt_all, max_age = book.sessions, config.halt, config.max_odds_age_s
    at = now if windows else None
    for c in compiled_all(config):
        session = c.session
        if not session.enabled:
            notes[session.id] = ["disabled"]
            continue
        if halt_all:
            notes[session.id] = ["halt: true in the config"]
            continue
        sid = session.id
        sb = books.get(sid) or SessionBook(sid)
        halt = sb.halted and rules.standing_halt(sb, now)
        if halt:
            notes[sid] = [f"halted: {halt}"]
            continue
        cause = rules.session_halt_cause(session, sb, now) if c.can_halt else None
        if cause:
            notes[sid] = [f"halting: {cause}"]
            continue
        active.append(session)
        why = _session(c, sb, blocked, index, stale, at, previous, max_age, now_iso, decisions,
                       tables, count_all)
        if why:
            notes[sid] = why
    nxt = next_change(index, config, book, now, active) if windows and with_next_change else None
    return Outcome(decisions, notes, len(stale), nxt, active)


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
