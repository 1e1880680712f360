"""An `OddsIndex` kept up to date one match at a time, for a caller that sees changes rather
than whole snapshots (the odds-history backtest, pipeline.analysis.histback).

`RunningIndex` holds the betable matches as `OddsIndex` does (sorted by kickoff then key,
overall and per competition) but is changed in place: `put(...)` adds, moves or updates one
match, `drop(key)` removes it — a price change is a few attribute writes, a new match or a new
kickoff one insertion into sorted lists. `view(matches)` is an `OddsIndex` of some of its
matches (sharing their `Match` objects), for `decide` to decide on only what may have changed
(and, for the sessions it names `whole`, on every match); the running index itself answers
`next_change`'s questions (`next_open`, `next_close`, `next_stale`) about every match. `Sight`
and `entering` say which matches the sessions can see: their competitions and windows (and,
given the book, whether they have decided on them already). Nothing here decides anything: that
is `engine.decide`'s.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta

from pipeline.core.config import Session
from pipeline.core.state import NotStanding
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies.engine import id_parts
from pipeline.strategies.rules import MARKET_FIELD
from pipeline.strategies.snapshot import Match, OddsIndex, _Run

_ANY = object()  # a session without `competitions`: every competition


def _place(run: _Run, m: Match) -> int:
    """Where `m` goes (or is) in `run`'s (kickoff, key) order."""
    ks, ms = run.kickoffs, run.matches
    i, j = bisect_left(ks, m.kickoff), bisect_right(ks, m.kickoff)
    while i < j and ms[i].key < m.key:
        i += 1
    return i


def _insert(run: _Run, m: Match) -> None:
    i = _place(run, m)
    run.matches.insert(i, m)
    run.kickoffs.insert(i, m.kickoff)


def _remove(run: _Run, m: Match) -> None:
    i = _place(run, m)
    if i >= len(run.matches) or run.matches[i] is not m:
        raise KeyError(m.key)  # never: every Match is in its runs until dropped
    del run.matches[i], run.kickoffs[i]


class _View(OddsIndex):
    """An OddsIndex of `matches` (already in (kickoff, key) order, ranks set), built without a
    document: what `decide` reads of it is `select`, `stale_keys`, `iso` (and `next_*`). The
    sessions in `whole` select from `running` (every match) instead, less the first matches
    they have a decision on that does not stand (in `blocked`): `decide` passes over those."""

    def __init__(self, matches: list[Match], seen_times: list[datetime], iso_memo: dict,
                 running: "RunningIndex", whole: frozenset[str], blocked):
        self.doc, self.checked, self.version, self._at = None, False, None, []
        self.running, self.whole, self.blocked = running, whole, blocked
        self.all = _Run(matches)
        groups: dict[str, list[Match]] = {}
        for m in matches:
            groups.setdefault(m.competition, []).append(m)
        self.by_competition = {c: _Run(ms) for c, ms in groups.items()}
        self.seen_times = seen_times
        self._iso = iso_memo

    def select(self, session: Session, now: datetime | None):
        if session.id not in self.whole:
            return super().select(session, now) if self.all.matches else []
        ms = self.running.select(session, now)
        prefix, suffix = id_parts(session)
        blocked, k, last = self.blocked, 0, len(ms) - 1
        while k < last and prefix + ms[k].key + suffix in blocked:
            k += 1  # decided on already: skipped by decide (and one is kept: ms stays ms)
        return ms[k:] if k else ms


