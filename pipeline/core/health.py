"""Health files `data/health/<program>.json` (DESIGN: programs).

Written once as soon as a program starts, then at least every 5 real seconds from a thread of its
own. A program is stale when its last real beat is 15 real seconds old. `beat_soon()` asks that
thread for a beat now: a program's pass says what it processed without waiting for the health
file's fsyncs (under I/O load tens of ms, which held back the next pass: odds → BET_PLACED).
"""
from __future__ import annotations

import os
import shutil
import threading
from datetime import datetime, timedelta

from pipeline.core.clock import Clock, real_now
from pipeline.core.filebus import SnapshotWriter, read_snapshot, BadFile
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso, parse_iso

BEAT_REAL_S = 2.0
STALE_REAL_S = 15.0
LOW_DISK_BYTES = 200 * 1024 * 1024


class Health:
    def __init__(self, home: Home, program: str, clock: Clock | None = None):
        self.home, self.program, self.clock = home, program, clock
        self.writer = SnapshotWriter(home.health(program))
        self.state = "ok"
        self.last_error: str | None = None
        self.counters: dict[str, float] = {}
        self.info: dict = {}  # extra fields, e.g. the odds version a program has processed
        self.started_at = self._sim_now()
        self._lock = threading.Lock()  # state and counters
        self._beat_lock = threading.Lock()  # one beat (build + write) at a time
        self._stop = threading.Event()
        self._wake = threading.Event()  # beat_soon: the beat thread beats at once
        self._thread: threading.Thread | None = None

    def _sim_now(self) -> datetime:
        return self.clock.now() if self.clock is not None else real_now()

    def set_clock(self, clock: Clock) -> None:
        """The home's clock, once loaded: from then on every time here is simulated time."""
        if self.clock is None:
            self.started_at = clock.now()
        self.clock = clock

    def set(self, state: str, error: str | None = None, *, beat: bool = True) -> None:
        with self._lock:
            self.state, self.last_error = state, error
        if beat:
            self.beat()

    def ok(self) -> None:
        if self.state != "ok" or self.last_error is not None:
            self.set("ok", None)

    def incr(self, name: str, n: float = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def beat(self) -> dict:
        # one beat at a time, built and written in turn (so the file never goes back to an
        # older state); counters have their own lock, so incr() never waits for the fsyncs
        with self._beat_lock:
            return self._beat()

    def beat_soon(self) -> None:
        """A beat as soon as the beat thread can write it, not on the caller's thread; before
        `start` (no thread yet) at once, on the caller's."""
        if self._thread is None or not self._thread.is_alive():
            self.beat()
            return
        self._wake.set()

    def _beat(self) -> dict:
        with self._lock:
            now = self._sim_now()
            free = shutil.disk_usage(self.home.data).free
            state, error = self.state, self.last_error
            if state == "ok" and free < LOW_DISK_BYTES:
                state, error = "degraded", f"disk nearly full: {free // 2**20} MiB free"
            body = {"program": self.program, "pid": os.getpid(), "started_at": iso(self.started_at),
                    "last_beat": iso(now), "last_beat_real": iso(real_now()), "state": state,
                    "last_error": error, "counters": dict(self.counters),
                    "disk_free_mb": free // 2**20, **self.info}
        return self.writer.write(body, written_at=iso(now))

    def start(self, every_real_s: float = BEAT_REAL_S) -> "Health":
        self.beat()

        def loop():
            while True:
                self._wake.wait(every_real_s)
                self._wake.clear()  # before the beat: a wish made during it gets its own beat
                if self._stop.is_set():
                    return
                try:
                    self.beat()
                except Exception:  # a full disk must not kill the beat thread
                    pass

        self._thread = threading.Thread(target=loop, name=f"health-{self.program}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)


def read_health(home: Home, program: str) -> dict | None:
    try:
        return read_snapshot(home.health(program))
    except BadFile:
        return None


def liveness(doc: dict | None, now_real: datetime | None = None) -> str:
    """running | stale | absent, from a health document's real beat."""
    if not doc:
        return "absent"
    now_real = now_real or real_now()
    try:
        age = now_real - parse_iso(doc["last_beat_real"])
    except (KeyError, ValueError):
        return "stale"
    return "stale" if age > timedelta(seconds=STALE_REAL_S) else "running"
