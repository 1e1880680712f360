"""`IndexedBook`: a `Book` whose session figures cost O(1) instead of O(bets), for long backtests.

`core.state.SessionBook` derives `settled_profit`, `open_bets` and `open_stake` by scanning every
bet, and `Book._on_bet_settled` asks `bet in sb.bets` (a scan with dataclass equality). The
decide engine asks these for every session on every match, so a backtest over thousands of bets
grows quadratically. Here the same values are kept as the events arrive, computed by the same
expressions over the same bets in the same order, so every figure is bit-for-bit the one the
plain Book gives (tests/analysis/test_book.py runs both on real seasons and compares every bet):

- settled_profit: the running sum of settled profits, in settlement order (what `sum` does);
- open_bets / open_stake: the open bets in placement order (a dict by seq), summed as before;
- `bet in sb.bets`: membership by the bet's ledger seq, which is unique per placed bet.

Folding, queries and everything else are `Book`'s own. A SESSION_RESET makes a plain
SessionBook (correct, only slower): the backtest never writes one.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.state import Bet, Book, SessionBook


class _Placed(list):
    """A session's placed bets; appending one also marks it open; `in` is O(1) by seq."""

    def __init__(self, owner: "IndexedSessionBook"):
        super().__init__()
        self._owner, self._seqs = owner, set()

    def append(self, bet: Bet) -> None:
        super().append(bet)
        self._seqs.add(bet.seq)
        if bet.open:
            self._owner._open[bet.seq] = bet

    def __contains__(self, bet) -> bool:
        return isinstance(bet, Bet) and bet.seq in self._seqs


class _Settled(list):
    """A session's settled bets in settlement order; appending one adds its profit."""

    def __init__(self, owner: "IndexedSessionBook"):
        super().__init__()
        self._owner = owner

    def append(self, bet: Bet) -> None:
        super().append(bet)
        self._owner._profit += bet.profit
        self._owner._open.pop(bet.seq, None)


@dataclass
class IndexedSessionBook(SessionBook):
    def __post_init__(self):
        self._open: dict[int, Bet] = {}
        self._profit = 0  # the same start as sum()
        self.bets = _Placed(self)
        self.settled = _Settled(self)

    @property
    def settled_profit(self) -> float:
        return round(self._profit, 2)

    @property
    def open_bets(self) -> list[Bet]:
        return list(self._open.values())

    @property
    def open_stake(self) -> float:
        return round(sum(b.stake for b in self._open.values()), 2)


class IndexedBook(Book):
    def session(self, session_id: str) -> SessionBook:
        sb = self.sessions.get(session_id)
        if sb is None:
            sb = self.sessions[session_id] = IndexedSessionBook(session_id)
        return sb
