"""The `decide` program: odds-data + system-config + bet-record -> data/decisions.json.

One FileWatch streams changes of the three inputs onto the runtime's scheduler thread, where each
emission runs one cycle: reload the config if its file changed (a bad edit keeps the last good
one), fold new ledger events into the Book, read the odds snapshot if the file was replaced (a
torn or invalid file is logged once and skipped: the last good snapshot stands) and index it
(updating the last index in place when only prices and seen_at moved: OddsIndex `previous`),
run the pure engine and write decisions.json when its content changed — which is at least once
per odds version processed. A cycle where no input changed (the periodic re-read) does nothing
unless the engine said time alone changes the outcome by now (a window opening or closing, odds
turning stale). data/probabilities.json (the model program's) is read when it changed and
checked (core/files); a missing, torn or invalid file gives `from: model` sessions no bet and a
note saying why (strategies/value), until a good one is written.

`betpipe decide --once --odds FILE [--config FILE] [--ledger FILE] [--now ISO]` (`run_once`)
prints the decisions.json document the program would write, and writes nothing.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import orjson

from pipeline.core import clock as clockmod
from pipeline.core.config import ConfigError, load_config
from pipeline.core.filebus import (SCHEMA_VERSION, BadFile, FileWatch, SnapshotWriter,
                                  parse_snapshot, read_capped, read_snapshot)
from pipeline.core.gcpause import collect_after
from pipeline.core.ledger import Ledger, read_events
from pipeline.core.log import OncePerReason, exception_fields
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline.core.state import Book, absorb_new, replay
from pipeline.core.timefmt import iso, parse_iso
from pipeline.core.files import check_probabilities
from pipeline.strategies.engine import OddsIndex, Outcome, Tables, decide, next_change

PROGRAM = "decide"


def body_of(out: Outcome, odds_version: int, config_version: int) -> dict:
    """decisions.json without its version and written_at."""
    return {"odds_version": odds_version, "config_version": config_version,
            "decisions": out.decisions, "notes": out.notes}


def load_odds(path: Path, data: bytes | None = None,
              previous: OddsIndex | None = None) -> OddsIndex | None:
    """A usable odds-data document — of `data`, the file's bytes already read, or else read
    now — checked and indexed (None when the file does not exist); BadFile names what is
    wrong with it (file, JSON path, reason). `previous`: the index of the file's last good
    version, updated in place when only prices and seen_at changed (OddsIndex)."""
    doc = read_snapshot(path) if data is None else parse_snapshot(data, path)
    if doc is None:
        return None
    try:
        return OddsIndex(doc, previous=previous)
    except ValueError as e:
        raise BadFile(path, str(e)) from None


def load_tables_of(path: Path, data: bytes | None = None) -> Tables:
    """The probabilities of probabilities.json (`data`: its bytes, else read now); a missing,
    torn or invalid file gives no table and the problem as the sessions' note."""
    try:
        if data is None:
            data = read_capped(path)
        doc = check_probabilities(parse_snapshot(data, path), path)
    except FileNotFoundError:
        return Tables.of_document(None)
    except BadFile as e:
        return Tables(problem=f"{path.name}: {e.reason}")
    return Tables.of_document(doc)


