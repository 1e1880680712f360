"""Step mode (DESIGN: one clock, `clock.mode: "step"`): the replay moves simulated time itself.

`run_steps` is the monitor's loop then: write the snapshot at `sim_now`, wait at the `StepGate`
until decide, execute and track report in their health files that they processed that odds
version, then move `data/clock.json` to the next instant the replay's snapshot changes.

The gate waits for a program until its health shows `odds_version` >= the version written; for
decide also `ledger_seq` >= the ledger's last seq, and for execute `decisions_version` >= the
version of decisions.json. So time moves on only at a fixed point: track has settled what that
odds version settles, decide has read every event appended so far (a settlement can make it
decide again on the same odds, for a result-dependent plan or a bankroll-based stake) and
execute has placed whatever decide made of it. Each program writes its files before its health,
so the gate reads the healths first and the ledger and decisions.json after them: what it finds
there is at least what the healths answer for. So that a dead program cannot freeze time
forever, it waits at most `clock.step_deadline_s` real seconds: then it logs `clock.step_late`,
advances anyway, and stops waiting for that program until it has caught up again. A program
whose health says it stopped, or that has not beaten for 15 real seconds, is not waited for; one
with no health file yet (still starting) is, up to the deadline.
"""
from __future__ import annotations

import threading
import time

from watchdog.events import FileCreatedEvent, FileMovedEvent, FileSystemEventHandler
from watchdog.observers import Observer

from pipeline.core.clock import set_sim_now
from pipeline.core.filebus import BadFile, read_snapshot
from pipeline.core.health import liveness, read_health
from pipeline.core.ledger import last_seq
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso
from pipeline.sources.replay import window_edges

WAIT_FOR = ("decide", "execute", "track")
RECHECK_S = 0.1  # real seconds: the safety net when a file event is missed
RETRY_S = 1.0  # real seconds before a failed step poll is tried again


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def caught_up(program: str, health: dict | None, version: int,
              decisions_version: int | None, ledger_seq: int = 0) -> bool:
    """Has `program` processed odds version `version` (decide: and the ledger up to
    `ledger_seq`; execute: and decisions.json's `decisions_version`)?"""
    if not health:
        return False
    seen = _int(health.get("odds_version"))
    if seen is None or seen < version:
        return False
    if program == "decide" and ledger_seq > 0:
        read = _int(health.get("ledger_seq"))
        return read is not None and read >= ledger_seq
    if program == "execute" and decisions_version is not None:
        placed = _int(health.get("decisions_version"))
        return placed is not None and placed >= decisions_version
    return True


def gone(health: dict | None) -> bool:
    """A program that is not running (stopped cleanly, or no beat for 15 real seconds)."""
    return bool(health) and (bool(health.get("stopped")) or liveness(health) == "stale")


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event):
        self.event = event

    def on_any_event(self, _event):
        self.event.set()


class StepGate:
    def __init__(self, home: Home, log, deadline_s: float, programs=WAIT_FOR):
        self.home, self.log, self.deadline_s, self.programs = home, log, deadline_s, programs
        self.behind: set[str] = set()  # missed a deadline: not waited for until caught up
        self._changed = threading.Event()
        self._observer = Observer()
        home.health_dir.mkdir(parents=True, exist_ok=True)
        for directory in (home.health_dir, home.data):  # health files, decisions.json
            self._observer.schedule(_Wake(self._changed), str(directory), recursive=False,
                                    event_filter=[FileCreatedEvent, FileMovedEvent])
        self._observer.start()

    def _decisions_version(self) -> int | None:
        try:
            return _int((read_snapshot(self.home.decisions) or {}).get("version"))
        except BadFile:
            return None

    def pending(self, version: int) -> list[str]:
        """The programs still to report `version` that are waited for. The healths are read
        before the files they answer for (see the module doc)."""
        healths = {program: read_health(self.home, program) for program in self.programs}
        ledger_seq = last_seq(self.home.ledger)
        decisions = self._decisions_version()
        out = []
        for program, doc in healths.items():
            if caught_up(program, doc, version, decisions, ledger_seq):
                if program in self.behind:
                    self.behind.discard(program)
                    self.log.info("clock.step_caught_up", waited_for=program,
                                  odds_version=version)
            elif program not in self.behind and not gone(doc):
                out.append(program)
        return out

    def wait(self, version: int, stopping: threading.Event) -> dict:
        """Until every waited-for program has processed `version`, the deadline, or a stop."""
        started = time.monotonic()
        while True:
            self._changed.clear()
            pending = self.pending(version)
            waited_ms = round((time.monotonic() - started) * 1000, 1)
            if not pending or stopping.is_set():
                return {"waited_ms": waited_ms, "late": []}
            if waited_ms / 1000 >= self.deadline_s:
                self.behind.update(pending)
                self.log.warning("clock.step_late", odds_version=version, programs=pending,
                                 deadline_s=self.deadline_s,
                                 hint="advancing anyway; not waiting for them until they "
                                      "catch up")
                return {"waited_ms": waited_ms, "late": pending}
            self._changed.wait(min(RECHECK_S, self.deadline_s - waited_ms / 1000))

    def close(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)


def run_steps(rt, monitor, source) -> None:
    """The monitor's loop in step mode (see the module doc); returns when a stop is asked for."""
    gate = StepGate(rt.home, rt.log, rt.config.clock.step_deadline_s)
    rt.health.counters.update(steps=0, late_steps=0)
    rt.health.info.update(replay="running", last_step_wait_ms=None)
    finished = False
    try:
        while not rt.stopping.is_set():
            rt.reload_config()
            if finished:
                rt.wait(1.0)
                continue
            if not monitor.poll():
                rt.wait(RETRY_S)
                continue
            version = monitor.version
            waited = gate.wait(version, rt.stopping)
            if rt.stopping.is_set():
                break
            now = rt.clock.now()
            nxt = source.next_change(now, window_edges(rt.config))
            rt.health.info["last_step_wait_ms"] = waited["waited_ms"]
            if waited["late"]:
                rt.health.incr("late_steps")
            if nxt is None:
                finished = True
                rt.health.info["replay"] = "finished"
                rt.log.info("replay.finished", sim_now=iso(now), odds_version=version)
                rt.health.beat()
                continue
            set_sim_now(rt.home.clock, nxt)
            rt.health.incr("steps")
            rt.log.info("clock.step", odds_version=version, sim_now=iso(nxt),
                        waited_ms=waited["waited_ms"], late=waited["late"])
    finally:
        gate.close()
