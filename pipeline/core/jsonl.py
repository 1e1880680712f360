"""Append-only JSON-lines files with fsync and torn-tail repair: the ledger, the paper
bookmaker's record. Appends happen under a file lock (`FileMutex`), with one write + fsync.
The last line is torn (a crash mid-write) when it does not parse as a complete record: readers
ignore it and the next writer cuts it off under the lock. A last line that is a complete record
but lacks its newline (an editor dropped it) counts: readers read it and the next writer adds the
newline before its own lines, never cuts it. A line that parses but is no record (the file's
`check` says why: a hand edit) is reported once — file, line number, reason — and skipped. A
UTF-8 BOM at the start of the file (an editor) is tolerated. An append that fails part-way (disk
full, EFBIG, EIO) is cut back at once and raises AppendError naming the file: nothing of it stays.
A line that does not parse before the last is corruption: BadFile naming the file and the byte,
and no writer appends on top of it.
Records are parsed once: what lies before the end of the last newline-ended line never changes
(appends only), so each read parses only the new tail (a last line without its newline is parsed
again until it has one). The records are shared: callers must not mutate them.
`transact(..., sync=False)` appends without the fsync and `sync()` makes every such append durable
with one fsync: group commit, for a writer that needs durability only at a point of its choosing
(before it acts on what it wrote).
"""
from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import orjson

from pipeline.core.errors import BetpipeError
from pipeline.core.filebus import BadFile, atomic_write_bytes
from pipeline.core.log import Logger


BOM = b"\xef\xbb\xbf"
# why a parsed line is no record of the file (None: it is one), given the record before it
Check = Callable[[object, "dict | None"], "str | None"]


@dataclass(frozen=True)
class ReadResult:
    records: list[dict]  # the last one may be `unended`
    good_bytes: int  # length of the prefix made of whole, newline-ended lines (and a BOM)
    torn: bool  # a partial or unparsable last line follows the good prefix
    lines: int = 0  # newline-ended lines in the good prefix
    unended: bool = False  # the last record lacks its newline: it counts, a writer ends it
    skipped: tuple = ()  # (line number, byte, reason) of lines that parse but are no record


def parse(data: bytes, offset: int = 0, *, line: int = 1, check: Check | None = None,
          prev: dict | None = None) -> ReadResult:
    """Records of a JSON-lines file's bytes (`data` starts at byte `offset`, line `line` of the
    file; `prev` is the record before it). Only the last line may be torn; it is left out. A
    line that parses but that `check` refuses is skipped (listed in `skipped`), or torn when it
    lacks its newline; a record that lacks it counts (`unended`). An unparsable line that is
    not the last is corruption, not a crash: ValueError (its byte position counted from the
    start of the file)."""
    records: list[dict] = []
    skipped = []
    pos = len(BOM) if offset == 0 and data.startswith(BOM) else 0
    first, torn, unended = line, False, False
    while pos < len(data):
        end = data.find(b"\n", pos)
        text = data[pos:] if end < 0 else data[pos:end]
        if text.strip():
            try:
                rec = orjson.loads(text)
            except orjson.JSONDecodeError:
                if end >= 0 and data[end + 1:].strip():
                    raise ValueError(f"line at byte {offset + pos} does not parse and is not "
                                     "the last")
                torn = True
                break
            reason = check(rec, records[-1] if records else prev) if check else None
            if reason is None:
                records.append(rec)
            elif end < 0:  # an unended line that is no record: torn
                torn = True
                break
            else:
                skipped.append((line, offset + pos, reason))
        if end < 0:  # no newline: complete (it parsed) but unended, or just blank
            if text.strip():
                unended = True
            else:
                torn = True  # blanks a writer may cut
            break
        pos, line = end + 1, line + 1
    return ReadResult(records, pos, torn, line - first, unended, tuple(skipped))


class AppendError(BetpipeError, OSError):
    """An append that did not happen (disk full, file size limit, I/O error): names the file;
    nothing of it was left in the file. The caller may try again later."""


def _append(fd: int, data: bytes, end: int, path: Path) -> None:
    """Write `data` at the end (`end`) of an O_APPEND file with unbuffered writes; when a write
    fails part-way, cut the file back to `end` (no torn line) and raise AppendError."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        try:
            os.ftruncate(fd, end)
        except OSError:
            pass  # a torn tail is still ignored by readers and cut by the next writer
        raise AppendError(e.errno, f"{path}: append of {len(data)} bytes failed "
                                   f"({e.strerror or e}); nothing of it was kept") from None


class FileMutex:
    """Mutual exclusion across threads and processes: a threading lock, then flock(2) on
    `path` — the lock filelock's FileLock takes on Unix, so the two interoperate — with its
    descriptor kept open between uses (filelock opens, checks and closes it every time: most of
    an append's cost). TimeoutError after `timeout_s`."""

    def __init__(self, path: Path, timeout_s: float = 60):
        self.path, self.timeout_s = str(path), timeout_s
        self._thread = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> "FileMutex":
        if not self._thread.acquire(timeout=self.timeout_s):
            raise TimeoutError(f"{self.path}: held by another thread for {self.timeout_s:g} s")
        try:
            self._flock()
        except BaseException:
            self._thread.release()
            raise
        return self

    def _flock(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.path}: held by another process for "
                                       f"{self.timeout_s:g} s") from None
                time.sleep(0.001)
                continue
            try:  # the lock file replaced under us (a home removed): lock the new one
                same = os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return
            os.close(self._fd)
            self._fd = None

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()