class Decider:
    def __init__(self, rt: Runtime):
        self.rt, home = rt, rt.home
        self.odds_path = home.odds.resolve()
        self.config_path = home.system_config.resolve()
        self.ledger_path = home.ledger.resolve()
        self.prob_path = home.probabilities.resolve()
        self.paths = frozenset([self.odds_path, self.config_path, self.ledger_path,
                                self.prob_path])
        self.tables = load_tables_of(self.prob_path)
        self.prob_bytes: bytes | None = None
        self.writer = SnapshotWriter(home.decisions)
        self.ledger = Ledger(home.ledger, rt.clock)
        self.book = Book()
        self.index: OddsIndex | None = None  # the last good snapshot, indexed
        self.retired: OddsIndex | None = None  # the one before: freed after the write
        self.odds_error: str | None = None
        self.ledger_error: str | None = None
        self.cycle_failed = OncePerReason(rt.log, "cycle.error")
        self.stale_problem: str | None = None
        self.last_body: dict | None = None
        self.previous = self._load_previous(home.decisions)
        self.odds_bytes: bytes | None = None  # the odds file as last read
        self.next_change = None  # when time alone changes the outcome (engine's answer)
        self.lock = threading.Lock()
        self.closed = False

    def _load_previous(self, path: Path) -> dict[str, dict]:
        """Decisions of the last run, so their created_at survives a restart."""
        try:
            doc = read_snapshot(path) or {}
        except BadFile:
            return {}
        return {d["id"]: d for d in doc.get("decisions", []) if isinstance(d, dict) and "id" in d}

    # -- one cycle -------------------------------------------------------------------------
    def on_paths(self, paths) -> None:
        with self.lock:
            if self.closed:
                return
            with collect_after():  # a cycle allocates a lot: collect after it, not in it
                try:
                    self._cycle(frozenset(paths))
                except Exception as e:  # never let one bad cycle end the subscription
                    fields = exception_fields(e)
                    self.cycle_failed.failed(fields.pop("error"), **fields)  # once per error
                    self.rt.health.incr("errors")
                    self.rt.health.set("degraded", f"cycle error: {e!r}")
                else:
                    self.cycle_failed.cleared()
                finally:
                    self.retired = None

    def _cycle(self, paths: frozenset) -> None:
        t0 = time.perf_counter()
        rt = self.rt
        rt.health.incr("cycles")
        changed = False  # each read below is cheap when its file did not change
        if self.config_path in paths:
            changed |= rt.reload_config()  # compares the file's bytes first
        # the ledger on every cycle, not only on its own event: the odds' event may come
        # first, and a decision must never stand on a ledger older than the file (an intent
        # appended just before withdraws it). Cheap: a stat, and only the appended tail parsed
        changed |= self._read_ledger()
        if self.odds_path in paths:
            changed |= self._read_odds()
        if self.prob_path in paths:
            changed |= self._read_probabilities()
        now = rt.clock.now()
        due = self.next_change is not None and now >= self.next_change
        if self.index is None or not (changed or due):
            self._update_health()
            return  # nothing new to decide on: the last decisions stand
        out = decide(self.index, rt.config, self.book, now, self.previous,
                     with_next_change=False,  # worked out below, after the write
                     tables=self.tables)
        rt.health.incr("decides")
        odds_version = self.index.version
        body = body_of(out, odds_version, rt.holder.version)
        if body != self.last_body:
            doc = self.writer.write(body, written_at=iso(now))
            self.last_body = body
            self.previous = {d["id"]: d for d in out.decisions}
            rt.log.info("decisions.written", version=doc["version"], odds_version=odds_version,
                        config_version=rt.holder.version, decisions=len(out.decisions),
                        stale=out.stale, ms=round((time.perf_counter() - t0) * 1000, 2))
            rt.health.incr("writes")
        self.next_change = next_change(self.index, rt.config, self.book, now, out.active)
        rt.health.info["next_change"] = self.next_change and iso(self.next_change)
        self.stale_problem = (f"stale odds: {out.stale} scheduled match(es) older than "
                              f"max_odds_age_s {rt.config.max_odds_age_s:g} make no decision"
                              if out.stale else None)
        seen = {"odds_version": odds_version, "decisions_version": self.writer.version,
                "ledger_seq": self.book.seq}  # what these decisions were made from
        if any(rt.health.info.get(k) != v for k, v in seen.items()):
            rt.health.info.update(seen)
            rt.health.beat_soon()  # the step clock waits on this, after decisions.json is written
        self._update_health()

    def _read_ledger(self) -> bool:
        """Fold new ledger events into the Book; True when there were any."""
        before = self.book.seq
        try:
            events = self.ledger.read()
        except ValueError as e:  # BadFile: a line that does not parse and is not the last
            reason = getattr(e, "reason", str(e))
            if self.ledger_error != f"{self.ledger_path}: {reason}":
                self.rt.log.error("ledger.invalid", file=str(self.ledger_path), reason=reason)
            self.ledger_error = f"{self.ledger_path}: {reason}"
            return False
        self.ledger_error = None
        absorb_new(self.book, events)
        return self.book.seq != before

    def _read_odds(self) -> bool:
        """True when a new good snapshot was read; a bad one is logged once per reason. The
        same bytes as last time (the periodic re-read) are not read again."""
        try:
            data = read_capped(self.odds_path)
        except FileNotFoundError:
            data = None
        except BadFile as e:  # too big to read: the same error until the file changes
            data, too_big = str(e).encode(), e
        else:
            too_big = None
        if data == self.odds_bytes:
            return False
        self.odds_bytes = data
        try:
            if too_big is not None:
                raise too_big
            index = None if data is None else load_odds(self.odds_path, data, self.index)
        except BadFile as e:
            if self.odds_error != str(e):
                self.rt.log.error("odds.invalid", file=str(e.path), reason=e.reason,
                                  keeping_version=self.index.version if self.index else None)
                self.rt.health.incr("bad_odds_files")
            self.odds_error = str(e)
            return False
        self.odds_error = None
        if index is None:
            return False
        # freeing the old document's ~20 objects per match takes ~1 ms at 1,000 matches:
        # done after decisions.json is written, not on the way to it
        self.retired, self.index = self.index, index
        return True

    def _read_probabilities(self) -> bool:
        """True when probabilities.json's bytes changed (a new table or a new problem)."""
        try:
            data = read_capped(self.prob_path)
        except FileNotFoundError:
            data = None
        except BadFile as e:
            data = str(e).encode()
        if data == self.prob_bytes:
            return False
        self.prob_bytes = data
        self.tables = load_tables_of(self.prob_path, data)
        if self.tables.problem and self.tables.model is None and data is not None:
            self.rt.log.error("probabilities.invalid", file=str(self.prob_path),
                              reason=self.tables.problem)
        return True

    def _update_health(self) -> None:
        """Degraded while the config, the odds file or the ledger has a problem, or odds are
        stale (status shows it); else ok."""
        h = self.rt.health
        errors = [str(e) for e in (self.rt.holder.error, self.odds_error, self.ledger_error,
                                   self.stale_problem) if e]
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
    watch = FileWatch([home.odds, home.system_config, home.ledger, home.probabilities],
                      rt.scheduler, window_s=0.05, resync_s=2)
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


