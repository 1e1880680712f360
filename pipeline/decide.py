"""The `decide` program: odds-data + system-config + bet-record -> data/decisions.json.

One FileWatch streams changes of the three inputs onto the runtime's scheduler thread, where each
emission runs one cycle: reload the config if its file changed (a bad edit keeps the last good
one), fold new ledger events into the Book, read the odds snapshot (a torn or invalid file is
logged once and skipped: the last good snapshot stands), run the pure engine and write
decisions.json when its content changed — which is at least once per odds version processed.
"""
from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

from pipeline.core.filebus import BadFile, FileWatch, SnapshotWriter, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline.core.state import Book
from pipeline.core.timefmt import iso
from pipeline.strategies.engine import check_snapshot, decide

PROGRAM = "decide"


def _stat(path: Path):
    """What tells an appended ledger apart: inode, size and mtime."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Decider:
    def __init__(self, rt: Runtime):
        self.rt, home = rt, rt.home
        self.odds_path = home.odds.resolve()
        self.config_path = home.system_config.resolve()
        self.ledger_path = home.ledger.resolve()
        self.paths = frozenset([self.odds_path, self.config_path, self.ledger_path])
        self.writer = SnapshotWriter(home.decisions)
        self.ledger = Ledger(home.ledger, rt.clock)
        self.book = Book()
        self.snapshot: dict | None = None
        self.odds_error: str | None = None
        self.ledger_error: str | None = None
        self.last_body: dict | None = None
        self.previous = self._load_previous(home.decisions)
        self.ledger_sig = None
        self.config_bytes: bytes | None = None
        self.lock = threading.Lock()
        self.closed = False

    def _load_previous(self, path: Path) -> dict[str, dict]:
        """Decisions of the last run, so their created_at survives a restart."""
        try:
            doc = read_snapshot(path) or {}
        except BadFile:
            return {}
        return {d["id"]: d for d in doc.get("decisions", []) if isinstance(d, dict) and "id" in d}

    def _config_edited(self) -> bool:
        """The config file's bytes differ from the last look (then the runtime reloads it)."""
        try:
            data = self.config_path.read_bytes()
        except FileNotFoundError:
            data = None
        if data == self.config_bytes:
            return False
        self.config_bytes = data
        return True

    def _ledger_appended(self) -> bool:
        sig = _stat(self.ledger_path)
        if sig == self.ledger_sig:
            return False
        self.ledger_sig = sig
        return True

    # -- one cycle -------------------------------------------------------------------------
    def on_paths(self, paths) -> None:
        with self.lock:
            if self.closed:
                return
            try:
                self._cycle(frozenset(paths))
            except Exception as e:  # never let one bad cycle end the subscription
                self.rt.log.error("cycle.error", error=repr(e), trace=traceback.format_exc())
                self.rt.health.incr("errors")
                self.rt.health.set("degraded", f"cycle error: {e!r}")

    def _cycle(self, paths: frozenset) -> None:
        t0 = time.perf_counter()
        rt = self.rt
        rt.health.incr("cycles")
        config_changed = ledger_changed = odds_failed = False
        if self.config_path in paths and self._config_edited():
            config_changed = rt.reload_config()
        if self.ledger_path in paths and self._ledger_appended():
            ledger_changed = self._read_ledger()
        if self.odds_path in paths:
            odds_failed = not self._read_odds()
        if self.snapshot is None or (odds_failed and not (config_changed or ledger_changed)):
            self._update_health()
            return  # nothing to decide on yet, or a bad odds file: the last decisions stand
        now = rt.clock.now()
        out = decide(self.snapshot, rt.config, self.book, now, self.previous)
        odds_version = self.snapshot["version"]
        body = {"odds_version": odds_version, "config_version": rt.holder.version,
                "decisions": out.decisions, "notes": out.notes}
        if body != self.last_body:
            doc = self.writer.write(body, written_at=iso(now))
            self.last_body = body
            self.previous = {d["id"]: d for d in out.decisions}
            rt.log.info("decisions.written", version=doc["version"], odds_version=odds_version,
                        config_version=rt.holder.version, decisions=len(out.decisions),
                        stale=out.stale, ms=round((time.perf_counter() - t0) * 1000, 2))
            rt.health.incr("writes")
        if rt.health.info.get("odds_version") != odds_version:
            rt.health.info["odds_version"] = odds_version
            rt.health.info["decisions_version"] = self.writer.version
            rt.health.beat()  # the step clock waits on this
        self._update_health()

    def _read_ledger(self) -> bool:
        before = self.book.seq
        try:
            events = self.ledger.read()
        except ValueError as e:
            if self.ledger_error != str(e):
                self.rt.log.error("ledger.invalid", file=str(self.ledger_path), reason=str(e))
            self.ledger_error = f"{self.ledger_path}: {e}"
            return False
        self.ledger_error = None
        for ev in events:
            self.book.apply(ev)
        return self.book.seq != before

    def _read_odds(self) -> bool:
        """True when the odds file is usable (or absent); a bad one is logged once per reason."""
        try:
            doc = read_snapshot(self.odds_path)
            if doc is None:
                return True
            try:
                check_snapshot(doc)
            except ValueError as e:
                raise BadFile(self.odds_path, str(e)) from None
        except BadFile as e:
            if self.odds_error != str(e):
                self.rt.log.error("odds.invalid", file=str(e.path), reason=e.reason,
                                  keeping_version=self.snapshot["version"] if self.snapshot else None)
                self.rt.health.incr("bad_odds_files")
            self.odds_error = str(e)
            return False
        self.odds_error = None
        self.snapshot = doc
        return True

    def _update_health(self) -> None:
        """Degraded while the config, the odds file or the ledger has a problem; else ok."""
        h = self.rt.health
        errors = [str(e) for e in (self.rt.holder.error, self.odds_error, self.ledger_error) if e]
        want = ("degraded", "; ".join(errors)) if errors else ("ok", None)
        if (h.state, h.last_error) != want:
            h.set(*want)

    def close(self) -> None:
        """Wait for the cycle in flight, then refuse new ones."""
        with self.lock:
            self.closed = True


def main(home: Home) -> int:
    rt = Runtime(PROGRAM, home)
    if not rt.start():  # stopped while waiting for a clock anchor or a good config
        rt.close()
        return 0
    decider = Decider(rt)
    watch = FileWatch([home.odds, home.system_config, home.ledger], rt.scheduler,
                      window_s=0.05, resync_s=2)
    sub = watch.stream.subscribe(
        decider.on_paths, lambda e: rt.log.error("watch.error", error=repr(e)))
    watch.start()
    rt.scheduler.schedule(lambda *_: decider.on_paths(decider.paths))  # the first cycle at once
    while not rt.stopping.wait(1.0):
        pass
    sub.dispose()
    decider.close()
    watch.stop()
    rt.close()
    return 0
