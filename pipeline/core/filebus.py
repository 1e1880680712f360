"""The file bus: atomic JSON snapshots, their readers, and watching them (DESIGN: files).

Writers replace a snapshot atomically (temp file in an unwatched `.tmp` sibling directory, fsync,
`os.replace`, fsync of the directory), so a reader never sees a partial file. Readers learn of
changes through watchdog (created/moved for snapshots, modified/closed for the ledger), streamed
with reactivex on one scheduler per process, each file throttled by `throttle_latest` (never drops
the last update of a burst), with a periodic re-read as the safety net against lost inotify events.
"""
from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
import reactivex
from reactivex import Observable, operators as ops
from reactivex.abc import SchedulerBase
from reactivex.disposable import CompositeDisposable, SerialDisposable
from reactivex.subject import Subject
from watchdog.events import (FileClosedEvent, FileCreatedEvent, FileModifiedEvent,
                             FileMovedEvent, FileSystemEventHandler)
from watchdog.observers import Observer

from pipeline.core.errors import BetpipeError

TMP_DIR = ".tmp"
SCHEMA_VERSION = 1
MAX_FILE_BYTES = 32 * 2**20  # a snapshot or config bigger than this is refused unread
_counter = itertools.count()


class BadFile(BetpipeError, ValueError):
    """A file that exists but cannot be used: names the file and the reason."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}", file=path, reason=reason)
        self.path, self.reason = Path(path), reason


def dumps(doc: Any, *, indent: bool = True) -> bytes:
    opts = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(doc, option=opts | orjson.OPT_NON_STR_KEYS)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp_dir = path.parent / TMP_DIR
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{path.name}.{os.getpid()}.{threading.get_ident()}.{next(_counter)}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: Path, doc: Any, *, indent: bool = True) -> None:
    atomic_write_bytes(path, dumps(doc, indent=indent) + b"\n")


def read_capped(path: Path, limit: int | None = None) -> bytes:
    """A file's bytes; BadFile naming its size when it is over `limit` (default
    MAX_FILE_BYTES), which is never read into memory. FileNotFoundError if absent."""
    limit = MAX_FILE_BYTES if limit is None else limit
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read(size + 1) if size <= limit else b""  # not read(limit): no 32 MB buffer
        if len(data) > size:  # grown while read (an edit in place): read on up to the limit
            data += f.read(limit + 1 - len(data))
    if size > limit or len(data) > limit:
        raise BadFile(path, f"file size {max(size, len(data))} bytes is over the limit of "
                            f"{limit} bytes; not read")
    return data


def parse_json(data: bytes, path: Path) -> Any:
    """The JSON document in `data` (the bytes of `path`); BadFile if empty, torn or not JSON."""
    if not data.strip():
        raise BadFile(path, "empty file")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise BadFile(path, f"not JSON ({e})") from None


def read_json(path: Path) -> Any:
    """Parse a JSON file; FileNotFoundError if absent, BadFile if too big (read_capped),
    empty, torn or not JSON."""
    return parse_json(read_capped(path), path)


def parse_snapshot(data: bytes, path: Path) -> dict:
    """The snapshot document in `data` (the bytes of `path`); BadFile if unusable."""
    doc = parse_json(data, path)
    if not isinstance(doc, dict):
        raise BadFile(path, "top level is not an object")
    if not isinstance(doc.get("version"), int):
        raise BadFile(path, "field version: missing or not an integer")
    return doc


def read_snapshot(path: Path) -> dict | None:
    """A snapshot document, None if the file does not exist yet; BadFile if unusable."""
    try:
        return parse_snapshot(read_capped(path), path)
    except FileNotFoundError:
        return None


class SnapshotWriter:
    """Sole writer of one snapshot file: strictly increasing `version`, even across restarts."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.version = 0
        try:
            old = read_snapshot(self.path)
            self.version = int(old["version"]) if old else 0
        except BadFile:
            self.version = 0
        self._lock = threading.Lock()

    def write(self, body: dict, *, written_at: str) -> dict:
        with self._lock:
            self.version += 1
            doc = {"version": self.version, "written_at": written_at,
                   "schema_version": SCHEMA_VERSION, **body}
            atomic_write_json(self.path, doc)
            return doc


# --------------------------------------------------------------------------- streaming

