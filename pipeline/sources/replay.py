"""The replay source (`source.kind: "replay"`): football-data CSVs played on the clock, no browser.

The sandbox bookmaker's rules, with its pricing (`pipeline.programs.bookmaker.market`: `quote_of`,
`prices_at`, used read-only): a match is listed and on sale from kickoff − 7 days with prices that
move linearly from the pre-match towards the closing columns; it is suspended (live, no prices)
at kickoff, finished with the full-time score at kickoff + 110 minutes, and delisted 3 days after
kickoff. `source.replay.odds` picks the columns: "sandbox" (B365, else the average, as the
sandbox does) or a bookmaker's opening → closing pair (b365, avg, max, pinnacle). Asian handicap
and over/under 2.5 (`handicap`, `totals`) come from the same bookmaker's columns on the same path
(`pipeline.history.prices.line_at`: a line that moved between pre-match and closing changes once,
half-way through the sale).

`Replay.matches_at(now)` is the odds-data snapshot at any instant (pure). `Replay.next_change`
is the first later instant at which that snapshot differs — a status event, a session's window
edge, or a price move on the `grid_s` grid (`source.interval_s`) — which is how the step clock
(DESIGN: one clock) skips the hours where nothing happens.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

from pipeline.core.matchkey import KeyTables
from pipeline.core.paths import Home, football_data_dir
from pipeline.core.timefmt import iso, parse_iso
from pipeline.sources import Capabilities
from pipeline.history.football_data import Fixture, iter_files, load_folder
from pipeline.history.prices import (LISTED_AFTER, LISTED_BEFORE, ON_SALE_BEFORE, RESULT_AFTER,
                                     LineQuote, Quote, line_at, line_quote, line_quotes_of,
                                     prices_at, quote_of)

SELECTIONS = ("home", "draw", "away")
# source.replay.odds -> (opening, closing) price sources of pipeline.history.football_data
BOOKMAKER_ODDS = {"b365": ("b365", "b365-closing"), "avg": ("avg", "avg-closing"),
                  "max": ("max", "max-closing"), "pinnacle": ("pinnacle", "pinnacle-closing")}
# every status event, as an offset from kickoff: listed (= on sale), suspended, result, delisted
EVENT_OFFSETS = tuple(sorted({-LISTED_BEFORE, -ON_SALE_BEFORE, timedelta(0), RESULT_AFTER,
                              LISTED_AFTER}))
MS = timedelta(milliseconds=1)


def quote(fixture: Fixture, odds: str = "sandbox") -> Quote | None:
    """Opening and closing prices of a fixture (closing = opening when the file has none)."""
    if odds == "sandbox":
        return quote_of(fixture)
    opening, closing = BOOKMAKER_ODDS[odds]
    pre = fixture.odds(opening)
    if pre is None:
        return None
    return Quote(pre, fixture.odds(closing) or pre)


def line_quotes(fixture: Fixture,
                odds: str = "sandbox") -> tuple[LineQuote | None, LineQuote | None]:
    """(AH, OU) opening and closing entries of a fixture, from the same columns as `quote`."""
    if odds == "sandbox":
        return line_quotes_of(fixture)
    opening, closing = BOOKMAKER_ODDS[odds]
    return line_quote(fixture, "AH", opening, (closing,)), \
        line_quote(fixture, "OU", opening, (closing,))


def load_fixtures(home: Home, replay_cfg, sandbox_data: str | None,
                  tables: KeyTables) -> list[Fixture]:
    """The configured CSVs (`files`, else `folder`, else the sandbox's folder); ValueError naming
    what is missing."""
    if replay_cfg.files:
        paths = [home.resolve(f) for f in replay_cfg.files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ValueError(f"source.replay.files: no such file: {', '.join(missing)}")
        fixtures, where = list(iter_files(paths, tables)), ", ".join(map(str, paths))
    else:
        folder = home.resolve(replay_cfg.folder) if replay_cfg.folder \
            else football_data_dir(home, sandbox_data)
        fixtures, where = (load_folder(folder, tables) if folder.is_dir() else []), str(folder)
    if not fixtures:
        raise ValueError(f"source.replay: no football-data fixtures in {where}")
    return fixtures


def _ceil_ms(t: datetime) -> datetime:
    """Data files carry milliseconds: a step must land on one, or the clock would stall."""
    extra = t.microsecond % 1000
    return t + timedelta(microseconds=1000 - extra) if extra else t


class Replay:
    """Fixtures indexed by kickoff (ties: file, then row); answers for any instant."""

    def __init__(self, fixtures: Iterable[Fixture], tables: KeyTables, *, odds: str = "sandbox",
                 grid_s: float = 30.0, until: datetime | None = None):
        self.fixtures: Sequence[Fixture] = tuple(sorted(fixtures,
                                                        key=lambda f: (f.kickoff, f.file, f.row)))
        self.kickoffs = [f.kickoff for f in self.fixtures]
        self.quotes = [quote(f, odds) for f in self.fixtures]
        self.line_quotes = [line_quotes(f, odds) for f in self.fixtures]
        self.names = [(tables.team(f.home), tables.team(f.away)) for f in self.fixtures]
        self.grid_s, self.until = float(grid_s), until
        self._price_cache: dict[int, tuple[datetime, datetime, datetime | None]] = {}

    def __len__(self) -> int:
        return len(self.fixtures)

    def _between(self, lo: datetime, hi: datetime) -> range:
        """Indices with lo < kickoff <= hi."""
        return range(bisect_right(self.kickoffs, lo), bisect_right(self.kickoffs, hi))

    def listed(self, now: datetime) -> range:
        """Listed at `now`: kickoff − 7 days <= now < kickoff + 3 days."""
        return self._between(now - LISTED_AFTER, now + LISTED_BEFORE)

    def prices(self, i: int, now: datetime) -> tuple[float, float, float] | None:
        """On sale (kickoff − 7 days <= now < kickoff) with a quote: the prices; else None."""
        kickoff, q = self.kickoffs[i], self.quotes[i]
        if q is None or not (kickoff - ON_SALE_BEFORE <= now < kickoff):
            return None
        return prices_at(q, kickoff, now)

    def offer(self, i: int, now: datetime) -> tuple | None:
        """On sale: (1X2 prices or None, AH entry or None, OU entry or None); None when not on
        sale or nothing is priced."""
        kickoff = self.kickoffs[i]
        if not (kickoff - ON_SALE_BEFORE <= now < kickoff):
            return None
        ah, ou = self.line_quotes[i]
        out = (self.prices(i, now), ah and line_at(ah, kickoff, now),
               ou and line_at(ou, kickoff, now))
        return out if any(out) else None

    def matches_at(self, now: datetime, seen_at: str) -> tuple[list[dict], list[str]]:
        """The odds-data matches at `now`, by kickoff; (matches, problems)."""
        matches, problems, keys = [], [], set()
        for i in self.listed(now):
            f, kickoff = self.fixtures[i], self.kickoffs[i]
            if f.key in keys:
                problems.append(f"{f.id}: key {f.key!r} appears twice; the later row skipped")
                continue
            keys.add(f.key)
            odds = result = None
            lines: dict[str, list] = {}
            if now < kickoff:
                status = "scheduled"
                prices, ah, ou = self.offer(i, now) or (None, None, None)
                odds = dict(zip(SELECTIONS, prices)) if prices else None
                if ah:
                    lines["handicap"] = [{"line": ah[0], "home": ah[1], "away": ah[2]}]
                if ou:
                    lines["totals"] = [{"line": ou[0], "over": ou[1], "under": ou[2]}]
            elif now < kickoff + RESULT_AFTER:
                status = "live"
            else:
                status = "finished"
                if f.result is None:
                    problems.append(f"{f.id}: no full-time score (FTHG/FTAG); result null")
                else:
                    result = {"home_goals": f.result[0], "away_goals": f.result[1]}
            home, away = self.names[i]
            matches.append({"key": f.key, "season": f.season, "competition": f.competition,
                            "home": home, "away": away, "kickoff": iso(kickoff), "status": status,
                            "odds": odds, **lines, "seen_at": seen_at, "result": result,
                            "source_ref": f.id})
        return matches, problems

    # -- the step clock ------------------------------------------------------------------------
    def next_change(self, after: datetime,
                    edges_s: Iterable[float] = ()) -> datetime | None:
        """The first instant after `after` at which `matches_at` may differ; None when the data
        (or `until`) ends. `edges_s`: seconds before kickoff at which sessions' windows open or
        close — decide must see the prices there, so they are steps too."""
        offsets = set(EVENT_OFFSETS) | {-timedelta(seconds=s) for s in edges_s if s > 0}
        candidates = []
        for offset in offsets:
            i = bisect_right(self.kickoffs, after - offset)
            if i < len(self.kickoffs):
                candidates.append(self.kickoffs[i] + offset)
        for i in self._between(after, after + ON_SALE_BEFORE):
            changed = self._price_change(i, after)
            if changed is not None:
                candidates.append(changed)
        if not candidates:
            return None
        nxt = _ceil_ms(min(candidates))
        if nxt <= after:  # sub-millisecond leftovers: never stall on the same instant
            nxt = _ceil_ms(after + MS)
        if self.until is not None and nxt > self.until:
            return None
        return nxt

    def _grid(self, n: int) -> datetime:
        return datetime.fromtimestamp(n * self.grid_s, tz=timezone.utc)

    def _price_change(self, i: int, after: datetime) -> datetime | None:
        """First grid instant in (after, kickoff) where fixture i's prices differ from theirs at
        `after`. Each price is monotone in time and a line changes at most once, so "differs"
        is too: a binary search."""
        cached = self._price_cache.get(i)
        if cached and cached[0] <= after < cached[1]:
            return cached[2]
        kickoff, base = self.kickoffs[i], self.offer(i, after)
        if base is None:
            return None
        lo = math.floor(after.timestamp() / self.grid_s) + 1
        hi = math.ceil(kickoff.timestamp() / self.grid_s) - 1
        found = None
        if lo <= hi and self.offer(i, self._grid(hi)) != base:
            while lo < hi:
                mid = (lo + hi) // 2
                if self.offer(i, self._grid(mid)) != base:
                    hi = mid
                else:
                    lo = mid + 1
            found = self._grid(lo)
        self._price_cache[i] = (after, found or kickoff, found)
        return found


class ReplaySource:
    """The monitor's view: `fetch(seen_at)` is the snapshot at that instant."""

    kind = "replay"
    url = None
    capabilities = Capabilities(markets=frozenset({"1X2", "AH", "OU"}), results=True,
                                browser=False, steps=True)

    @classmethod
    def open(cls, home: Home, config, browser, tables: KeyTables) -> "ReplaySource":
        return make_replay_source(home, config, tables)

    def __init__(self, replay: Replay):
        self.replay = replay

    def fetch(self, seen_at: str) -> tuple[list[dict], list[str]]:
        return self.replay.matches_at(parse_iso(seen_at), seen_at)

    def next_change(self, after: datetime, edges_s: Iterable[float] = ()) -> datetime | None:
        return self.replay.next_change(after, edges_s)


def window_edges(config) -> set[float]:
    """Seconds before kickoff where an enabled session's window opens or closes."""
    edges = set()
    for s in config.sessions:
        if s.enabled:
            for minutes in (s.window.from_minutes, s.window.to_minutes):
                if minutes:
                    edges.add(float(minutes) * 60)
    return edges


def make_replay_source(home: Home, config, tables: KeyTables) -> ReplaySource:
    rc = config.source.replay
    fixtures = load_fixtures(home, rc, config.sandbox.data, tables)
    return ReplaySource(Replay(fixtures, tables, odds=rc.odds, grid_s=config.source.interval_s,
                               until=rc.until))
