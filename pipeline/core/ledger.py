"""The append-only event ledger `data/bet-record.jsonl` (DESIGN: files, invariants 1-2).

Appends happen under a filelock with one write + fsync; `seq` is assigned under the lock. A torn
last line (a crash mid-write) is ignored by readers and cut off by the next writer under the lock.
`transact` lets a program decide what to append from the ledger as it stands under the lock, which
is how "at most one BET_PLACED per decision id" and "halt written once, by the first program that
sees the cause" hold across processes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import orjson
from filelock import FileLock

from pipeline.core.clock import Clock
from pipeline.core.timefmt import iso

SCHEMA_VERSION = 1
EVENT_TYPES = ("BET_INTENDED", "BET_PLACED", "BET_FAILED", "BET_REFUSED", "BET_SETTLED",
               "TARGET_REACHED", "SESSION_HALTED", "SESSION_RESET")


@dataclass(frozen=True)
class ReadResult:
    events: list[dict]
    good_bytes: int  # length of the prefix made of whole, parsable lines
    torn: bool  # a partial or unparsable tail follows the good prefix


def parse(data: bytes) -> ReadResult:
    """Events of a ledger's bytes. Only the last line may be torn; it is left out."""
    events: list[dict] = []
    pos = 0
    torn = False
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:  # no newline: a write cut short
            torn = True
            break
        line = data[pos:end]
        if line.strip():
            try:
                ev = orjson.loads(line)
            except orjson.JSONDecodeError:
                if data[end + 1:].strip():
                    raise ValueError(f"ledger line at byte {pos} does not parse and is not the last")
                torn = True
                break
            events.append(ev)
        pos = end + 1
    return ReadResult(events, pos, torn)


class Ledger:
    def __init__(self, path: Path, clock: Clock):
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock", timeout=60)
        self.repairs = 0

    def read(self) -> list[dict]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return parse(data).events

    def transact(self, decide: Callable[[list[dict]], Iterable[dict]]) -> list[dict]:
        """Under the lock: read the ledger, let `decide` say what to append, append it.

        `decide` gets every event so far and returns event bodies (type, session, …); they get
        `seq`, `ts` and `schema_version` here and are written with one write and one fsync.
        """
        with self._lock:
            with open(self.path, "a+b") as f:
                f.seek(0)
                result = parse(f.read())
                if result.torn:  # repair: cut the torn tail before appending
                    f.truncate(result.good_bytes)
                    self.repairs += 1
                bodies = list(decide(result.events))
                if not bodies:
                    return []
                last = result.events[-1]["seq"] if result.events else 0
                ts = iso(self.clock.now())
                out = []
                for i, body in enumerate(bodies, start=1):
                    fields = {k: v for k, v in body.items() if k not in ("seq", "ts")}
                    ev = {"seq": last + i, "ts": ts, "schema_version": SCHEMA_VERSION, **fields}
                    if ev.get("type") not in EVENT_TYPES or not isinstance(ev.get("session"), str):
                        raise ValueError(f"not a ledger event: {body!r}")
                    out.append(ev)
                f.seek(0, os.SEEK_END)
                f.write(b"".join(orjson.dumps(ev) + b"\n" for ev in out))
                f.flush()
                os.fsync(f.fileno())
                return out

    def append(self, *bodies: dict) -> list[dict]:
        return self.transact(lambda _events: bodies)
