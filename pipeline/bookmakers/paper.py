"""Paper mode: bets filled against the current odds of `data/odds-data.json`, nothing real.

A paper bet is taken at the match's current price for the selection when that price is still
at least the order's `min_odds`; otherwise it is certainly not placed ("price_changed",
retryable). Like a real bookmaker it keeps its own durable record, `data/paper/bets.jsonl`: one
line per accepted bet, appended under a lock with fsync BEFORE `place` returns, so a bet it
confirmed survives any crash and `lookup(client_ref)` can reconcile an intent after a restart.
A client_ref it already accepted is answered with the first bet, never taken twice.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.bookmakers import Order, Placement
from pipeline.core.clock import Clock
from pipeline.core.filebus import BadFile, read_snapshot
from pipeline.core.jsonl import JsonlFile
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso

ON_SALE = "scheduled"


def record_path(home: Home) -> Path:
    return home.data / "paper" / "bets.jsonl"


def _placement(rec: dict) -> Placement:
    return Placement.placed(rec["client_ref"], rec["bet_ref"], float(rec["odds"]),
                            float(rec["stake"]), rec.get("placed_at"))


class PaperBookmaker:
    mode = "paper"

    def __init__(self, home: Home, clock: Clock):
        self.odds_path = home.odds
        self.clock = clock
        self.path = record_path(home)
        self._file = JsonlFile(self.path)

    # -- the record ----------------------------------------------------------------------
    def records(self) -> list[dict]:
        """Every bet the paper bookmaker accepted; a torn last line is left out."""
        return self._file.read()

    def lookup(self, client_ref: str) -> Placement | None:
        rec = next((r for r in self.records() if r.get("client_ref") == client_ref), None)
        return _placement(rec) if rec else None

    # -- placing ---------------------------------------------------------------------------
    def _price(self, order: Order) -> tuple[float | None, str | None]:
        """The current price of the order's selection, or why there is none."""
        try:
            doc = read_snapshot(self.odds_path)
        except BadFile as e:
            return None, f"odds_unavailable: {e.reason}"
        match = next((m for m in (doc or {}).get("matches", []) if m.get("key") == order.match_key),
                     None)
        if match is None:
            return None, "unknown_match"
        odds = match.get("odds")
        if match.get("status") != ON_SALE or not odds or odds.get(order.selection) is None:
            return None, "suspended"
        return float(odds[order.selection]), None

    def place(self, order: Order) -> Placement:
        outcome: list[Placement] = []

        def book(records: list[dict]) -> list[dict]:
            """Under the record's lock: the first bet of a client_ref stands (idempotent)."""
            known = next((r for r in records if r.get("client_ref") == order.client_ref), None)
            if known is not None:
                outcome.append(_placement(known))
                return []
            price, why = self._price(order)
            if price is None or price < order.min_odds:
                outcome.append(Placement.not_placed(order.client_ref, why or "price_changed",
                                                    retryable=True))
                return []
            rec = {"client_ref": order.client_ref, "bet_ref": f"P-{len(records) + 1}",
                   "decision_id": order.decision_id, "session": order.session,
                   "match_key": order.match_key, "market": order.market,
                   "selection": order.selection, "odds": price, "stake": order.stake,
                   "placed_at": iso(self.clock.now())}
            outcome.append(_placement(rec))
            return [rec]

        self._file.transact(book)  # on disk (fsync) before the placement is answered
        return outcome[0]

    def close(self) -> None:
        pass
