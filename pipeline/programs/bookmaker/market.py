"""The sandbox market: the state of every fixture at a simulated instant (DESIGN: the sandbox).

Pure: no clock, no I/O. `Market` indexes all fixtures of the data folder by kickoff once, and
answers for an instant `now` by bisecting to the listed window, so a request costs only the few
dozen matches near `now`, never the ~9,000 rows of the folder.

Rules, per fixture with kickoff K:
- listed from K - 7 days until K + 3 days;
- `scheduled` and on sale before K, with prices (B365 where the row has them, else the market
  average) that move linearly from the pre-match columns at K - 7 days to the closing columns
  (B365C*, else AvgC*) at K, rounded to 2 decimals and never ≤ 1.01; a row with no price at all is
  listed but not on sale;
- Asian handicap and over/under 2.5 (`MatchState.handicap` / `.totals`, one entry each) on the
  same path from the same bookmaker's columns (`pipeline.history.prices.line_at`: a line that
  moved between pre-match and closing changes once, half-way through the sale), so the sandbox
  and the replay source price every market alike at every instant;
- suspended (still `scheduled`, no prices) from K - `Rules.suspend_before` (config
  `sandbox.suspend_before_min`, default 2 minutes);
- `live` (suspended, no prices) from K; `finished` with FTHG-FTAG from K + 110 minutes;
- `postponed` (no prices, bets void) from K - `Rules.postponed_notice` on, for the fixtures the
  rules name (by id or match key) and a seeded, deterministic share `postponed_rate` of all.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from pipeline.core.files import MARKET_SIDES
from pipeline.core.timefmt import iso
from pipeline.history.football_data import Fixture
from pipeline.history.prices import (LISTED_AFTER, LISTED_BEFORE, MIN_PRICE, ON_SALE_BEFORE,
                                     RESULT_AFTER, Entry, Prices, Quote, line_at,
                                     line_quotes_of, prices_at, quote_of)
from pipeline.strategies import markets
from pipeline.strategies.markets import Settlement

SUSPEND_BEFORE = timedelta(minutes=2)
POSTPONED_NOTICE = timedelta(minutes=120)
SELECTIONS = MARKET_SIDES["1X2"]
# odds-data's name of each line market's list (DESIGN: markets)
LINE_FIELDS = {"AH": "handicap", "OU": "totals"}


@dataclass(frozen=True)
class MatchState:
    fixture: Fixture
    status: str                      # scheduled | live | finished | postponed
    odds: Prices | None              # only while on sale
    score: tuple[int, int] | None    # only once finished
    suspended: bool = False          # scheduled, but the market closed shortly before kickoff
    handicap: Entry | None = None    # AH (home line, home, away), only while on sale
    totals: Entry | None = None      # OU (goals line, over, under), only while on sale

    @property
    def on_sale(self) -> bool:
        return self.status == "scheduled" and any((self.odds, self.handicap, self.totals))

    def entry(self, market: str) -> Entry | None:
        """The AH or OU entry on offer (line, first side's price, second side's price)."""
        return self.handicap if market == "AH" else self.totals if market == "OU" else None

    def price(self, selection: str, market: str = "1X2",
              line: float | None = None) -> float | None:
        """The price of a side (AH/OU: at `line`); None when it is not on offer."""
        if market == "1X2":
            return None if self.odds is None else self.odds[SELECTIONS.index(selection)]
        entry = self.entry(market)
        if entry is None or line is None or entry[0] != line:
            return None
        return entry[1 + MARKET_SIDES[market].index(selection)]

    def settlement(self, market: str, selection: str, line: float | None, odds: float,
                   stake: float) -> Settlement | None:
        """How a bet on this match settles (strategies.markets, DESIGN's one formula); None
        while it is open. A postponed match, or a finished one without a score, is void."""
        if self.status == "postponed" or (self.status == "finished" and self.score is None):
            return markets.void(odds, stake)
        if self.status != "finished":
            return None
        return markets.settle(market, selection, line, odds, stake, *self.score)

    def settle(self, selection: str, market: str = "1X2", line: float | None = None) -> str:
        """A bet's status on this match: open | won | half_won | void | half_lost | lost."""
        done = self.settlement(market, selection, line, 2.0, 1.0)
        return "open" if done is None else done.outcome

    def lines_json(self) -> dict:
        """odds-data's `handicap` / `totals` of this match (absent when not on offer)."""
        out = {}
        for market, field in LINE_FIELDS.items():
            entry = self.entry(market)
            if entry is not None:
                a, b = MARKET_SIDES[market]
                out[field] = [{"line": entry[0], a: entry[1], b: entry[2]}]
        return out

    def to_json(self) -> dict:
        """One entry of `GET /api/matches`."""
        f = self.fixture
        return {
            "id": f.id, "competition": f.competition, "season": f.season,
            "home": f.home, "away": f.away, "kickoff": iso(f.kickoff), "status": self.status,
            "odds": dict(zip(SELECTIONS, self.odds)) if self.odds else None,
            "score": ({"home_goals": self.score[0], "away_goals": self.score[1]}
                      if self.score else None),
            "key": f.key, "suspended": self.suspended, **self.lines_json(),
        }


def _share(seed: int, fixture_id: str) -> float:
    """A fixture's deterministic draw in [0, 1) for `seed` (same on every run and machine)."""
    digest = hashlib.sha256(f"{seed}|{fixture_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Rules:
    """What the sandbox's operator decides (config `sandbox.*`): suspension and postponements."""
    suspend_before: timedelta = SUSPEND_BEFORE
    postponed: frozenset[str] = frozenset()  # fixture ids or match keys
    postponed_rate: float = 0.0
    seed: int = 0
    postponed_notice: timedelta = POSTPONED_NOTICE

    def is_postponed(self, fixture: Fixture) -> bool:
        if fixture.id in self.postponed or fixture.key in self.postponed:
            return True
        return self.postponed_rate > 0 and _share(self.seed, fixture.id) < self.postponed_rate


class Market:
    """Every fixture of a folder, indexed by kickoff (ties: file, then row)."""

    def __init__(self, fixtures: Iterable[Fixture], rules: Rules = Rules()):
        ordered = sorted(fixtures, key=lambda f: (f.kickoff, f.file, f.row))
        self.fixtures: Sequence[Fixture] = tuple(ordered)
        self._kickoffs = [f.kickoff for f in ordered]
        self._quotes = [quote_of(f) for f in ordered]
        self._line_quotes = [line_quotes_of(f) for f in ordered]
        self._by_id = {f.id: i for i, f in enumerate(ordered)}
        self._by_key: dict[str, int] = {}
        for i, f in enumerate(ordered):
            self._by_key.setdefault(f.key, i)
        self.rules = rules  # replaced whole when the config changes

    def __len__(self) -> int:
        return len(self.fixtures)

    def find(self, match_id: str | None = None, match_key: str | None = None) -> Fixture | None:
        """A fixture by its id ("E0_2019-20.csv:0") or, failing that, by its match key."""
        i = self._by_id.get(match_id) if match_id else None
        if i is None and match_key:
            i = self._by_key.get(match_key)
        return None if i is None else self.fixtures[i]

    def state(self, fixture: Fixture, now: datetime) -> MatchState:
        """The state of one fixture at `now` (listed or not)."""
        i = self._by_id[fixture.id]
        kickoff, rules = fixture.kickoff, self.rules
        if now >= kickoff - rules.postponed_notice and rules.is_postponed(fixture):
            return MatchState(fixture, "postponed", None, None)
        if now >= kickoff - rules.suspend_before and now < kickoff:
            return MatchState(fixture, "scheduled", None, None, suspended=True)
        if now < kickoff:
            if now < kickoff - ON_SALE_BEFORE:
                return MatchState(fixture, "scheduled", None, None)
            quote, (ah, ou) = self._quotes[i], self._line_quotes[i]
            return MatchState(fixture, "scheduled", quote and prices_at(quote, kickoff, now), None,
                              handicap=ah and line_at(ah, kickoff, now),
                              totals=ou and line_at(ou, kickoff, now))
        if now < kickoff + RESULT_AFTER:
            return MatchState(fixture, "live", None, None)
        return MatchState(fixture, "finished", None, fixture.result)

    def listed(self, now: datetime) -> list[MatchState]:
        """Every match listed at `now` (kickoff - 7 days <= now < kickoff + 3 days), by kickoff."""
        lo = bisect_right(self._kickoffs, now - LISTED_AFTER)
        hi = bisect_right(self._kickoffs, now + LISTED_BEFORE)
        return [self.state(f, now) for f in self.fixtures[lo:hi]]

    def between(self, start: datetime, end: datetime) -> Sequence[Fixture]:
        """Fixtures with start <= kickoff < end, by kickoff (results pages, replays)."""
        return self.fixtures[bisect_left(self._kickoffs, start):bisect_left(self._kickoffs, end)]

    def is_listed(self, fixture: Fixture, now: datetime) -> bool:
        return fixture.kickoff - LISTED_BEFORE <= now < fixture.kickoff + LISTED_AFTER
