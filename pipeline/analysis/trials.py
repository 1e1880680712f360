"""The backtest engine as optimize's trials run it: what does not depend on a trial's
parameters is made once per worker and reused by every trial.

`Prepared` is a match with its one-match snapshot's `OddsIndex` and kickoff ISO text, built once
(a plain backtest builds them at every step). `Trials` holds the prepared matches of some
seasons in the backtest's order and, per picker (market, selection, line bounds), the price each
match offers that side. A trial's run (`Trials.run`) then steps the engine (`Backtest.step`
with the prepared index) only on the matches the session can bet: a match outside its
competitions or with nothing on sale, or whose picked price is outside its odds bounds (a
session without `probability`), is one on which `engine.decide` makes no decision — the first
checks of `engine._session` — so it only passes by
(`Backtest.pass_by`: its results settled and the time halts due, only needed when a session
has `max_duration_h`; settlements are batched per settlement instant, so settling them at the
next decided match instead is the same sequence of events). Same engine, same events, same
figures as `backtest.run` on the same matches: tests/analysis/test_optimize.py compares them.
"""
from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from typing import Sequence

from pipeline.analysis import backtest as bt
from pipeline.core.config import Config, Session
from pipeline.strategies import rules
from pipeline.strategies.engine import OddsIndex
from pipeline.strategies.snapshot import Match
from pipeline.strategies.value import NO_TABLES, Tables


@dataclass(frozen=True)
class Prepared:
    match: bt.BtMatch
    index: OddsIndex         # of `bt.snapshot(match)`: read only by `decide`
    on_sale: Match | None    # the index's one match (None: nothing on sale)
    ts: str                  # the kickoff as ISO text (the snapshot's fetched_at)


def prepare(m: bt.BtMatch) -> Prepared:
    snap = bt.snapshot(m)
    index = OddsIndex(snap, check=False)
    return Prepared(m, index, index.all.matches[0] if len(index) else None, snap["fetched_at"])


class Trials:
    """Prepared matches (in the backtest's order) and what trials reuse of them."""

    def __init__(self, items: Sequence[Prepared]):
        self.items = list(items)
        self.prices: dict[tuple, list[float | None]] = {}  # picker key -> price per match

    @property
    def matches(self) -> list[bt.BtMatch]:
        return [p.match for p in self.items]

    def _prices(self, session: Session) -> list[float | None]:
        """The price `rules.market_picker(session)` picks on each match (None: nothing)."""
        line = session.line.model_dump(mode="json") if session.line is not None else None
        key = (session.market, session.selection, json.dumps(line, sort_keys=True))
        prices = self.prices.get(key)
        if prices is None:
            pick, prices = rules.market_picker(session), []
            for p in self.items:
                choice = pick(p.on_sale) if p.on_sale is not None else None
                prices.append(None if choice is None else choice[1])
            self.prices[key] = prices
        return prices

    def can_bet(self, session: Session) -> list[bool]:
        """Per match: False only when `decide` can make no decision of the session on it."""
        items = self.items
        if session.probability is not None:  # its choice reads the probabilities: any match
            ok = [p.on_sale is not None for p in items]
        else:
            lo, hi = rules.bounds(session.odds)
            ok = [x is not None and lo <= x <= hi for x in self._prices(session)]
        if session.competitions is not None:
            comps = set(session.competitions)
            ok = [k and p.on_sale.competition in comps for k, p in zip(ok, items)]
        return ok

    def run(self, config: Config, tables: Tables = NO_TABLES) -> bt.Backtest:
        """`backtest.run(self.matches, config, tables=tables)`, deciding only where a session
        can bet."""
        run = bt.Backtest(config, tables=tables)
        betting = [s for s in config.sessions if s.enabled] if not config.halt else []
        ok = [False] * len(self.items)
        for s in betting:
            ok = [a or b for a, b in zip(ok, self.can_bet(s))]
        timed = any(s.limits.max_duration_h is not None for s in config.sessions)
        collecting = gc.isenabled()
        gc.disable()  # as backtest.run: collect once, at the end
        try:
            for p, bet in zip(self.items, ok):
                if bet:
                    run.step(p.match, p.index, p.ts)
                elif timed:
                    run.pass_by(p.match, p.ts)
                else:
                    run.matches += 1
            return run.finish()
        finally:
            if collecting:
                gc.enable()
