"""Backing off while the bookmaker fails, and coming back at once when it answers again.

Two clocks-in-the-clock, both on the injected Clock (simulated seconds), never wall time:
- per decision (`next_try_at`, pure, from the ledger): after its n-th retryable BET_FAILED a
  decision is tried again no sooner than `retry_base_s × 2^(n-1)` after that failure, at most
  `retry_max_s` — so a bookmaker that keeps refusing (suspended, price_changed) or cannot be
  reached is asked less and less often, and a long outage no longer uses up a decision's tries
  (strategies.controls.MaxAttempts) within seconds. A failure recorded at reconciliation (`NOT_FOUND`: the
  bet never got there because the executor died or the outcome was unknown) is not the
  bookmaker's and is tried again at once.
- per bookmaker (`Outage`): an answer saying it cannot be reached (reason UNREACHABLE, or a
  lookup that cannot tell) marks it down. While down, nothing is placed and no outcome is looked
  up; `reachable()` — one cheap request, never a bet — probes it every `retry_base_s` (a
  bookmaker without the `reachability_probe` capability counts as answering every probe). The first
  probe that gets an answer after a failed one (a confirmed outage) brings it back: decisions
  whose last failure was "unreachable" before that moment are tried at once, not at the end of
  their backoff. Health and the log say `bookmaker unreachable since …, next try at …`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.bookmakers import UNKNOWN, UNREACHABLE, Placement
from pipeline.core.clock import Clock
from pipeline.core.config import Config
from pipeline.core.events import BetFailed
from pipeline.core.state import Book
from pipeline.core.timefmt import iso, parse_iso


def delay_s(failures: int, base_s: float, max_s: float) -> float:
    """The wait after the `failures`-th retryable failure in a row (0 before any)."""
    if failures <= 0:
        return 0.0
    return min(max_s, base_s * 2.0 ** min(failures - 1, 60))


def is_unreachable(failure: BetFailed) -> bool:
    return failure.unreachable


def next_try_at(failures: list[BetFailed], base_s: float, max_s: float,
                back_at: datetime | None = None) -> datetime | None:
    """When a decision with these BET_FAILED events (oldest first) may be tried again; None:
    now. `back_at`: when the bookmaker was last seen back after an outage."""
    if not failures or failures[-1].not_found:
        return None
    last = failures[-1]
    try:
        failed_at = parse_iso(last.ts)
    except (TypeError, ValueError):
        return None  # a failure without its time cannot hold the decision back
    if back_at is not None and is_unreachable(last) and back_at >= failed_at:
        return None
    counted = sum(1 for f in failures if not f.not_found)
    return failed_at + timedelta(seconds=delay_s(counted, base_s, max_s))


class Outage:
    """The bookmaker's reachability as the executor sees it (state of this process only)."""

    def __init__(self, log=None):
        self.log = log
        self.down_since: datetime | None = None
        self.next_probe_at: datetime | None = None
        self.probes_failed = 0  # in this outage
        self.back_at: datetime | None = None  # the end of the last confirmed outage
        self.probes = 0  # all probes, for health

    @property
    def down(self) -> bool:
        return self.down_since is not None

    @property
    def problem(self) -> str | None:
        if not self.down:
            return None
        return (f"bookmaker unreachable since {iso(self.down_since)}, next try at "
                f"{iso(self.next_probe_at)}")

    def failed(self, now: datetime, why: str) -> None:
        """An answer (placement, lookup) saying the bookmaker cannot be reached."""
        if self.down:
            return
        self.down_since, self.next_probe_at, self.probes_failed = now, now, 0
        self._log("warning", "bookmaker.unreachable", since=iso(now), reason=why[:300],
                  next_try_at=iso(now))

    def answered(self, now: datetime) -> None:
        """The bookmaker answered something (a bet, a refusal, a lookup, a probe)."""
        if not self.down:
            return
        confirmed = self.probes_failed > 0
        if confirmed:
            self.back_at = now
        self._log("info", "bookmaker.back", down_since=iso(self.down_since), at=iso(now),
                  probes_failed=self.probes_failed, confirmed=confirmed)
        self.down_since = self.next_probe_at = None

    def due(self, now: datetime) -> bool:
        return self.down and now >= self.next_probe_at

    def probed(self, now: datetime, ok: bool, every_s: float) -> None:
        self.probes += 1
        if ok:
            self.answered(now)
            return
        self.probes_failed += 1
        self.next_probe_at = now + timedelta(seconds=every_s)
        if self.probes_failed == 1:  # the outage confirmed; the next ones are counted in .back
            self._log("info", "bookmaker.probe_failed", since=iso(self.down_since),
                      probes_failed=self.probes_failed, next_try_at=iso(self.next_probe_at),
                      every_s=every_s)

    def _log(self, level: str, event: str, **fields) -> None:
        if self.log is not None:
            getattr(self.log, level)(event, **fields)


class Backoff:
    """What the executor asks before a placement (`waiting`) or a lookup (`reachable`), and
    tells after each answer (`observe`)."""

    def __init__(self, bookmaker, clock: Clock, log=None):
        self.bookmaker, self.clock, self.log = bookmaker, clock, log
        self.outage = Outage(log)
        self._said: dict[str, datetime] = {}  # decision id -> the next try already logged

    def reachable(self, config: Config) -> bool:
        """False while the bookmaker is down; probes it first when a probe is due."""
        now = self.clock.now()
        if self.outage.due(now):
            try:
                ok = bool(self.bookmaker.reachable()) \
                    if self.bookmaker.capabilities.reachability_probe else True
            except Exception:
                ok = False
            self.outage.probed(now, ok, config.execute.retry_base_s)
        return not self.outage.down

    def waiting(self, d: dict, book: Book, config: Config) -> bool:
        """Whether a decision that would be placed must wait: the bookmaker is down, or the
        decision's own backoff after its retryable failures is still running."""
        if not self.reachable(config):
            return True
        failures = book.failures.get(d["id"], [])
        until = next_try_at(failures, config.execute.retry_base_s, config.execute.retry_max_s,
                            self.outage.back_at)
        if until is None or self.clock.now() >= until:
            return False
        if self._said.get(d["id"]) != until and self.log is not None:
            self._said[d["id"]] = until
            self.log.info("bet.backoff", decision_id=d["id"], failures=len(failures),
                          reason=failures[-1].reason, next_try_at=iso(until))
        return True

    def observe(self, p: Placement) -> None:
        """A placement's answer: unreachable → down; any answer from the bookmaker → up."""
        if p.status == "not_placed" and str(p.reason or "").startswith(UNREACHABLE):
            self.outage.failed(self.clock.now(), p.reason or UNREACHABLE)
        elif p.status != UNKNOWN:
            self.outage.answered(self.clock.now())

    @property
    def problem(self) -> str | None:
        return self.outage.problem
