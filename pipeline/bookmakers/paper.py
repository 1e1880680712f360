"""Paper mode: bets filled against the current odds of `data/odds-data.json`, nothing real.

A paper bet is taken at the match's current price for the selection when that price is still
at least the order's `min_odds`; otherwise it is certainly not placed ("price_changed",
retryable). Like a real bookmaker it keeps its own durable record, `data/paper/bets.jsonl`: one
line per accepted bet, appended under a lock with fsync BEFORE `place` returns, so a bet it
confirmed survives any crash and `lookup(client_ref)` can reconcile an intent after a restart.
A client_ref it already accepted is answered with the first bet, never taken twice.
`place_many` books several orders in one append (one fsync): the executor's batches.
Its capabilities (pipeline.bookmakers): batched placement, its record as the bet history, and a
reachability probe that always answers (its own file is never down).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipeline.bookmakers import Capabilities, Order, Placement
from pipeline.core.clock import Clock
from pipeline.core.config import Config
from pipeline.core.filebus import BadFile, parse_snapshot, read_capped
from pipeline.core.files import price_of
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
    capabilities = Capabilities(batched_placement=True, bet_history=True,
                                reachability_probe=True, parsed_odds=True)
    problem = None  # nothing outside its own record can stop it

    def __init__(self, home: Home, clock: Clock):
        self.odds_path = home.odds
        self.clock = clock
        self.known: Callable[[bytes], dict | None] = lambda _data: None  # use_parsed
        self.path = record_path(home)
        self._file = JsonlFile(self.path)
        self._by_ref: dict[str, dict] = {}  # client_ref -> record, of the first `_indexed`
        self._indexed = 0
        self._odds: tuple[tuple, dict[str, dict]] = ((), {})  # (file stat, key -> match)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def unusable(cls) -> str | None:
        return None

    @classmethod
    def open(cls, rt) -> "PaperBookmaker":
        return cls(rt.home, rt.clock)

    @classmethod
    def history(cls, home: Home, config: Config | None = None) -> list[dict]:
        """Every bet it accepted (its record), for reconciliation."""
        return JsonlFile(record_path(home)).read()

    def use_parsed(self, known: Callable[[bytes], dict | None]) -> None:
        """`known(data)`: odds-data's document when another reader of the process already
        parsed these bytes (execute's: core.watchloop.LastGood.doc_of), else None."""
        self.known = known

    # -- the record ----------------------------------------------------------------------
    def records(self) -> list[dict]:
        """Every bet the paper bookmaker accepted; a torn last line is left out."""
        return self._file.read()

    def _known(self, records: list[dict], client_ref: str) -> dict | None:
        """The record of `client_ref` (the first one), indexing only records not seen before."""
        if len(records) < self._indexed:  # another file: index it again
            self._by_ref, self._indexed = {}, 0
        for rec in records[self._indexed:]:
            self._by_ref.setdefault(rec.get("client_ref"), rec)
        self._indexed = len(records)
        return self._by_ref.get(client_ref)

    def lookup(self, client_ref: str) -> Placement | None:
        rec = self._known(self.records(), client_ref)
        return _placement(rec) if rec else None

    # -- placing ---------------------------------------------------------------------------
    def _price(self, order: Order) -> tuple[float | None, str | None]:
        """The current price of the order's selection, or why there is none."""
        try:
            matches = self._matches()
        except BadFile as e:
            return None, f"odds_unavailable: {e.reason}"
        match = matches.get(order.match_key)
        if match is None:
            return None, "unknown_match"
        if match.get("status") != ON_SALE:
            return None, "suspended"
        price = price_of(match, order.market, order.selection, order.line)
        if price is None:  # an AH/OU line no longer offered: the decision moves to the new one
            return None, "suspended" if order.market == "1X2" else "line_changed"
        return price, None

    def _matches(self) -> dict[str, dict]:
        """odds-data's matches by key, parsed again only when the file changed (atomic writes
        replace it: a new inode), and not at all when `known` has these bytes' document (a
        second parse of 1,000 matches on the way to BET_PLACED: 1-4 ms)."""
        try:
            st = self.odds_path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return {}
        if stamp != self._odds[0]:
            try:
                data = read_capped(self.odds_path)
            except FileNotFoundError:
                data = None
            doc = {} if data is None else self.known(data)
            if doc is None:
                doc = parse_snapshot(data, self.odds_path)
            self._odds = (stamp, {m.get("key"): m for m in doc.get("matches", [])
                                  if isinstance(m, dict)})
        return self._odds[1]

    def place(self, order: Order) -> Placement:
        return self.place_many([order])[0]

    def place_many(self, orders: list[Order]) -> list[Placement]:
        """Several orders in one append (one fsync), answered in order, each as `place` would."""
        outcome: list[Placement] = []

        def book(records: list[dict]) -> list[dict]:
            """Under the record's lock: the first bet of a client_ref stands (idempotent)."""
            new: list[dict] = []
            for order in orders:
                known = self._known(records, order.client_ref) or next(
                    (r for r in new if r["client_ref"] == order.client_ref), None)
                if known is not None:
                    outcome.append(_placement(known))
                    continue
                price, why = self._price(order)
                if price is None or price < order.min_odds:
                    outcome.append(Placement.not_placed(order.client_ref, why or "price_changed",
                                                        retryable=True))
                    continue
                new.append({"client_ref": order.client_ref,
                            "bet_ref": f"P-{len(records) + len(new) + 1}",
                            "decision_id": order.decision_id, "session": order.session,
                            "match_key": order.match_key, "market": order.market,
                            "selection": order.selection, "odds": price, "stake": order.stake,
                            **({} if order.line is None else {"line": order.line}),
                            "placed_at": iso(self.clock.now())})
                outcome.append(_placement(new[-1]))
            return new

        self._file.transact(book)  # on disk (fsync) before the placements are answered
        return outcome

    def reachable(self) -> bool:
        return True  # its own record: never down

    def close(self) -> None:
        pass
