"""The loop of a program that reacts to files: last good snapshots, passes on change, SIGTERM.

`LastGood` reads a snapshot and keeps the last good document when the file turns torn or invalid
(one log line per distinct problem, naming the file and the reason: invariant 3). `serve` runs a
program's pass once at start and then on every change of its input files (FileWatch: throttled,
with the periodic re-read), all on the runtime's one scheduler, until SIGTERM; the pass in flight
is finished before it returns.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from pipeline.core.filebus import BadFile, FileWatch, parse_snapshot, read_capped
from pipeline.core.gcpause import collect_after
from pipeline.core.jsonl import AppendError
from pipeline.core.log import Logger, OncePerReason, exception_fields
from pipeline.core.runtime import Runtime


class LastGood:
    def __init__(self, path: Path, log: Logger,
                 check: Callable[[dict | None, Path], object] = lambda doc, _path: doc):
        self.path, self.log, self.check = Path(path), log, check
        self.doc: dict | None = None
        self.value = None  # what `check` made of the last good document
        self.problem: str | None = None
        self._bytes: bytes | None = None  # the file as last read

    def load(self):
        """The checked value of the file now, or of the last good version of it. The same bytes
        as last time are not parsed and checked again: most passes follow a change of another
        file (execute's pass on decisions.json parsed the 1,000-match odds-data again, ~1.5 ms)."""
        data = None
        try:
            try:
                data = read_capped(self.path)
            except FileNotFoundError:
                pass
            if data is not None and data == self._bytes:
                return self.value  # as last time: the same value, or the same problem standing
            doc = None if data is None else parse_snapshot(data, self.path)
            value = self.check(doc, self.path)
        except (BadFile, OSError) as e:
            self._bytes = data
            reason = e.reason if isinstance(e, BadFile) else f"{type(e).__name__}: {e}"
            if reason != self.problem:
                self.log.error("file.invalid", file=str(self.path), reason=reason,
                               keeping_version=(self.doc or {}).get("version"))
                self.problem = reason
            return self.value
        self._bytes = data
        if self.problem is not None:
            self.log.info("file.valid", file=str(self.path), version=(doc or {}).get("version"))
            self.problem = None
        if doc is not None:  # a file that disappears leaves the last good one standing
            self.doc, self.value = doc, value
        return self.value

    def doc_of(self, data: bytes) -> dict | None:
        """The document of `data` when they are the bytes last loaded and those were good (no
        need to parse them again: the paper bookmaker's look at odds-data), else None."""
        if self.problem is None and self.doc is not None and data == self._bytes:
            return self.doc
        return None


def serve(rt: Runtime, paths: list[Path], on_pass: Callable[[frozenset], str | None],
          every_real_s: float | None = None) -> None:
    """Call `on_pass(changed_paths)` now and after every change, until a stop is asked for.

    The config is reloaded first whenever system-config.json is among the changed paths. With
    `every_real_s`, a pass (with no changed path) also runs that often: for what only the clock
    moves on (track: overdue bets).
    `on_pass` returns a problem (health degraded) or None; an exception is logged and counted
    as a problem, never the end of the stream (a BadFile or AppendError — corrupt ledger, full
    disk — is the problem itself, logged once per distinct reason, without a trace; any other
    exception is logged with its trace, once per distinct error).
    """
    busy = threading.Lock()
    failed = OncePerReason(rt.log, "pass.failed")  # the same exception on every pass: one line
    config_path = rt.home.system_config.resolve()
    watch = FileWatch([*paths, config_path], rt.scheduler)

    def run(changed: frozenset) -> None:
        with busy:
            if rt.stopping.is_set():
                return
            if config_path in changed:
                rt.reload_config()
            try:
                with collect_after():  # not in the middle of a pass (odds → BET_PLACED)
                    problem = on_pass(changed)
            except (BadFile, AppendError) as e:  # a corrupt ledger, a full disk: health says
                problem = str(e)  # so (logged once by degrade), the next pass tries again
            except Exception as e:
                fields = exception_fields(e)
                problem = f"pass failed: {fields['error']}"
                failed.failed(fields.pop("error"), **fields)
            else:
                failed.cleared()
            rt.health.incr("passes")
            if problem:
                if (rt.health.state, rt.health.last_error) != ("degraded", problem):
                    rt.degrade(problem)
            else:
                rt.recover()

    sub = watch.stream.subscribe(run, lambda e: rt.log.error("watch.failed", error=str(e)))
    watch.start()
    rt.scheduler.schedule(lambda *_: run(frozenset(watch.paths)))
    while not rt.wait(every_real_s or 1.0):  # a stop wakes it at once
        if every_real_s is not None:
            rt.scheduler.schedule(lambda *_: run(frozenset()))
    sub.dispose()
    watch.stop()
    with busy:  # the pass in flight (a placement, an append) finishes first
        pass
