"""Closing lines of live bets from the odds history (DESIGN: "Odds history and closing-line
value"): track's part. Once a bet's match has kicked off, its close is the last price of the same
market, selection and line the monitor recorded before kickoff (`pipeline.strategies.clv`); a
close once taken is remembered and never read again, so a pass with no newly kicked-off bet
reads no file.

A bet is looked up when its match's kickoff (odds-data's, else the history's) is GRACE past (a
poll seen just before kickoff has been appended by then: the monitor writes the history first),
or when odds-data no longer lists the match (then the history says when it kicks off). The history is
read from the day before the earliest such bet was placed (a day file lists every match of
that day in its first line for it, so the close is in it or a later day). A match the history
never recorded has no closing price (None, remembered).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Mapping

from pipeline.core.state import Bet
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history import store
from pipeline.strategies import clv


GRACE = timedelta(minutes=5)


class Closes:
    """bet_ref -> Clv (None: no closing price) of the bets whose match has kicked off."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.taken: dict[str, clv.Clv | None] = {}
        self.reads = 0  # history reads (a test checks that a settled pass reads nothing)

    def update(self, bets: Iterable[Bet], kickoffs: Mapping[str, str], now: datetime) -> bool:
        """Take the close of each bet not taken yet whose match has kicked off by `now`
        (`kickoffs`: key -> odds-data's kickoff). True when one was taken."""
        due = []
        for b in bets:
            if b.bet_ref in self.taken:
                continue
            ko = kickoffs.get(b.match_key)
            if ko is None or parse_iso(ko) + GRACE <= now:
                due.append(b)
        if not due:
            return False
        start = min(parse_iso(b.placed_at) for b in due) - timedelta(days=1)
        keys = {b.match_key for b in due}
        of_key: dict[str, list[dict]] = {}
        self.reads += 1
        for r in store.lines(self.directory, iso(start)[:10]):
            if r["key"] in keys:
                of_key.setdefault(r["key"], []).append(r)
        taken = False
        for b in due:
            lines = of_key.get(b.match_key)
            if not lines:  # the history never recorded it: no closing price
                self.taken[b.bet_ref] = None
                taken = True
                continue
            kickoff = kickoffs.get(b.match_key) or lines[-1]["kickoff"]
            if parse_iso(kickoff) + GRACE > now:
                continue
            market, line = clv.bet_market(b)
            self.taken[b.bet_ref] = clv.of_bet(b.odds, b.selection,
                                               clv.closing_state(lines, kickoff), market, line)
            taken = True
        return taken
