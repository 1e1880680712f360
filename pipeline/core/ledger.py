"""The append-only event ledger `data/bet-record.jsonl` (DESIGN: files, invariants 1-2).

Appends happen under a filelock with one write + fsync (pipeline.core.jsonl); `seq` is assigned
under the lock. A torn last line (a crash mid-write) is ignored by readers and cut off by the next
writer under the lock.
`transact` lets a program decide what to append from the ledger as it stands under the lock, which
is how "at most one BET_PLACED per decision id" and "halt written once, by the first program that
sees the cause" hold across processes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import orjson

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


def last_seq(path: Path, chunk: int = 65536) -> int:
    """The seq of the ledger's last whole line that parses (a torn last line is left out, as
    every reader leaves it out), 0 for an empty or missing ledger. Reads only the file's tail:
    the step clock asks this every time it checks whether decide has read the whole ledger."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return 0
    with f:
        size = os.fstat(f.fileno()).st_size
        start = size
        while start > 0:
            start = max(0, start - chunk)
            data = os.pread(f.fileno(), size - start, start)
            lines = data.split(b"\n")
            whole = lines[:-1] if start == 0 else lines[1:-1]  # [0] may be cut; [-1] unended
            for line in reversed(whole):
                if not line.strip():
                    continue
                try:
                    seq = orjson.loads(line).get("seq")
                except (orjson.JSONDecodeError, AttributeError):
                    continue  # an unparsable last line: torn, not read by anyone
                return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
            chunk *= 2
        return 0