class RunningIndex(OddsIndex):
    """The betable matches, changed one at a time (see the module's docstring). Every match is
    seen "now": `seen(now)` sets the instant `stale_keys`/`next_stale` and views count from."""

    def __init__(self):
        self.doc, self.checked, self.version, self._at = None, False, None, []
        self.all = _Run([])
        self.by_competition: dict[str, _Run] = {}
        self.seen_times: list[datetime] = []
        self._iso: dict[datetime, str] = {}
        self.by_key: dict[str, Match] = {}
        self._times: dict[str, tuple[datetime, str]] = {}  # kickoff text -> (instant, ISO)
        self._ranked = True  # every Match.rank is its place in self.all
        self.moves = 0  # matches added, moved or dropped so far (prices alone do not count)

    # -- changes ---------------------------------------------------------------------------
    def put(self, key: str, competition: str, kickoff: str, odds, handicap, totals) -> bool:
        """Add the match or bring it up to date; True when it is new or moved (another
        kickoff or competition), False when only its prices changed."""
        m = self.by_key.get(key)
        if m is not None and m.kickoff_iso_text == kickoff and m.competition == competition:
            m.odds, m.handicap, m.totals = odds, handicap, totals
            return False
        if m is not None:
            self.drop(key)
        at = self._times.get(kickoff)
        if at is None:
            dt = parse_iso(kickoff)
            at = self._times[kickoff] = (dt, iso(dt))
        m = _Entry(key, competition, at[0], at[1], odds, None, None, handicap, totals)
        m.kickoff_iso_text = kickoff
        self.by_key[key] = m
        _insert(self.all, m)
        run = self.by_competition.get(competition)
        if run is None:
            run = self.by_competition[competition] = _Run([])
        _insert(run, m)
        self._ranked = False
        self.moves += 1
        return True

    def drop(self, key: str) -> None:
        """Remove the match (no longer betable); nothing if it is not here."""
        m = self.by_key.pop(key, None)
        if m is None:
            return
        _remove(self.all, m)
        run = self.by_competition[m.competition]
        _remove(run, m)
        if not run.matches:
            del self.by_competition[m.competition]
        self._ranked = False
        self.moves += 1

    def seen(self, now: datetime) -> None:
        """Every match's prices are seen at `now` (as far as staleness is concerned)."""
        self.seen_times = [now] if self.all.matches else []

    # -- reading ---------------------------------------------------------------------------
    def runs(self, session: Session) -> list[_Run]:
        if not self._ranked:  # ranks order merges of several runs: renumbered when read
            for i, m in enumerate(self.all.matches):
                m.rank = i
            self._ranked = True
        return super().runs(session)

    def view(self, matches, now: datetime, now_iso: str,
             whole: frozenset[str] = frozenset(), blocked=frozenset()) -> OddsIndex:
        """An OddsIndex of these of its matches (any order, no repeats), their prices seen at
        `now`: `decide` on it decides on them alone, as it would among all the matches — but
        for the sessions in `whole` (ids), which select from every match. `blocked`: the
        book's decision ids that do not stand (Book.not_standing)."""
        if not self._ranked:
            self.runs(_NO_SESSION)
        ms = sorted(matches, key=_rank)
        for m in self.all.matches if whole else ms:
            m.seen_at, m.seen_iso = now, now_iso
        return _View(ms, [now] if ms or whole and self.all.matches else [], self._iso, self,
                     whole, blocked)

    def entering(self, session: Session, before: datetime, now: datetime) -> list[Match]:
        """The matches in the session's window at `now` that time alone brought in since
        `before` (kickoff - from_minutes in (before, now]). None without from_minutes: its
        window only ever loses matches as time passes."""
        if session.window.from_minutes is None:
            return []
        span = timedelta(minutes=session.window.from_minutes)
        lo = max(before + span, now + timedelta(minutes=session.window.to_minutes))
        hi = now + span
        out = []
        for run in self.runs(session):
            ks = run.kickoffs
            i = bisect_right(ks, lo) if lo == before + span else bisect_left(ks, lo)
            out += run.matches[i:bisect_right(ks, hi)]
        return out


class Sight:
    """What `sessions` see: per competition, each session's window (as offsets from now: to
    and from minutes before kickoff) and the odds-data field of its market, so `sees(m, now)`
    is a dict look-up, a subtraction and a comparison or two. Built once for a set of
    sessions, asked at any instant."""
    __slots__ = ("by_competition", "every", "reach")

    def __init__(self, sessions: list[Session]):
        self.every: list[tuple] = []  # sessions of every competition
        own: dict[str, list[tuple]] = {}
        # how far ahead of now a kickoff can be and be seen (None: any, a session without
        # from_minutes): a caller skips `sees` for the matches beyond
        reach: timedelta | None = timedelta(0)
        for s in sessions:
            to, span = Sight.span(s)
            reach = None if span is None or reach is None else max(reach, span)
            seat = (to, span, MARKET_FIELD[s.market], *id_parts(s))
            if s.competitions is None:
                self.every.append(seat)
            else:
                for c in dict.fromkeys(s.competitions):
                    own.setdefault(c, []).append(seat)
        # a competition's seats: its sessions' and those of every competition
        self.by_competition = {c: seats + self.every for c, seats in own.items()}
        self.reach = reach

    @staticmethod
    def span(s: Session) -> tuple[timedelta, timedelta | None]:
        """(to_minutes, from_minutes) of the session's window as timedeltas (None: unbounded):
        `OddsIndex.window(s, now)` is (now + to, now + from)."""
        w = s.window
        return (timedelta(minutes=w.to_minutes),
                None if w.from_minutes is None else timedelta(minutes=w.from_minutes))

    def sees(self, m: Match, now: datetime, state: dict | None = None,
             before: dict | None = None, blocked: NotStanding | None = None) -> bool:
        """Whether a session sees `m` at `now` (its competitions and window) — given two
        states of it (odds-data matches: `state` and `before`), reads a market whose prices
        differ — and, given the book's `blocked` (Book.not_standing), has no decision on it
        that does not stand (`decide` never decides again on those)."""
        ahead = m.kickoff - now
        for to, span, field, prefix, suffix in self.by_competition.get(m.competition,
                                                                         self.every):
            if (to <= ahead and (span is None or ahead <= span)
                    and (before is None or state.get(field) != before.get(field))
                    and (blocked is None or prefix + m.key + suffix not in blocked)):
                return True
        return False


class _Entry(Match):
    """A Match that remembers its kickoff's text as the history wrote it."""
    __slots__ = ("kickoff_iso_text",)


def _rank(m: Match) -> int:
    return m.rank


_NO_SESSION = type("_S", (), {"competitions": None})()  # runs(): every match
