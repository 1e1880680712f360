"""An odds-data snapshot checked and indexed once, for every session of every pass to share.

`check_snapshot(doc)` says what makes a document unusable (naming the JSON path);
`OddsIndex(doc)` holds the matches a session can bet on (scheduled, with odds on sale) sorted by
kickoff then key, overall and per competition, so a session's window is two bisections instead
of a scan: `index.select(session, now)`. Timestamps are parsed once per distinct string (kept
from one snapshot to the next: kickoffs repeat) and their ISO text is kept, so a decision's
`odds_at` costs nothing.
"""
from __future__ import annotations

import itertools
from operator import attrgetter, itemgetter
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from typing import Iterable

from pipeline.core.config import Session
from pipeline.core.files import SIDES, lines_problem, price_ok
from pipeline.core.timefmt import iso, parse_iso

_INF = float("inf")
_KEY, _KICKOFF, _RANK = attrgetter("key"), attrgetter("kickoff"), attrgetter("rank")
# what must not change for a match to be taken over from the previous snapshot (OddsIndex)
_SAME_FIELDS = itemgetter("key", "status", "kickoff", "competition")
_TIMES: dict[str, tuple[datetime, str]] = {}  # timestamp text -> (instant, ISO text)
_TIMES_MAX = 50_000
STATUSES = ("scheduled", "live", "finished", "postponed", "void")
_STATUS_SET = frozenset(STATUSES)


def check_snapshot(doc: dict) -> None:
    """Raise ValueError('$.json.path: reason') when an odds-data document cannot be used."""
    OddsIndex(doc)


def _top_problem(doc) -> str | None:
    if not isinstance(doc, dict):
        return "$: the top level is not an object"
    try:
        parse_iso(doc.get("fetched_at"))
    except ValueError as e:
        return f"$.fetched_at: {e}"
    if not isinstance(doc.get("matches"), list):
        return "$.matches: missing or not a list"
    return None


def _match_problem(m, times: dict[str, tuple[datetime, str]]) -> str | None:
    """'.field: reason' of what is wrong with one match, else None. Its timestamps go into
    `times` (text -> (instant, ISO text)), parsed once per distinct text. Checked by type, not
    isinstance: orjson makes exactly these types, and the check runs for every match."""
    if type(m) is not dict:
        return ": not an object"
    key = m.get("key")
    if type(key) is not str or not key:
        return ".key: missing or not a string"
    if type(m.get("competition")) is not str:
        return ".competition: missing or not a string"
    if m.get("status") not in _STATUS_SET:
        return f".status: {m.get('status')!r} is not one of {', '.join(STATUSES)}"
    for ts in ("kickoff", "seen_at"):
        text = m.get(ts)
        if (ts == "seen_at" and text is None) or (type(text) is str and text in times):
            continue
        try:
            dt = parse_iso(text)
        except ValueError as e:
            return f".{ts}: {e}"
        times[text] = (dt, iso(dt))
    problem = lines_problem(m)
    if problem:
        return problem
    odds = m.get("odds")
    if odds is None:
        return None
    if type(odds) is not dict:
        return ".odds: not an object or null"
    if not all(price_ok(odds.get(side)) for side in SIDES):
        side = next(side for side in SIDES if not price_ok(odds.get(side)))
        return f".odds.{side}: {odds.get(side)!r} is not a price > 1"
    return None


def _fine(m, times: dict) -> bool:
    """True when `_match_problem` would find nothing, decided quickly for the common case (its
    timestamps already parsed); False means "ask _match_problem" (it parses new timestamps)."""
    if type(m) is not dict:
        return False
    key, kickoff, seen, odds = m.get("key"), m.get("kickoff"), m.get("seen_at"), m.get("odds")
    if not (type(key) is str and key and type(m.get("competition")) is str
            and m.get("status") in _STATUS_SET and type(kickoff) is str and kickoff in times
            and (seen is None or (type(seen) is str and seen in times))):
        return False
    if (m.get("handicap") or m.get("totals")) and lines_problem(m):
        return False
    if odds is None:
        return True
    if type(odds) is not dict:
        return False
    h, d, a = odds.get("home"), odds.get("draw"), odds.get("away")
    return ((type(h) is float or type(h) is int) and 1 < h < _INF  # core.files.price_ok, inlined
            and (type(d) is float or type(d) is int) and 1 < d < _INF  # (the hot path)
            and (type(a) is float or type(a) is int) and 1 < a < _INF)


def betable(m: dict) -> bool:
    """A match a session may bet on: scheduled, with a price of some market on sale (1X2
    `odds`, AH `handicap` or OU `totals`). Pre-match only: live prices are never bet on."""
    return m.get("status") == "scheduled" and bool(
        m.get("odds") or m.get("handicap") or m.get("totals"))


