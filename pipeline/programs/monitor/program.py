"""The `monitor` program: polls the odds source, sole writer of `data/odds-data.json`.

The source is config `source.kind` (read at start only), built from the registry
(pipeline.sources): `sandbox` (the sandbox bookmaker's odds page), `hkjc` (the HKJC football
site's own GraphQL answers; needs clock speed 1) or `replay` (football-data CSVs on the clock, no
browser) — what each needs (a browser, clock speed 1, page loads per poll) is its declared
capabilities. Every `source.interval_s` simulated seconds
(interval_s / clock.speed real seconds, stretched when a poll takes longer, logged once) it reads
the source and writes a new snapshot. In step mode (`clock.mode: "step"`, replay only) the
replay moves the clock itself instead (pipeline.sources.replay_step).

A failed poll never overwrites the last good snapshot: it is retried with capped exponential
backoff and jitter; after `CIRCUIT_AFTER` failures in a row the circuit opens (health degraded
with the reason, slower retries) until a poll succeeds again. Navigation and answers wait at most
`source.timeout_s` real seconds; a poll that still hangs (a page whose script never yields blocks
`page.evaluate`) past its deadline, or when a stop is asked for, has its browser ended by the
`PollGuard`, so the loop and SIGTERM are never blocked. `interval_s` is hot-reloaded. SIGTERM:
the poll in flight finishes (or is cut by the guard), the browser closes, exit 0.

Every poll first appends what changed to the odds history (`data/odds-history/`,
pipeline.history.store; one fsync), then writes the snapshot: a history that cannot be written
fails the poll (no snapshot a program could act on without its prices on record).
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from pipeline.core.clock import StepClock
from pipeline.core.filebus import SnapshotWriter
from pipeline.core.log import OncePerReason
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline.core.timefmt import iso
from pipeline.browser.launch import Browser, end_orphans
from pipeline.history.store import HistoryWriter, history_dir
from pipeline.sources import SOURCES, check_source, source_class

PROGRAM = "monitor"
MIN_INTERVAL_S = 0.2  # real seconds: no source is polled faster than this
BACKOFF_BASE_S = 0.25  # real seconds before the first retry
BACKOFF_CAP_S = 2.0  # while the circuit is closed
CIRCUIT_AFTER = 5  # failures in a row that open the circuit
OPEN_RETRY_S = 5.0  # real seconds between retries while it is open
JITTER = 0.2  # +-20 %
STOP_GRACE_S = 3.0  # real seconds a poll may go on after SIGTERM before its browser is ended


def retry_delay(failures: int, period_s: float, rand: random.Random) -> float:
    """Real seconds before the next try after `failures` failed polls in a row (>= 1).

    Never sooner than a normal poll; exponential up to a cap while the circuit is closed; slower
    once it is open. Jitter spreads the retries of processes that failed together.
    """
    if failures >= CIRCUIT_AFTER:
        delay = OPEN_RETRY_S
    else:
        delay = min(BACKOFF_BASE_S * 2 ** (failures - 1), BACKOFF_CAP_S)
    return max(period_s, delay * rand.uniform(1 - JITTER, 1 + JITTER))


@dataclass
class Pacer:
    """The poll interval in real seconds, stretched to what the source sustains (logged once)."""

    log: object
    stretched_for: set = field(default_factory=set)

    def interval(self, interval_s: float, speed: float, poll_s: float) -> float:
        wanted = interval_s / speed
        actual = max(wanted, MIN_INTERVAL_S, poll_s)
        if actual > wanted and (interval_s, speed) not in self.stretched_for:
            self.stretched_for.add((interval_s, speed))
            self.log.warning("monitor.interval_stretched", interval_s=interval_s, speed=speed,
                             wanted_real_s=round(wanted, 3), poll_real_s=round(poll_s, 3),
                             real_s=round(actual, 3))
        return actual


class PollGuard:
    """Ends the browser of a poll that outlives its deadline, or a stop request by STOP_GRACE_S.

    Playwright has no timeout for `page.evaluate`, and a sync call cannot be interrupted from
    another thread — but ending the browser's processes (by its profile directory) makes the
    call fail at once; the next poll launches a new browser.
    """

    def __init__(self, browser: Browser, stopping: threading.Event, log):
        self.browser, self.stopping, self.log = browser, stopping, log
        self._lock = threading.Lock()
        self._armed: tuple[float, float] | None = None  # (started, deadline) monotonic
        self._stopped_at: float | None = None
        self._done = threading.Event()
        self.cut = 0
        self._thread = threading.Thread(target=self._run, name="poll-guard", daemon=True)
        self._thread.start()

    def arm(self, deadline_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._armed = (now, now + deadline_s)

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def _run(self) -> None:
        while not self._done.wait(0.1):
            now = time.monotonic()
            if self.stopping.is_set() and self._stopped_at is None:
                self._stopped_at = now
            with self._lock:
                armed = self._armed
                late = armed and (now > armed[1] or self._stopped_at is not None
                                  and now > self._stopped_at + STOP_GRACE_S)
                if late:
                    self._armed = None
            if late:
                self.cut += 1
                reason = "stop requested" if self.stopping.is_set() else "deadline passed"
                self.log.error("poll.hung", reason=reason, after_s=round(now - armed[0], 1),
                               action="ending the browser")
                end_orphans(self.browser.profile_dir, grace_s=0.5)

    def recycle(self, reason: str) -> None:
        """From the main thread, after a hung or timed-out poll: close the browser (and its
        driver) for good, so the next poll launches a new one instead of trying a dead page."""
        self.log.warning("browser.recycled", reason=reason)
        self.browser.close()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)


class Monitor:
    """One poll = fetch, write, count; failures tracked for backoff and the circuit."""

    def __init__(self, rt: Runtime, source, writer: SnapshotWriter, guard: PollGuard | None = None,
                 history: HistoryWriter | None = None):
        self.rt, self.writer, self.guard = rt, writer, guard
        self.source = check_source(source)  # AdapterError: it lacks what it declares
        self.history = history
        self.failures = 0
        self.version: int | None = None  # of the last snapshot written
        self.problems: frozenset[str] = frozenset()
        self.poll_failed = OncePerReason(rt.log, "poll.failed", recovered="monitor.source_back")
        timeout_s = rt.config.source.timeout_s
        self.deadline_s = source.capabilities.timeouts_per_poll * timeout_s + 2

    def poll(self) -> bool:
        rt = self.rt
        rt.health.incr("polls")
        cut = self.guard.cut if self.guard else 0
        try:
            if self.guard:
                self.guard.browser.page()  # a (re)launch has its own timeout: not the poll's
                self.guard.arm(self.deadline_s)
            started = rt.clock.real_now()
            fetched_at = iso(rt.clock.now())
            matches, problems = self.source.fetch(seen_at=fetched_at)
        except Exception as e:
            if rt.stopping.is_set():  # e.g. a group SIGTERM took the browser down mid-poll
                rt.log.info("poll.interrupted", reason=f"{type(e).__name__}: {e}"[:300])
                return False
            hung = bool(self.guard and self.guard.cut > cut)
            self._failed(e, hung=hung)
            if self.guard and (hung or type(e).__name__ == "TimeoutError"):
                # a renderer stuck in a script never lets the next navigation in either
                self.guard.recycle("poll hung" if hung else f"{type(e).__name__}: the page "
                                   "may be wedged")
            return False
        finally:
            if self.guard:
                self.guard.disarm()
        if self.history is not None:
            try:  # before the snapshot: no program acts on a price that is not on record
                added = self.history.append(self.source.kind, matches, fetched_at)
                rt.health.counters["history_lines"] = rt.health.counters.get("history_lines",
                                                                             0) + added
            except (OSError, ValueError) as e:
                self._failed(RuntimeError(f"odds history not written: {e}"))
                return False
        doc = self.writer.write({"source": self.source.kind, "fetched_at": fetched_at,
                                 "matches": matches}, written_at=iso(rt.clock.now()))
        self.version = doc["version"]
        ms = round((rt.clock.real_now() - started).total_seconds() * 1000, 1)
        self._report_problems(problems)
        rt.health.counters["matches"] = len(matches)
        rt.health.info.update(odds_version=doc["version"], fetched_at=fetched_at,
                              circuit="closed", failures=0, last_poll_ms=ms)
        rt.log.info("odds.written", version=doc["version"], matches=len(matches),
                    problems=len(problems), ms=ms)
        if self.failures:
            self.poll_failed.cleared(failures=self.failures)  # monitor.source_back
            self.failures = 0
            rt.recover()
        return True

    def _failed(self, error: Exception, hung: bool = False) -> None:
        rt = self.rt
        self.failures += 1
        rt.health.incr("errors")
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        self.poll_failed.failed(reason, failures=self.failures, hung=hung)  # once per reason
        rt.health.info.update(failures=self.failures, last_failure=reason[:500])
        if hung:  # a page that never yields is broken for sure: say so at once
            rt.degrade(f"poll hung past its {self.deadline_s:g} s deadline: browser ended, a "
                       f"new one is launched on the next poll; last: {reason}")
        elif self.failures >= CIRCUIT_AFTER:
            rt.health.info["circuit"] = "open"
            rt.degrade(f"source failing, circuit open after {self.failures} failed polls in a "
                       f"row (retry every ~{OPEN_RETRY_S:g} s); last: {reason}")

    def _report_problems(self, problems: list[str]) -> None:
        """Log bad rows when the set of problems changes, not on every poll."""
        current = frozenset(problems)
        if current != self.problems:
            self.problems = current
            if problems:
                self.rt.log.warning("odds.problems", count=len(problems), problems=problems[:20])
        self.rt.health.counters["problems"] = len(problems)


def make_source(rt: Runtime, browser: Browser | None):
    """The odds source named by config `source.kind` (read at start only); ValueError when the
    config or the clock does not allow it (its declared capabilities)."""
    cfg, kind = rt.config, rt.config.source.kind
    cls = source_class(kind)
    if isinstance(rt.clock, StepClock) and not cls.capabilities.steps:
        stepping = " or ".join(repr(n) for n in stepping_sources())
        raise ValueError(f"clock.mode 'step' needs source.kind {stepping} (a source that moves "
                         f"the clock), not {kind!r}: set one or the other and restart")
    if cls.capabilities.real_time and rt.clock.speed != 1:
        raise ValueError(f"source.kind {kind!r} reads the real site in real time: it needs "
                         f"clock.speed 1, the clock runs at {rt.clock.speed:g}; set "
                         f"clock.speed to 1, anchor the clock again and restart")
    return cls.open(rt.home, cfg, browser, load_tables(rt.home))


def stepping_sources() -> list[str]:
    return [name for name in SOURCES if source_class(name).capabilities.steps]


def main(home: Home) -> int:
    rt = Runtime(PROGRAM, home)
    if not rt.start():  # beats health at once, waits for the clock anchor and a good config
        rt.close()
        return 0
    # every health field up front: later polls change values only, never the dicts' size,
    # so the beat thread's copy of them never races an insertion
    rt.health.counters.update(polls=0, errors=0, matches=0, problems=0, steps=0, late_steps=0,
                              history_lines=0)
    rt.health.info.update(odds_version=None, fetched_at=None, circuit="closed", failures=0,
                          last_failure=None, last_poll_ms=None, interval_real_s=None,
                          browser_launches=0, replay=None, last_step_wait_ms=None)
    needs_browser = source_class(rt.config.source.kind).capabilities.browser
    browser = Browser(rt.home, PROGRAM, executable=rt.config.browser.executable, log=rt.log,
                      nav_timeout_ms=rt.config.source.timeout_s * 1000) if needs_browser else None
    try:
        source = make_source(rt, browser)
    except ValueError as e:  # a source the clock forbids, unreadable teams.json or CSVs
        rt.fail(str(e))  # stays up, failing, until restarted with a source it can use
        rt.stopping.wait()
        rt.close()
        return 0
    caps = source.capabilities
    rt.log.info("monitor.source", kind=source.kind, url=source.url, mode=rt.config.mode,
                clock=type(rt.clock).__name__, markets=sorted(caps.markets), results=caps.results)
    guard = PollGuard(browser, rt.stopping, rt.log) if browser else None
    history = HistoryWriter(history_dir(rt.home.data))
    monitor = Monitor(rt, source, SnapshotWriter(rt.home.odds), guard, history)
    try:
        if isinstance(rt.clock, StepClock):
            from pipeline.sources.replay_step import run_steps

            run_steps(rt, monitor, source)
        else:
            _poll_loop(rt, monitor, browser)
    finally:
        history.close()
        if guard:
            guard.close()
        if browser:
            browser.close()
        rt.close()
    return 0


def _poll_loop(rt: Runtime, monitor: Monitor, browser: Browser | None) -> None:
    pacer, rand = Pacer(rt.log), random.Random()
    while not rt.stopping.is_set():
        rt.reload_config()
        started = rt.clock.real_now()
        launches = browser.launches if browser else 0
        ok = monitor.poll()
        took = (rt.clock.real_now() - started).total_seconds()
        now_launches = browser.launches if browser else 0
        rt.health.info["browser_launches"] = now_launches
        # only a good poll on a running browser says what the source sustains
        sustained = took if ok and now_launches == launches else 0.0
        period = pacer.interval(rt.config.source.interval_s, rt.clock.speed, sustained)
        rt.health.info["interval_real_s"] = round(period, 3)
        delay = period if ok else retry_delay(monitor.failures, period, rand)
        rt.wait(max(0.0, delay - took))
