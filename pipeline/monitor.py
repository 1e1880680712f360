"""The `monitor` program: polls the odds source, sole writer of `data/odds-data.json`.

Every `source.interval_s` simulated seconds (interval_s / clock.speed real seconds, stretched when
a poll takes longer, logged once) it reads the source and writes a new snapshot. A failed poll
never overwrites the last good snapshot: it is retried with capped exponential backoff and
jitter; after `CIRCUIT_AFTER` failures in a row the circuit opens (health degraded with the
reason, slower retries) until a poll succeeds again. `mode` and `source` are read at start only;
`interval_s` is hot-reloaded. SIGTERM: the poll in flight finishes, the browser closes, exit 0.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from pipeline.core.filebus import SnapshotWriter
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline.core.timefmt import iso
from pipeline.sources.browser import Browser
from pipeline.sources.sandbox import SandboxSource

PROGRAM = "monitor"
MIN_INTERVAL_S = 0.2  # real seconds: no source is polled faster than this
BACKOFF_BASE_S = 0.25  # real seconds before the first retry
BACKOFF_CAP_S = 2.0  # while the circuit is closed
CIRCUIT_AFTER = 5  # failures in a row that open the circuit
OPEN_RETRY_S = 5.0  # real seconds between retries while it is open
JITTER = 0.2  # +-20 %


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


class Monitor:
    """One poll = fetch, write, count; failures tracked for backoff and the circuit."""

    def __init__(self, rt: Runtime, source, writer: SnapshotWriter):
        self.rt, self.source, self.writer = rt, source, writer
        self.failures = 0
        self.problems: frozenset[str] = frozenset()

    def poll(self) -> bool:
        rt = self.rt
        started = rt.clock.real_now()
        fetched_at = iso(rt.clock.now())
        rt.health.incr("polls")
        try:
            matches, problems = self.source.fetch(seen_at=fetched_at)
        except Exception as e:
            if rt.stopping.is_set():  # e.g. a group SIGTERM took the browser down mid-poll
                rt.log.info("poll.interrupted", reason=f"{type(e).__name__}: {e}"[:300])
                return False
            self._failed(e)
            return False
        doc = self.writer.write({"source": self.source.kind, "fetched_at": fetched_at,
                                 "matches": matches}, written_at=iso(rt.clock.now()))
        ms = round((rt.clock.real_now() - started).total_seconds() * 1000, 1)
        self._report_problems(problems)
        rt.health.counters["matches"] = len(matches)
        rt.health.info.update(odds_version=doc["version"], fetched_at=fetched_at, circuit="closed")
        rt.log.info("odds.written", version=doc["version"], matches=len(matches),
                    problems=len(problems), ms=ms)
        if self.failures:
            rt.log.info("monitor.source_back", failures=self.failures)
            self.failures = 0
            rt.recover()
        return True

    def _failed(self, error: Exception) -> None:
        rt = self.rt
        self.failures += 1
        rt.health.incr("errors")
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        rt.log.error("poll.failed", failures=self.failures, reason=reason)
        if self.failures >= CIRCUIT_AFTER:
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


def make_source(rt: Runtime, browser: Browser):
    """The odds source named by config `source.kind` (read at start only)."""
    kind = rt.config.source.kind
    if kind == "sandbox":
        return SandboxSource(browser, rt.config.source_url, load_tables(rt.home))
    raise NotImplementedError(f"source.kind {kind!r} is not supported yet (only 'sandbox'); "
                              "set source.kind to 'sandbox' and restart the monitor")


def main(home: Home) -> int:
    rt = Runtime(PROGRAM, home)
    if not rt.start():  # beats health at once, waits for the clock anchor and a good config
        rt.close()
        return 0
    browser = Browser(rt.home, PROGRAM, executable=rt.config.browser.executable, log=rt.log)
    try:
        source = make_source(rt, browser)
    except (NotImplementedError, ValueError) as e:  # unknown kind, unreadable teams.json
        rt.fail(str(e))  # stays up, failing, until restarted with a source it can use
        rt.stopping.wait()
        rt.close()
        return 0
    rt.log.info("monitor.source", kind=source.kind, url=getattr(source, "url", None),
                mode=rt.config.mode)
    monitor = Monitor(rt, source, SnapshotWriter(rt.home.odds))
    # every health field up front: later polls change values only, never the dicts' size,
    # so the beat thread's copy of them never races an insertion
    rt.health.counters.update(polls=0, errors=0, matches=0, problems=0)
    rt.health.info.update(odds_version=None, fetched_at=None, circuit="closed")
    pacer, rand = Pacer(rt.log), random.Random()
    try:
        while not rt.stopping.is_set():
            rt.reload_config()
            started, launches = rt.clock.real_now(), browser.launches
            ok = monitor.poll()
            took = (rt.clock.real_now() - started).total_seconds()
            # only a good poll on a running browser says what the source sustains
            sustained = took if ok and browser.launches == launches else 0.0
            period = pacer.interval(rt.config.source.interval_s, rt.clock.speed, sustained)
            delay = period if ok else retry_delay(monitor.failures, period, rand)
            rt.wait(max(0.0, delay - took))
    finally:
        browser.close()
        rt.close()
    return 0