class Match:
    """A match a session can bet on. `seen_iso` is `seen_at` as decisions carry it; `odds`
    (1X2), `handicap` and `totals` are odds-data's (None or [] when not offered)."""
    __slots__ = ("key", "competition", "kickoff", "kickoff_iso", "odds", "seen_at", "seen_iso",
                 "rank", "handicap", "totals")

    def __init__(self, key, competition, kickoff, kickoff_iso, odds, seen_at, seen_iso,
                 handicap=None, totals=None):
        self.key, self.competition, self.kickoff = key, competition, kickoff
        self.kickoff_iso = kickoff_iso
        self.odds, self.seen_at, self.seen_iso = odds, seen_at, seen_iso
        self.handicap, self.totals = handicap, totals
        self.rank = 0  # its place in the index's (kickoff, key) order: merges compare ints


class _Run:
    """Matches sorted by (kickoff, key) with their kickoffs beside them for bisection."""
    __slots__ = ("matches", "kickoffs")

    def __init__(self, matches: list[Match]):
        self.matches = matches
        self.kickoffs = [m.kickoff for m in matches]

    def between(self, lo: datetime | None, hi: datetime | None) -> list[Match]:
        """Matches with lo <= kickoff <= hi (None: unbounded)."""
        i = 0 if lo is None else bisect_left(self.kickoffs, lo)
        j = len(self.kickoffs) if hi is None else bisect_right(self.kickoffs, hi)
        return self.matches[i:j]

    def first_between(self, lo: datetime | None, hi: datetime | None) -> Match | None:
        """The first match of `between(lo, hi)`, without the slice."""
        i = 0 if lo is None else bisect_left(self.kickoffs, lo)
        if i < len(self.matches) and (hi is None or self.kickoffs[i] <= hi):
            return self.matches[i]
        return None

    def after(self, t: datetime) -> Match | None:
        """The first match with kickoff > t."""
        i = bisect_right(self.kickoffs, t)
        return self.matches[i] if i < len(self.matches) else None


def _ts(text: str) -> tuple[datetime, str]:
    """(instant, ISO text) of a timestamp, parsed once per distinct text; ValueError if bad."""
    got = _TIMES.get(text)
    if got is None:
        dt = parse_iso(text)
        got = _TIMES[text] = (dt, iso(dt))
    return got


