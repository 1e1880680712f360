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

from pipeline.core.timefmt import iso
from pipeline.history.football_data import Fixture
from pipeline.history.prices import (LISTED_AFTER, LISTED_BEFORE, MIN_PRICE, ON_SALE_BEFORE,
                                     RESULT_AFTER, Prices, Quote, prices_at, quote_of)

SUSPEND_BEFORE = timedelta(minutes=2)
POSTPONED_NOTICE = timedelta(minutes=120)
SELECTIONS = ("home", "draw", "away")


def outcome(score: tuple[int, int]) -> str:
    """home | draw | away from a full-time score."""
    home, away = score
    return "home" if home > away else "away" if away > home else "draw"


@dataclass(frozen=True)
class MatchState:
    fixture: Fixture
    status: str                      # scheduled | live | finished | postponed
    odds: Prices | None              # only while on sale
    score: tuple[int, int] | None    # only once finished
    suspended: bool = False          # scheduled, but the market closed shortly before kickoff

    @property
    def on_sale(self) -> bool:
        return self.status == "scheduled" and self.odds is not None

    def price(self, selection: str) -> float | None:
        if self.odds is None:
            return None
        return self.odds[SELECTIONS.index(selection)]

    def settle(self, selection: str) -> str:
        """A bet's status on this match: open | won | lost | void."""
        if self.status == "postponed":
            return "void"
        if self.status != "finished":
            return "open"
        if self.score is None:
            return "void"
        return "won" if outcome(self.score) == selection else "lost"

    def to_json(self) -> dict:
        """One entry of `GET /api/matches`."""
        f = self.fixture
        return {
            "id": f.id, "competition": f.competition, "season": f.season,
            "home": f.home, "away": f.away, "kickoff": iso(f.kickoff), "status": self.status,
            "odds": dict(zip(SELECTIONS, self.odds)) if self.odds else None,
            "score": ({"home_goals": self.score[0], "away_goals": self.score[1]}
                      if self.score else None),
            "key": f.key, "suspended": self.suspended,
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
            quote = self._quotes[i]
            odds = prices_at(quote, kickoff, now) if quote and now >= kickoff - ON_SALE_BEFORE \
                else None
            return MatchState(fixture, "scheduled", odds, None)
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