def throttle_latest(window_s: float, scheduler: SchedulerBase,
                    merge: Callable[[Any, Any], Any] = lambda _old, new: new):
    """First item at once, then at most one per window, and always the latest at a burst's end.

    Items arriving during the window are folded with `merge` (default: keep the newest) and
    emitted when the window closes; a completed source flushes what is pending first. Unlike
    `throttle_first` it never drops the last update (NOTES: reactivex), unlike `debounce` it fires
    while updates keep coming. Runs on `scheduler`; feed it with observe_on(scheduler).
    """

    def operator(source: Observable) -> Observable:
        def subscribe(observer, _=None):
            state = {"cooling": False, "pending": False, "value": None}
            timer = SerialDisposable()

            def close_window(*_args):
                if state["pending"]:
                    value, state["pending"], state["value"] = state["value"], False, None
                    observer.on_next(value)
                    timer.disposable = scheduler.schedule_relative(window_s, close_window)
                else:
                    state["cooling"] = False

            def on_next(value):
                if state["cooling"]:
                    state["value"] = merge(state["value"], value) if state["pending"] else value
                    state["pending"] = True
                    return
                state["cooling"] = True
                observer.on_next(value)
                timer.disposable = scheduler.schedule_relative(window_s, close_window)

            def on_completed():
                if state["pending"]:
                    state["pending"] = False
                    observer.on_next(state["value"])
                observer.on_completed()

            sub = source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)
            return CompositeDisposable(sub, timer)

        return reactivex.create(subscribe)

    return operator


def watch_stream(events: Observable, every: frozenset, scheduler: SchedulerBase, *,
                 window_s: float, resync_s: float) -> Observable:
    """Changed-path sets: `events` (from any thread) on `scheduler`, each file throttled on its
    own (`throttle_latest`: at once, then at most one per window, the last never dropped), and
    every `resync_s` all of `every`. Neither a re-read nor another file's change opens a window
    that holds back a file's next change: a write just after a re-read waited up to `window_s`
    (the decide hop's p99 did), and so did execute's decisions.json, written by decide ~10 ms
    after the odds-data write that had opened execute's window (the odds → BET_PLACED path)."""
    changes = events.pipe(
        ops.observe_on(scheduler),
        ops.flat_map(lambda paths: reactivex.from_iterable(paths)),
        ops.group_by(lambda path: path),
        ops.flat_map(lambda one: one.pipe(throttle_latest(window_s, scheduler),
                                          ops.map(lambda path: frozenset([path])))))
    resync = reactivex.interval(resync_s, scheduler=scheduler).pipe(ops.map(lambda _: every))
    return reactivex.merge(changes, resync)


class _Handler(FileSystemEventHandler):
    def __init__(self, targets: set[str], emit: Callable[[str], None]):
        self.targets, self.emit = targets, emit

    def on_any_event(self, event):
        path = getattr(event, "dest_path", "") or event.src_path
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path in self.targets:
            self.emit(path)
        elif event.src_path in self.targets and not isinstance(event, FileMovedEvent):
            self.emit(event.src_path)


class FileWatch:
    """Watch files; `stream` emits frozensets of changed paths, on `scheduler`, throttled.

    Snapshots are seen by created/moved events, appended files by modified/closed ones (NOTES:
    watchdog). Every `resync_s` seconds all paths are emitted anyway, the safety net against
    inotify overflows. Directories are watched non-recursively, so `.tmp` siblings stay quiet.
    """

    EVENTS = [FileMovedEvent, FileCreatedEvent, FileModifiedEvent, FileClosedEvent]

    def __init__(self, paths: Iterable[Path], scheduler: SchedulerBase, *,
                 window_s: float = 0.05, resync_s: float = 2.0):
        self.paths = [Path(p).resolve() for p in paths]
        self.scheduler = scheduler
        self._subject: Subject = Subject()
        self._observer = Observer()
        targets = {str(p) for p in self.paths}
        for directory in sorted({p.parent for p in self.paths}):
            directory.mkdir(parents=True, exist_ok=True)
            self._observer.schedule(_Handler(targets, self._subject.on_next), str(directory),
                                    recursive=False, event_filter=self.EVENTS)
        events = self._subject.pipe(ops.map(lambda p: frozenset([Path(p)])))
        self.stream: Observable = watch_stream(events, frozenset(self.paths), scheduler,
                                               window_s=window_s, resync_s=resync_s)

    def start(self) -> "FileWatch":
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        self._subject.on_completed()