# --------------------------------------------------------------------------- --once

def once_document(home: Home, odds_path: Path, config_path: Path, ledger_path: Path,
                  now=None) -> dict:
    """The decisions.json document the program would write for these files, reading only.

    `version` follows the home's decisions.json, whose decisions also keep their created_at;
    `now` defaults to the home's clock (else real time). Raises ConfigError or BadFile.
    """
    config = load_config(config_path)
    index = load_odds(odds_path)
    if index is None:
        raise BadFile(odds_path, "file not found")
    events = read_events(ledger_path)
    if now is None:
        try:
            now = clockmod.load_clock(home.clock).now()
        except clockmod.ClockError:
            now = clockmod.real_now()
    try:
        last = read_snapshot(home.decisions) or {}
    except BadFile:
        last = {}
    previous = {d["id"]: d for d in last.get("decisions", []) if isinstance(d, dict) and "id" in d}
    out = decide(index, config, replay(events), now, previous,
                 tables=load_tables_of(home.probabilities))
    return {"version": int(last.get("version", 0)) + 1, "written_at": iso(now),
            "schema_version": SCHEMA_VERSION,
            **body_of(out, index.version, int(last.get("config_version") or 1))}


def run_once(args) -> int:
    home = Home.from_env(args.home)
    if not args.odds:
        print("betpipe decide --once: --odds FILE is required", file=sys.stderr)
        return 2
    try:
        now = parse_iso(args.now) if args.now else None
    except ValueError as e:
        print(f"betpipe decide --once: --now: {e}", file=sys.stderr)
        return 2
    config = Path(args.config) if args.config else home.system_config
    ledger = Path(args.ledger) if args.ledger else home.ledger
    try:
        doc = once_document(home, Path(args.odds), config, ledger, now)
    except (ConfigError, BadFile) as e:
        print(f"betpipe decide --once: {e}", file=sys.stderr)
        return 2
    print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    return 0
