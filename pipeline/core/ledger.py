"""The append-only event ledger `data/bet-record.jsonl` (DESIGN: files, invariants 1-2).

Appends happen under a filelock with one write + fsync (pipeline.core.jsonl); `seq` is assigned
under the lock. A torn last line (a crash mid-write) is ignored by readers and cut off by the next
writer under the lock.
`transact` lets a program decide what to append from the ledger as it stands under the lock, which
is how "at most one BET_PLACED per decision id" and "halt written once, by the first program that
sees the cause" hold across processes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from pipeline.core.clock import Clock
from pipeline.core.jsonl import JsonlFile
from pipeline.core.timefmt import iso

SCHEMA_VERSION = 1
EVENT_TYPES = ("BET_INTENDED", "BET_PLACED", "BET_FAILED", "BET_REFUSED", "BET_SETTLED",
               "TARGET_REACHED", "SESSION_HALTED", "SESSION_RESET")


class Ledger:
    def __init__(self, path: Path, clock: Clock):
        self.path = Path(path)
        self.clock = clock
        self._file = JsonlFile(self.path)

    @property
    def repairs(self) -> int:
        return self._file.repairs

    def read(self) -> list[dict]:
        return self._file.read()

    def transact(self, decide: Callable[[list[dict]], Iterable[dict]], *,
                 sync: bool = True) -> list[dict]:
        """Under the lock: read the ledger, let `decide` say what to append, append it.

        `decide` gets every event so far and returns event bodies (type, session, …); they get
        `seq`, `ts` and `schema_version` here and are written with one write and one fsync
        (with sync=False the fsync waits for `sync()`: group commit).
        """
        def stamped(events: list[dict]) -> list[dict]:
            bodies = list(decide(events))
            last = events[-1]["seq"] if events else 0
            ts = iso(self.clock.now())
            out = []
            for i, body in enumerate(bodies, start=1):
                fields = {k: v for k, v in body.items() if k not in ("seq", "ts")}
                ev = {"seq": last + i, "ts": ts, "schema_version": SCHEMA_VERSION, **fields}
                if ev.get("type") not in EVENT_TYPES or not isinstance(ev.get("session"), str):
                    raise ValueError(f"not a ledger event: {body!r}")
                out.append(ev)
            return out

        return self._file.transact(stamped, sync=sync)

    def sync(self) -> None:
        """Make the appends written with sync=False durable: one fsync for all of them."""
        self._file.sync()

    def append(self, *bodies: dict) -> list[dict]:
        return self.transact(lambda _events: bodies)
