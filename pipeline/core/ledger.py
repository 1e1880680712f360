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
Events are typed (core/events.py) everywhere but here: `read` gives them (each line converted
once, however often the ledger is read), `transact` / `append` take them and write their lines;
`records` / `read_records` give the lines as written, for tools that check or move the file
itself (invariants, notify, archive).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import orjson

from pipeline.core.clock import Clock
from pipeline.core.events import CLASSES, EVENT_TYPES, BadEvent, Event, from_dict, missing
from pipeline.core.filebus import BadFile
from pipeline.core.jsonl import BOM, JsonlFile, parse
from pipeline.core.timefmt import iso

__all__ = ["EVENT_TYPES", "SCHEMA_VERSION", "Ledger", "last_seq", "not_an_event", "read_events",
           "read_records"]
SCHEMA_VERSION = 1
_WRITABLE = frozenset(CLASSES.values())


def not_an_event(rec: object, prev: dict | None) -> str | None:
    """Why a line that parses is no ledger event (None: it is one): every reader skips it.
    An event is an object with an integer `seq` above the event before it and a `type`; a line
    of a known type also carries its class's REQUIRED fields."""
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
    lacks = missing(rec)
    if lacks is not None:
        return f"not an event: {rec['type']} without {lacks}"
    return None


def read_records(path: Path) -> list[dict]:
    """The ledger's lines as every reader sees them, at once (no follower state), as written:
    [] for a missing ledger; BadFile for a line that does not parse before the last."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    try:
        return parse(data, check=not_an_event).records
    except ValueError as e:
        raise BadFile(path, str(e)) from None


def read_events(path: Path) -> list[Event]:
    """The ledger's events (typed), at once: see `read_records`."""
    return [from_dict(r) for r in read_records(path)]


def line_of(ev: Event, seq: int, ts: str) -> dict:
    """The line an event body is written as, with its seq and ts."""
    if isinstance(ev, dict):  # a writer not yet typed: read as a line first
        ev = from_dict(ev)
    if type(ev) not in _WRITABLE or not isinstance(ev.session, str):
        raise BadEvent(f"not a ledger event: {ev!r}")
    fields = ev.to_dict()
    fields.pop("seq", None)
    fields.pop("ts", None)
    fields.pop("schema_version", None)
    return {"seq": seq, "ts": ts, "schema_version": SCHEMA_VERSION, **fields}


class Ledger:
    def __init__(self, path: Path, clock: Clock | None = None):
        self.path = Path(path)
        self.clock = clock  # only writers need it (the events' ts)
        self._file = JsonlFile(self.path, check=not_an_event)
        self._lines: list[dict] = []  # the lines last read and their events, index by index
        self._events: list[Event] = []

    @property
    def repairs(self) -> int:
        return self._file.repairs

    def records(self) -> list[dict]:
        """The lines as written (dicts: callers must not mutate them)."""
        return self._file.read()

    def read(self) -> list[Event]:
        return list(self._typed(self._file.read()))

    def _typed(self, lines: list[dict]) -> list[Event]:
        """The events of `lines`, converting only the lines not converted before (the file's
        parsed lines are shared objects: the ones seen before are the same objects)."""
        seen, events = self._lines, self._events
        k = min(len(seen), len(lines))
        while k and lines[k - 1] is not seen[k - 1]:  # a line parsed again, or a new file
            k -= 1
        if k < len(events):
            events = events[:k]
        if len(lines) > k:
            events.extend([from_dict(r) for r in lines[k:]])
        self._lines, self._events = lines, events
        return events

    def transact(self, decide: Callable[[list[Event]], Iterable[Event]], *,
                 sync: bool = True) -> list[Event]:
        """Under the lock: read the ledger, let `decide` say what to append, append it.

        `decide` gets every event so far (a list shared with later reads: not to be changed)
        and returns the events to append (their seq and ts are set here); they get `seq`, `ts`
        and `schema_version` here and are written with one write and one fsync (with
        sync=False the fsync waits for `sync()`: group commit). Returns the events appended.
        """
        made: list[tuple[list[dict], list[dict], list[Event]]] = []

        def stamped(lines: list[dict]) -> list[dict]:
            bodies = list(decide(self._typed(lines)))
            last = lines[-1]["seq"] if lines else 0  # every reader's events: seq increases
            ts = iso(self.clock.now()) if bodies else ""
            out = [line_of(body, last + i, ts) for i, body in enumerate(bodies, start=1)]
            made.append((lines, out, [from_dict(line) for line in out]))
            return out

        self._file.transact(stamped, sync=sync)
        lines, out, typed = made[-1] if made else ([], [], [])
        if out and self._lines is lines:  # the file's next parsed lines: converted already
            lines.extend(out)  # (the file keeps its own list of them)
            self._events.extend(typed)
        return typed

    def rewrite(self, decide: Callable[[list[dict]], tuple[list[dict], Event] | None]
                ) -> list[dict] | None:
        """Under the lock: `decide(lines)` (the lines as written) returns the lines to keep and
        one event to append after them (a CHECKPOINT: pipeline.core.archive), or None to leave
        the ledger; the event gets the next seq (never one used before), `ts` and
        `schema_version`, and the new ledger replaces the old one atomically
        (`JsonlFile.rewrite`). Returns its lines."""
        def fn(lines: list[dict]) -> list[dict] | None:
            out = decide(lines)
            if out is None:
                return None
            kept, body = out
            seq = (lines[-1]["seq"] if lines else 0) + 1
            return [*kept, line_of(body, seq, iso(self.clock.now()))]

        return self._file.rewrite(fn)

    def sync(self) -> None:
        """Make the appends written with sync=False durable: one fsync for all of them."""
        self._file.sync()

    def append(self, *bodies: Event) -> list[Event]:
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
