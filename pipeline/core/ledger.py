"""The append-only event ledger `data/bet-record.jsonl` (DESIGN: files, invariants 1-2).

Appends happen under a filelock with one write + fsync (pipeline.core.jsonl); `seq` is assigned
under the lock and strictly increases. A torn last line (a crash mid-write: it does not parse as a
complete event) is ignored by readers and cut off by the next writer under the lock; a complete
last event without its newline counts, and the next writer ends it. A line that parses but is no
event (`not_an_event`: a hand edit) is reported once and skipped by every reader; a UTF-8 BOM at
the start is tolerated.
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
from pipeline.core.filebus import BadFile
from pipeline.core.jsonl import BOM, JsonlFile, parse
from pipeline.core.timefmt import iso

SCHEMA_VERSION = 1
EVENT_TYPES = ("BET_INTENDED", "BET_PLACED", "BET_FAILED", "BET_REFUSED", "BET_SETTLED",
               "TARGET_REACHED", "SESSION_HALTED", "SESSION_RESET", "CHECKPOINT")


def not_an_event(rec: object, prev: dict | None) -> str | None:
    """Why a line that parses is no ledger event (None: it is one): every reader skips it.
    An event is an object with an integer `seq` above the event before it and a `type`."""
    if not isinstance(rec, dict):
        return f"not an event: a JSON {type(rec).__name__}, not an object"
    seq = rec.get("seq")
    if type(seq) is not int:
        return "not an event: no integer seq"
    if not isinstance(rec.get("type"), str) or not rec["type"]:
        return "not an event: no type"
    last = prev["seq"] if prev else 0
    if seq <= last:
        return f"not an event: seq {seq} does not follow seq {last}"
    return None


def read_events(path: Path) -> list[dict]:
    """The ledger's events as every reader sees them, at once (no follower state): [] for a
    missing ledger; BadFile for a line that does not parse before the last."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    try:
        return parse(data, check=not_an_event).records
    except ValueError as e:
        raise BadFile(path, str(e)) from None


class Ledger:
    def __init__(self, path: Path, clock: Clock):
        self.path = Path(path)
        self.clock = clock
        self._file = JsonlFile(self.path, check=not_an_event)

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
            last = events[-1]["seq"] if events else 0  # every reader's events: seq increases
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

    def rewrite(self, decide: Callable[[list[dict]], tuple[list[dict], dict] | None]
                ) -> list[dict] | None:
        """Under the lock: `decide(events)` returns the events to keep and one event body to
        append after them (a CHECKPOINT: pipeline.core.archive), or None to leave the ledger;
        the body gets the next seq (never one used before), `ts` and `schema_version`, and the
        new ledger replaces the old one atomically (`JsonlFile.rewrite`). Returns it."""
        def fn(events: list[dict]) -> list[dict] | None:
            out = decide(events)
            if out is None:
                return None
            kept, body = out
            ev = {"seq": (events[-1]["seq"] if events else 0) + 1, "ts": iso(self.clock.now()),
                  "schema_version": SCHEMA_VERSION, **body}
            return [*kept, ev]

        return self._file.rewrite(fn)

    def sync(self) -> None:
        """Make the appends written with sync=False durable: one fsync for all of them."""
        self._file.sync()

    def append(self, *bodies: dict) -> list[dict]:
        return self.transact(lambda _events: bodies)


def last_seq(path: Path, chunk: int = 65536) -> int:
    """The seq of the ledger's last event, as every reader reads it (a torn last line and lines
    that are no event left out; a last event without its newline counted), 0 for an empty or
    missing ledger. Reads only the file's tail: the step clock asks this every time it checks
    whether decide has read the whole ledger. (A hand-written event whose seq does not follow
    is not told apart here: readers skip it, this may answer its seq.)"""
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
            if start == 0:
                data = data.removeprefix(BOM)
            lines = data.split(b"\n")
            whole = lines if start == 0 else lines[1:]  # [0] may be cut
            for line in reversed(whole):
                if not line.strip():
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # an unparsable last line: torn, not read by anyone
                if not_an_event(rec, None) is None:
                    return rec["seq"]
            chunk *= 2
        return 0
