"""The one clock of a home (DESIGN: one clock).

Every program reads simulated time from a `Clock`; this module is the only one that reads the
wall clock. `data/clock.json` anchors a home's clock: sim = sim_start + (real - real_start) * speed;
in step mode (`mode: "step"`) it holds the simulated time itself (`sim_now`), which only the
replay source moves (`StepClock`, `set_sim_now`). Once `scripts/stop` recorded `stopped_at`, the
home's clock stands still there (`StoppedClock`) for every reader until the next start anchors it
again. Tests hand programs a `FakeClock` instead.
"""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from pipeline.core.errors import BetpipeError
from pipeline.core.timefmt import iso, parse_iso


def real_now() -> datetime:
    return datetime.fromtimestamp(time.time(), tz=timezone.utc)


class Clock(Protocol):
    speed: float

    def now(self) -> datetime: ...

    def real_now(self) -> datetime: ...


class AnchoredClock:
    """Simulated time anchored to real time at a fixed speed."""

    def __init__(self, real_start: datetime, sim_start: datetime, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("clock speed must be > 0")
        self.real_start, self.sim_start, self.speed = real_start, sim_start, float(speed)

    def now(self) -> datetime:
        return self.sim_start + (real_now() - self.real_start) * self.speed

    def real_now(self) -> datetime:
        return real_now()

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed


class FakeClock:
    """A clock a test moves by hand; real time is simulated time."""

    def __init__(self, start: datetime | str, speed: float = 1.0):
        self._now = parse_iso(start) if isinstance(start, str) else start
        self.speed = speed
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def real_now(self) -> datetime:
        return self.now()

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime | str) -> None:
        with self._lock:
            self._now = parse_iso(when) if isinstance(when, str) else when


class StoppedClock:
    """A stopped home's clock (DESIGN: one clock): simulated time stands at `stopped_at`."""

    def __init__(self, stopped_at: datetime, speed: float = 1.0):
        self.stopped_at, self.speed = stopped_at, float(speed)

    def now(self) -> datetime:
        return self.stopped_at

    def real_now(self) -> datetime:
        return real_now()


class ClockError(BetpipeError, RuntimeError):
    pass


def _file_sig(path: Path):
    st = os.stat(path)  # an atomic replace gives a new inode: a rewrite is always seen
    return st.st_ino, st.st_mtime_ns, st.st_size


class StepClock:
    """Step mode (DESIGN: one clock): simulated time is `sim_now` in data/clock.json.

    Only the replay source moves it (`set_sim_now`), after decide, execute and track have
    processed the previous odds version. `now()` re-reads the file only when it changed (one
    stat per call); a file that cannot be read keeps the last good time.
    """

    def __init__(self, path: Path, doc: dict):
        self.path = Path(path)
        self.speed = float(doc.get("speed", 1.0))
        self._lock = threading.Lock()
        self._now = _sim_now_of(doc, self.path)
        try:
            self._sig = _file_sig(self.path)
        except OSError:
            self._sig = None

    def now(self) -> datetime:
        from pipeline.core.filebus import read_json

        with self._lock:
            try:
                sig = _file_sig(self.path)
                if sig != self._sig:
                    self._now, self._sig = _sim_now_of(read_json(self.path), self.path), sig
            except Exception:
                pass  # a vanished or unreadable file: the last good time stands
            return self._now

    def real_now(self) -> datetime:
        return real_now()


def _sim_now_of(doc: dict, path: Path) -> datetime:
    try:
        return parse_iso(doc.get("sim_now") or doc.get("stopped_at") or doc["sim_start"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ClockError(f"{path}: invalid step clock (sim_now): {e}")


def load_clock(path: Path) -> AnchoredClock | StepClock | StoppedClock:
    """The anchor `scripts/start` wrote; every program and the CLI read it. A home stopped since
    (`stopped_at`, any mode) gives a clock that stands still there until the next anchor."""
    from pipeline.core.filebus import read_json  # late: filebus imports clock users

    try:
        doc = read_json(path)
        if doc.get("stopped_at"):
            return StoppedClock(parse_iso(doc["stopped_at"]), doc.get("speed", 1.0))
        if doc.get("mode") == "step":
            return StepClock(path, doc)
        return AnchoredClock(parse_iso(doc["real_start"]), parse_iso(doc["sim_start"]), doc["speed"])
    except FileNotFoundError:
        raise ClockError(f"{path}: no clock anchor; scripts/start writes it (betpipe clock anchor)")
    except (KeyError, TypeError, ValueError) as e:
        raise ClockError(f"{path}: invalid clock anchor: {e}")


def _last_seen_sim(path: Path) -> datetime | None:
    """The latest simulated instant a crashed run is known to have reached (health beats)."""
    from pipeline.core.filebus import read_json

    latest = None
    for hp in (path.parent / "health").glob("*.json"):
        try:
            beat = parse_iso(read_json(hp)["last_beat"])
        except Exception:
            continue
        latest = beat if latest is None or beat > latest else latest
    return latest


def anchor(path: Path, *, start: datetime, speed: float, mode: str = "anchored") -> dict:
    """Write the anchor for a (re)starting home: resume where the last run stopped.

    A fresh home starts at `start`. After `betpipe clock stop`, at `stopped_at`. After a crash
    (no stopped_at), at the later of the old anchor's start and the last health beat: simulated
    time never goes back and never jumps over a stop.
    """
    from pipeline.core.filebus import atomic_write_json, read_json

    sim_start, version = start, 1
    if path.exists():
        try:
            old = read_json(path)
            version = int(old.get("version", 0)) + 1
            if old.get("stopped_at"):
                sim_start = parse_iso(old["stopped_at"])
            else:
                candidates = [parse_iso(old["sim_start"]), _last_seen_sim(path),
                              parse_iso(old["sim_now"]) if old.get("sim_now") else None]
                sim_start = max(c for c in candidates if c is not None)
        except Exception:
            pass  # an unreadable anchor: start fresh from config, as for a new home
    real = real_now()
    doc = {"version": version, "written_at": iso(sim_start), "mode": mode, "speed": float(speed),
           "real_start": iso(real), "sim_start": iso(sim_start)}
    if mode == "step":
        doc["sim_now"] = iso(sim_start)
    atomic_write_json(path, doc)
    return doc


def set_sim_now(path: Path, when: datetime) -> dict:
    """Move a step clock to `when` (the replay source only; simulated time never goes back)."""
    from pipeline.core.filebus import atomic_write_json, read_json

    doc = read_json(path)
    if doc.get("mode") != "step":
        raise ClockError(f"{path}: mode is {doc.get('mode')!r}, not 'step': only a step clock "
                         "is moved by the replay")
    current = _sim_now_of(doc, Path(path))
    if when < current:
        raise ClockError(f"{path}: {iso(when)} is before sim_now {iso(current)}; simulated time "
                         "never goes back")
    doc.update(sim_now=iso(when), written_at=iso(when), version=int(doc.get("version", 0)) + 1)
    atomic_write_json(path, doc)
    return doc


def stop(path: Path) -> dict | None:
    """Record the simulated time the home stopped at, so the next start resumes from it."""
    from pipeline.core.filebus import atomic_write_json, read_json

    if not path.exists():
        return None
    doc = read_json(path)
    if doc.get("stopped_at"):
        return doc
    now = load_clock(path).now()
    doc.update(stopped_at=iso(now), written_at=iso(now), version=int(doc.get("version", 0)) + 1)
    atomic_write_json(path, doc)
    return doc