class OddsIndex:
    """The betable matches of one odds-data document, indexed (see the module's docstring)."""

    def __init__(self, doc: dict, *, check: bool = True, previous: "OddsIndex | None" = None):
        """Index `doc`; with `check`, first make sure it is usable in the same pass (else
        ValueError naming the JSON path, as check_snapshot). Without, a caller that built the
        document itself (the backtest) skips the checks.

        `previous` (checked too), the index of the document before this one: when `doc` has the
        same matches (see `_take_over`) the index is `previous`'s, updated in place, and
        `previous` must not be used again."""
        problem = _top_problem(doc) if check else None
        if problem:
            raise ValueError(problem)
        self.doc, self.checked = doc, check
        self.version = doc.get("version")
        if len(_TIMES) > _TIMES_MAX:
            _TIMES.clear()
        if check and previous is not None and previous.checked and self._take_over(previous):
            return
        times, ts = _TIMES, _ts  # kickoffs repeat from one snapshot to the next: parsed once
        fetched = doc["fetched_at"]
        matches: list[Match] = []
        append = matches.append
        at: list[Match | None] = []  # per match of the document: its Match, if betable
        first: dict[str, int] = {}  # key -> index of its first match: keys are unique
        for i, m in enumerate(doc.get("matches", ())):
            if check and not _fine(m, times):
                problem = _match_problem(m, times)
                if problem:
                    raise ValueError(f"$.matches[{i}]{problem}")
            if check and first.setdefault(m["key"], i) != i:
                raise ValueError(f"$.matches[{i}].key: {m['key']!r} appears twice "
                                 f"(first at $.matches[{first[m['key']]}])")
            if betable(m):
                kickoff, seen = m["kickoff"], m.get("seen_at") or fetched
                kickoff = times.get(kickoff) or ts(kickoff)
                seen = times.get(seen) or ts(seen)
                append(Match(m["key"], m["competition"], kickoff[0], kickoff[1], m.get("odds"),
                             seen[0], seen[1], m.get("handicap"), m.get("totals")))
                at.append(matches[-1])
            else:
                at.append(None)
        self._at = at
        matches.sort(key=_KEY)  # then stably by kickoff: (kickoff, key), quicker than tuples
        matches.sort(key=_KICKOFF)
        for i, m in enumerate(matches):
            m.rank = i
        self.all = _Run(matches)
        groups: dict[str, list[Match]] = {}
        for m in matches:
            groups.setdefault(m.competition, []).append(m)
        self.by_competition = {c: _Run(ms) for c, ms in groups.items()}
        self.seen_times = sorted({m.seen_at for m in matches})  # for staleness: few distinct
        self._iso: dict[datetime, str] = {}

    def _take_over(self, prev: "OddsIndex") -> bool:
        """Index this document by updating `prev`'s matches in place — True — when it has the
        same matches as `prev`'s document, in the same order: same key, competition, status and
        kickoff text, betable (scheduled with odds) or not as before; only odds and seen_at may
        differ. Each field is checked as the full build checks it: a match that differs in any
        other way, or whose new odds or seen_at are not usable, returns False (nothing changed)
        and the full build runs, naming the problem. A monitor's successive snapshots mostly
        differ in prices and seen_at: this skips building, sorting and grouping the matches."""
        new, old = self.doc.get("matches"), prev.doc.get("matches")
        if type(new) is not list or type(old) is not list or len(new) != len(old):
            return False
        same = _SAME_FIELDS
        updates = []
        # seen_at: the last text found usable and its value (a poll gives all matches one)
        fetched = _ts(self.doc["fetched_at"])
        known, known_at = None, fetched
        try:
            for m, pm, match in zip(new, old, prev._at):
                if type(m) is not dict or same(m) != same(pm):  # KeyError: full build says so
                    return False
                seen, odds = m.get("seen_at"), m.get("odds")
                if seen != known:
                    if seen is None:
                        seen_at = fetched
                    elif type(seen) is not str:
                        return False
                    else:  # a new seen_at (every poll): parsed once, ValueError if bad
                        known, known_at = seen, _ts(seen)
                        seen_at = known_at
                else:
                    seen_at = known_at
                hc, tot = m.get("handicap"), m.get("totals")
                lines_moved = hc != pm.get("handicap") or tot != pm.get("totals")
                if odds != pm.get("odds") or lines_moved:
                    if odds is not None and (type(odds) is not dict
                                             or not all(price_ok(odds.get(s)) for s in SIDES)):
                        return False
                    if lines_moved and lines_problem(m):
                        return False
                    if (match is None) == betable(m):
                        return False  # betable now and not before, or the other way round
                if match is not None:
                    updates.append((match, odds, seen_at, hc, tot))
        except (ValueError, TypeError, KeyError):  # the full build names the problem
            return False
        for match, odds, seen_at, hc, tot in updates:
            match.odds, match.handicap, match.totals = odds, hc, tot
            match.seen_at, match.seen_iso = seen_at
        self._at, self.all, self.by_competition = prev._at, prev.all, prev.by_competition
        self.seen_times = sorted({m.seen_at for m in self.all.matches})
        self._iso = prev._iso
        return True

    def __len__(self) -> int:
        return len(self.all.matches)

    def iso(self, dt: datetime) -> str:
        """iso(dt), remembered (expiry times repeat across sessions and passes)."""
        text = self._iso.get(dt)
        if text is None:
            text = self._iso[dt] = iso(dt)
        return text

    def runs(self, session: Session) -> list[_Run]:
        if session.competitions is None:
            return [self.all]
        return [self.by_competition[c] for c in dict.fromkeys(session.competitions)
                if c in self.by_competition]

    @staticmethod
    def window(session: Session, now: datetime | None) -> tuple[datetime | None, ...]:
        """(lo, hi): the kickoffs in the session's window at `now` (None: unbounded)."""
        if now is None:
            return None, None
        w = session.window
        return (now + timedelta(minutes=w.to_minutes),
                None if w.from_minutes is None else now + timedelta(minutes=w.from_minutes))

    def select(self, session: Session, now: datetime | None) -> Iterable[Match]:
        """The session's matches (its competitions; its window at `now` unless now is None), by
        kickoff then key. In the window: to_minutes <= minutes before kickoff <= from_minutes."""
        if now is None and session.competitions is None:
            return self.all.matches  # every match (read only)
        lo, hi = self.window(session, now)
        runs = self.runs(session)
        if len(runs) == 1:
            return runs[0].between(lo, hi)
        parts = [p for p in (r.between(lo, hi) for r in runs) if p]
        if len(parts) <= 1:
            return parts[0] if parts else []
        return sorted(itertools.chain(*parts), key=_RANK)  # merges the sorted runs

    def stale_keys(self, now: datetime, max_age_s: float) -> set[str]:
        """Keys of matches whose odds are older than max_age_s (by seen_at)."""
        oldest_ok = now - timedelta(seconds=max_age_s)
        if not self.seen_times or self.seen_times[0] >= oldest_ok:
            return set()
        return {m.key for m in self.all.matches if m.seen_at < oldest_ok}

    # -- when things change with time alone ------------------------------------------------
    def next_open(self, session: Session, now: datetime) -> datetime | None:
        """When the session's window next opens on a match it has not yet reached."""
        if session.window.from_minutes is None:
            return None  # open on every match until to_minutes before its kickoff
        span = timedelta(minutes=session.window.from_minutes)
        firsts = [r.after(now + span) for r in self.runs(session)]
        return min((m.kickoff - span for m in firsts if m), default=None)

    def next_close(self, session: Session, now: datetime) -> datetime | None:
        """When the first match now in the session's window leaves it (just after
        kickoff - to_minutes)."""
        firsts = [r.first_between(*self.window(session, now)) for r in self.runs(session)]
        first = min((m for m in firsts if m), key=_RANK, default=None)
        if first is None:
            return None
        return first.kickoff - timedelta(minutes=session.window.to_minutes)

    def next_stale(self, now: datetime, max_age_s: float) -> datetime | None:
        """When odds that are fresh now first turn stale."""
        age = timedelta(seconds=max_age_s)
        i = bisect_left(self.seen_times, now - age)
        return self.seen_times[i] + age if i < len(self.seen_times) else None