def _to_stderr(path: Path, line: int, reason: str) -> None:
    Logger("betpipe", sys.stderr).warning("file.line_skipped", file=str(path), line=line,
                                           reason=reason)


_report: Callable[[Path, int, str], None] = _to_stderr
_reported: set[tuple[str, int, int]] = set()  # (file, inode, byte) said once per process


def report_to(fn: Callable[[Path, int, str], None]) -> Callable[[Path, int, str], None]:
    """Where skipped lines are reported from now on, `fn(file, line number, reason)` (a
    program's log; stderr until one is set); returns the one before."""
    global _report
    previous, _report = _report, fn
    return previous


class JsonlFile:
    """One JSON-lines file; `check(record, record before) -> reason | None` says which parsed
    lines are records (default: every one)."""

    def __init__(self, path: Path, lock_timeout_s: float = 60, check: Check | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileMutex(Path(str(self.path) + ".lock"), lock_timeout_s)
        self.check = check
        self.repairs = 0
        # (inode, end of the newline-ended prefix, its last bytes, its records, its lines)
        self._cache: tuple[int, int, bytes, list[dict], int] = (-1, 0, b"", [], 0)
        self._unsynced = False  # appended with sync=False since the last fsync

    def read(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                return list(self._parse(f).records)
        except FileNotFoundError:
            return []

    def _parse(self, f) -> ReadResult:
        """The file's records, parsing only what follows the prefix parsed before (same file:
        inode, size and the prefix's last bytes unchanged); otherwise all of it."""
        st = os.fstat(f.fileno())
        ino, end, mark, records, lines = self._cache
        same = ino == st.st_ino and st.st_size >= end
        if not same or os.pread(f.fileno(), len(mark), end - len(mark)) != mark:
            end, records, lines = 0, [], 0
        f.seek(end)
        try:
            tail = parse(f.read(), end, line=lines + 1, check=self.check,
                         prev=records[-1] if records else None)
        except ValueError as e:  # corruption: every reader and writer says where, in which file
            raise BadFile(self.path, str(e)) from None
        for line, byte, reason in tail.skipped:
            if (str(self.path), st.st_ino, byte) not in _reported:
                _reported.add((str(self.path), st.st_ino, byte))
                _report(self.path, line, reason)
        result = ReadResult(records + tail.records, end + tail.good_bytes, tail.torn,
                            lines + tail.lines, tail.unended, tail.skipped)
        ended = result.records[:-1] if result.unended else result.records  # parsed again
        self._remember(f, st.st_ino, result.good_bytes, ended, result.lines)
        return result

    def _remember(self, f, ino: int, end: int, records: list[dict], lines: int) -> None:
        self._cache = (ino, end, os.pread(f.fileno(), min(end, 64), max(0, end - 64)), records,
                       lines)

    def transact(self, decide: Callable[[list[dict]], Iterable[dict]], *,
                 sync: bool = True) -> list[dict]:
        """Under the lock: read every record, let `decide` say what to append, append it with
        one write and (unless `sync` is False: see `sync()`) one fsync — after a newline when
        the last record lacks one. Returns what was appended."""
        with self._lock:
            with open(self.path, "a+b") as f:
                result = self._parse(f)
                if result.torn:
                    f.truncate(result.good_bytes)
                    self.repairs += 1
                new = list(decide(result.records))
                if new:
                    end = f.seek(0, os.SEEK_END)
                    data = b"".join(orjson.dumps(r) + b"\n" for r in new)
                    if result.unended:
                        data = b"\n" + data
                    _append(f.fileno(), data, end, self.path)
                    if sync:
                        os.fsync(f.fileno())
                    self._unsynced = not sync
                    self._remember(f, os.fstat(f.fileno()).st_ino, end + len(data),
                                   result.records + new, result.lines + result.unended + len(new))
                return new

    def rewrite(self, decide: Callable[[list[dict]], list[dict] | None]) -> list[dict] | None:
        """Under the lock: read every record, let `decide` say which records the file holds
        instead (None: leave it as it is), and put them in a new file that replaces this one
        atomically (temp file, fsync, os.replace, directory fsync): a reader sees the old file
        or the new one, never a mix; a follower sees a new inode and reads it from the start.
        Returns the new records."""
        with self._lock:
            try:
                with open(self.path, "rb") as f:
                    records = self._parse(f).records
            except FileNotFoundError:
                records = []
            new = decide(records)
            if new is None:
                return None
            atomic_write_bytes(self.path, b"".join(orjson.dumps(r) + b"\n" for r in new))
            self._cache, self._unsynced = (-1, 0, b"", [], 0), False
            return new

    def sync(self) -> None:
        """One fsync for every append made with sync=False since the last one."""
        if self._unsynced:
            with open(self.path, "rb") as f:
                os.fsync(f.fileno())
            self._unsynced = False


def append_bytes(fd: int, data: bytes, end: int, path: Path) -> None:
    """`data` appended to an O_APPEND file whose length is `end`, with one unbuffered write;
    cut back and AppendError when it fails part-way (another writer of the same rules: the
    odds history)."""
    _append(fd, data, end, path)


def report_skipped(path: Path, line: int, reason: str) -> None:
    """Report a line that parses but is no record, where skipped lines are reported."""
    _report(path, line, reason)
