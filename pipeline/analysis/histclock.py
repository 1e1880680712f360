"""What the odds-history backtest (pipeline.analysis.histback) decides on at each instant: the
lines of the instant applied to its running index (strategies.running) and the matches that can
have a new decision picked — prices a session reads that changed in its window on a match it has
no standing decision on, matches a window opened on, decisions the controls refused; a session
blocked by its bankroll or a limit reads all its matches (`full`) when a settlement or a new UTC
day may free it; nothing for a session whose stake, the same for every match, its free bankroll
cannot cover (`starve`), until money comes free. A match that makes no decision changes nothing
for the others in a pass, so decide on the picked matches decides as on the whole snapshot.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.strategies.engine import compiled_all
from pipeline.strategies.running import RunningIndex, Sight
from pipeline.strategies.snapshot import Match
from pipeline.strategies.staking import Purse

if TYPE_CHECKING:
    from pipeline.analysis.histback import HistoryBacktest

_NONE: frozenset[str] = frozenset()


class Clock:
    """The instants of a run and what each may change (module doc): applies the lines of an
    instant to the state and the running index; says which matches decide must look at."""

    def __init__(self, bt: "HistoryBacktest"):
        self.bt, self.index = bt, RunningIndex()
        config = bt.decide_config
        self.sessions = [] if config.halt else [s for s in config.sessions if s.enabled]
        self.opening = [s for s in self.sessions if s.window.from_minutes is not None]
        self.sights: dict[frozenset[str], Sight] = {}  # by the starved sessions it leaves out
        # sessions that may have matches they could not bet on for want of bankroll, a limit,
        # or because they were off: re-read in full when a settlement or a new day may help
        self.blocked = {s.id: False for s in config.sessions}
        self.daily = [s for s in self.sessions if s.limits.daily_loss is not None]
        self.lasting = [s.id for s in self.sessions if s.limits.max_duration_h is not None]
        self.refused: set[str] = set()  # keys with a refused decision at the last pass
        self.plans = {c.session.id: c.stakes for c in compiled_all(config)}
        self.starved: frozenset[str] = frozenset()  # sessions no match can get a stake from
        self._starved_at = -1  # the ledger seq `starved` was worked out at
        self._purses: dict[str, tuple] = {}  # id -> (its book, what of it was read, starved)
        self.was: frozenset[str] = frozenset()  # `starved` at the instant before
        self.full: frozenset[str] = frozenset()  # sessions that read every match this pass
        self.before: datetime | None = None  # the last instant decided

    def apply(self, lines: list[dict], i: int, ts_now: str, now: datetime) -> tuple[int, dict]:
        """Apply the lines from `i` up to `ts_now` (the instant `now`), after its settlements;
        (next i, key -> Match of the matches whose lines a session sees change: prices of the
        market it reads in its competitions and window, or a match new to the index or moved
        in it). A line is its match's whole state (pipeline.history.store), kept in `of_key`."""
        bt, index, n = self.bt, self.index, len(lines)
        of_key = bt.of_key
        known, put, drop = index.by_key, index.put, index.drop
        self.was, starved = self.starved, self.starve()
        sight = self.sights.get(starved)
        if sight is None:
            sight = self.sights[starved] = Sight(
                [s for s in self.sessions if s.id not in starved])
        sees, far = sight.sees, sight.reach is not None and now + sight.reach  # see Sight
        blocked = bt.book.not_standing()
        seen: dict[str, Match] = {}
        while i < n:
            r = lines[i]
            if r["t"] > ts_now:
                break
            i += 1
            key = r["key"]
            before = of_key.get(key)
            if before is None:
                of_key[key] = [r]
                prev = None
            else:
                prev = before[-1]
                before.append(r)
            odds = r.get("odds")
            if r["status"] != "scheduled" or not odds:  # not on sale
                if key in known:
                    drop(key)
                    seen.pop(key, None)
                continue
            m = known.get(key)
            if (m is not None and m.kickoff_iso_text == r["kickoff"]
                    and m.competition == r.get("competition")):  # a price change (put's)
                m.odds, m.handicap, m.totals = odds, r.get("handicap"), r.get("totals")
                if (not far or m.kickoff <= far) and key not in seen and sees(m, now, r, prev,
                                                                          blocked):
                    seen[key] = m
            else:
                put(key, r.get("competition"), r["kickoff"], odds, r.get("handicap"),
                    r.get("totals"))
                m = known[key]
                if sees(m, now, blocked=blocked):
                    seen[key] = m
                else:
                    seen.pop(key, None)
        return i, seen

    def to_decide(self, now: datetime, seen: dict, opened: bool = True) -> list:
        """The matches that may get a decision at `now` (a superset of those a pass over every
        match would decide on): `apply`'s (changed prices a session reads), matches time
        brought into a window, refused decisions (decided again, as live); a blocked session
        whose settlements (or the new UTC day) may have freed it reads every match (`full`).
        `opened=False`: no window opened since the last instant (the last pass's
        `next_change` is still ahead)."""
        index, bt, pick = self.index, self.bt, seen
        was, starved = self.was, self.starved
        if self.before is not None and opened:
            for s in self.opening:
                if s.id in starved:
                    continue
                for m in index.entering(s, self.before, now):
                    pick[m.key] = m
        for key in self.refused:
            m = index.by_key.get(key)
            if m is not None:
                pick[key] = m
        freed = bt.touched
        if self.before is not None and self.before.date() != now.date():
            freed = freed | {s.id for s in self.daily}
        for sid in starved:  # what it skips now it must read in full once it has money
            self.blocked[sid] = True
        if was != starved:
            freed = freed | (was - starved)
        if freed:
            self.full = frozenset(sid for sid in freed
                                  if self.blocked.get(sid) and sid not in starved)
            bt.touched = set()
        else:
            self.full = _NONE
        return list(pick.values())

    def firsts(self) -> tuple:
        """The first-bet times of the sessions with max_duration_h (next_change reads them)."""
        books = self.bt.book.sessions
        return tuple(books[sid].first_bet_at if sid in books else None for sid in self.lasting)

    def starve(self) -> frozenset[str]:
        """The sessions whose stake, the same for every match, their free bankroll cannot
        cover (staking.Purse.starved): `decide` makes none of their matches a decision, so
        their price changes and windows opening pick nothing until money comes free."""
        bt = self.bt
        if bt.seq != self._starved_at:  # only the ledger moves a free bankroll
            books, kept, out = bt.book.sessions, self._purses, []
            for s in self.sessions:
                sb = books.get(s.id)
                # a Purse reads the session's own book: its bets, settlements, intents, ladder
                # targets (a reset makes a new book)
                mark = sb and (len(sb.bets), len(sb.settled), len(sb.in_flight),
                               sb.targets_reached)
                got = kept.get(s.id)
                if got is None or got[0] is not sb or got[1] != mark:
                    got = kept[s.id] = (sb, mark,
                                        Purse(s, sb, self.plans[s.id]).starved())
                if got[2]:
                    out.append(s.id)
            if self.starved != set(out):
                self.starved = frozenset(out)
            self._starved_at = bt.seq
        return self.starved

    def decided(self, now: datetime, out) -> None:
        """Remember which sessions may have been blocked by their book in this pass."""
        active = {s.id for s in out.active}
        for sid in self.blocked:
            blocked = sid not in active or sid in out.notes
            self.blocked[sid] = blocked if sid in self.full else self.blocked[sid] or blocked
        self.before = now
