"""Append-only JSON-lines files with fsync and torn-tail repair: the ledger, the paper
bookmaker's record. Appends happen under a filelock, with one write + fsync; a torn last line (a
crash mid-write) is ignored by readers and cut off by the next writer under the lock.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import orjson
from filelock import FileLock


@dataclass(frozen=True)
class ReadResult:
    records: list[dict]
    good_bytes: int  # length of the prefix made of whole, parsable lines
    torn: bool  # a partial or unparsable last line follows the good prefix


def parse(data: bytes) -> ReadResult:
    """Records of a JSON-lines file's bytes. Only the last line may be torn; it is left out.
    An unparsable line that is not the last is corruption, not a crash: ValueError."""
    records: list[dict] = []
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
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                if data[end + 1:].strip():
                    raise ValueError(f"line at byte {pos} does not parse and is not the last")
                torn = True
                break
        pos = end + 1
    return ReadResult(records, pos, torn)


class JsonlFile:
    def __init__(self, path: Path, lock_timeout_s: float = 60):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout_s)
        self.repairs = 0

    def read(self) -> list[dict]:
        try:
            return parse(self.path.read_bytes()).records
        except FileNotFoundError:
            return []

    def transact(self, decide: Callable[[list[dict]], Iterable[dict]]) -> list[dict]:
        """Under the lock: read every record, let `decide` say what to append, append it with
        one write and one fsync. Returns what was appended."""
        with self._lock:
            with open(self.path, "a+b") as f:
                f.seek(0)
                result = parse(f.read())
                if result.torn:
                    f.truncate(result.good_bytes)
                    self.repairs += 1
                new = list(decide(result.records))
                if new:
                    f.seek(0, os.SEEK_END)
                    f.write(b"".join(orjson.dumps(r) + b"\n" for r in new))
                    f.flush()
                    os.fsync(f.fileno())
                return new
