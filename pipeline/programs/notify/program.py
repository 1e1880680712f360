"""The `notify` program: bet placed, bet settled, session halted, program degraded, bet overdue
(track's health lists it; one alert per bet) — to a chat.

Every pass (on a change of the ledger, a health file or the config, and at least every 2 s):
new ledger events and program-status changes become `Item`s in a queue; the queue's head goes
out as one message (up to 10 lines) whenever the rate limit allows; a failed POST is retried with
exponential backoff (a 429's `retry_after` is obeyed) and nothing is ever dropped. The read
position — the last ledger seq, the program statuses and the overdue bets delivered — is saved in
`data/notify.json` right after each delivery, so a restart neither repeats nor skips (a crash
between a webhook's 2xx and that save repeats one message at most). With no webhook configured,
items are counted and the position moves on (notifications off: nothing to catch up on later).
The same pass keeps the audit log (`pipeline.core.audit`) in step with the ledger and the config file.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson

from pipeline.core.audit import Audit, digest
from pipeline.core.clock import Clock
from pipeline.core.config import NotifyConfig
from pipeline.core.filebus import BadFile, SnapshotWriter, read_snapshot
from pipeline.core.health import read_health
from pipeline.core.ledger import Ledger
from pipeline.core.log import OncePerReason
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline import programs as registry  # the program names only
from pipeline.core.timefmt import iso
from pipeline.core.watchloop import serve
from pipeline.programs.notify.messages import (Item, batch, ledger_items, message_text, overdue_items,
                                                program_items)
from pipeline.programs.notify.webhook import (Outcome, RateLimiter, Target, TargetError, backoff_s, post,
                                     target_from)

PROGRAM = "notify"
DEGRADE_AFTER_FAILURES = 3


def load_position(path: Path) -> dict:
    try:
        doc = read_snapshot(path) or {}
    except BadFile:
        doc = {}
    return {"ledger_seq": int(doc.get("ledger_seq", 0)), "programs": dict(doc.get("programs", {})),
            "overdue": [str(r) for r in doc.get("overdue") or []]}


class Notifier:
    """The queue, the position and delivery; a test drives it with plain values and a clock."""

    def __init__(self, home: Home, clock: Clock, cfg: NotifyConfig, target: Target | None,
                 send=post):
        self.home, self.clock, self.send = home, clock, send
        self.writer = SnapshotWriter(home.notify_state)
        self.position = load_position(home.notify_state)
        self.queued_seq = self.position["ledger_seq"]
        self.queued_programs = dict(self.position["programs"])
        self.queued_overdue = set(self.position["overdue"])
        self.pending: list[Item] = []
        self.bad_since: dict = {}
        self.failures, self.retry_at = 0, None
        self.last_failure: str | None = None
        self.counts = {"sent": 0, "items": 0, "failed": 0, "rate_limited": 0, "muted": 0}
        self.configure(cfg, target)

    def configure(self, cfg: NotifyConfig, target: Target | None) -> None:
        self.cfg, self.target = cfg, target
        self.limiter = RateLimiter(cfg.per_minute, cfg.burst, self.clock.real_now())

    def collect(self, events: list[dict], health: dict[str, dict | None]) -> int:
        """Queue what happened since the last queued position; returns how many items."""
        wanted = set(self.cfg.events)
        new = ledger_items(events, self.queued_seq, wanted)
        if "program" in wanted:
            new += program_items(health, self.queued_programs, self.clock.real_now(),
                                 self.bad_since, self.cfg.program_grace_s)
        if "overdue" in wanted:
            new += overdue_items(health.get("track"), self.queued_overdue)
        moved = False
        for item in new:
            if item.ledger_seq is not None:
                self.queued_seq = item.ledger_seq
            if item.program:
                self.queued_programs[item.program[0]] = item.program[1]
            if item.overdue:
                self.queued_overdue.add(item.overdue)
            if item.text:
                self.pending.append(item)
            elif self.pending:  # nothing to say: its position rides on the item before it
                self.pending[-1] = replace(self.pending[-1], ledger_seq=item.ledger_seq)
            else:
                self.position["ledger_seq"], moved = item.ledger_seq, True
        if moved:
            self.writer.write(self.position, written_at=iso(self.clock.now()))
        return len(new)

    def _delivered(self, items: list[Item]) -> None:
        for item in items:
            if item.ledger_seq is not None:
                self.position["ledger_seq"] = item.ledger_seq
            if item.program:
                self.position["programs"][item.program[0]] = item.program[1]
            if item.overdue:
                self.position["overdue"].append(item.overdue)
        del self.pending[:len(items)]
        self.writer.write(self.position, written_at=iso(self.clock.now()))

    def flush(self) -> list[Outcome]:
        """Send what the rate limit and the backoff allow now; returns the POSTs' outcomes."""
        outcomes = []
        while self.pending:
            now = self.clock.real_now()
            items = batch(self.pending)
            text = message_text(items)
            if self.target is None:
                self.counts["muted"] += len(items)
                self._delivered(items)
                continue
            if self.retry_at is not None and now < self.retry_at:
                break
            if self.limiter.wait_s(now) > 0:
                self.counts["rate_limited"] += 1
                break
            self.limiter.take(now)
            outcome = self.send(self.target, text)
            outcomes.append(outcome)
            if not outcome.ok:
                self.failures += 1
                self.counts["failed"] += 1
                self.last_failure = outcome.detail
                wait = outcome.retry_after if outcome.retry_after is not None else backoff_s(self.failures)
                self.retry_at = now + timedelta(seconds=wait)
                break
            self.failures, self.retry_at, self.last_failure = 0, None, None
            self.counts["sent"] += 1
            self.counts["items"] += len(items)
            self._delivered(items)
        return outcomes

    def problem(self) -> str | None:
        if self.failures >= DEGRADE_AFTER_FAILURES:
            return (f"webhook ({self.target.label if self.target else '-'}) failing: "
                    f"{self.failures} attempts in a row, last {self.last_failure}; "
                    f"{len(self.pending)} items waiting")
        return None


class Program:
    """The pass of the notify program around a Notifier and the audit log."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.ledger = Ledger(rt.home.ledger, rt.clock)
        self.audit = Audit(rt.home.audit)
        self.events: list[dict] = []
        self._ledger_stat = None
        self.audited_seq, self.audited_sha = -1, None
        self.config_doc = None
        self.target_error: str | None = None
        self.send_failed = OncePerReason(rt.log, "notify.failed", recovered="notify.back",
                                         level="warning")
        self.notifier = Notifier(rt.home, rt.clock, rt.config.notify, self._target())
        self._cfg = rt.config.notify

    def _target(self) -> Target | None:
        try:
            self.target_error = None
            return target_from(self.rt.config.notify)
        except TargetError as e:
            self.target_error = str(e)
            return None

    def _read_ledger(self) -> None:
        try:
            st = self.rt.home.ledger.stat()
            stat = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            return
        if stat != self._ledger_stat:
            self.events, self._ledger_stat = self.ledger.records(), stat  # the lines as written

    def _audit(self) -> None:
        path = self.rt.home.system_config
        data = path.read_bytes() if path.exists() else None
        sha = digest(data) if data is not None else None
        last = self.events[-1]["seq"] if self.events else 0
        if last > self.audited_seq or sha != self.audited_sha:
            for rec in self.audit.sync(self.events, path, iso(self.rt.clock.now()), self.config_doc):
                if rec["kind"] == "config":
                    self.rt.log.info("audit.config_changed", by=rec["by"], valid=rec["valid"],
                                     changes=rec["changes"])
            self.audited_seq, self.audited_sha = last, sha
            try:
                self.config_doc = orjson.loads(data) if data else None
            except orjson.JSONDecodeError:
                pass

    def run_pass(self, _changed=None) -> str | None:
        rt = self.rt
        if rt.config.notify != self._cfg:
            self._cfg = rt.config.notify
            self.notifier.configure(self._cfg, self._target())
            rt.log.info("notify.configured", target=self.notifier.target and self.notifier.target.label)
        self._read_ledger()
        self._audit()
        health = {p: read_health(rt.home, p) for p in registry.PROGRAMS if p != PROGRAM}
        self.notifier.collect(self.events, health)
        for outcome in self.notifier.flush():
            waiting = len(self.notifier.pending)
            if outcome.ok:
                self.send_failed.cleared(waiting=waiting)
                rt.log.info("notify.sent", status=outcome.status, detail=outcome.detail or None,
                            retry_after=outcome.retry_after, waiting=waiting)
            else:  # a webhook down for hours: one line per distinct failure, not per retry
                self.send_failed.failed(f"{outcome.status}: {outcome.detail}",
                                        status=outcome.status, retry_after=outcome.retry_after,
                                        waiting=waiting)
        n = self.notifier
        rt.health.counters.update(n.counts)
        rt.health.info.update(webhook=n.target.label if n.target else None,
                              pending=len(n.pending), ledger_seq=n.position["ledger_seq"])
        return self.target_error or n.problem()


def main(home: Home | None = None) -> int:
    rt = Runtime(PROGRAM, home)
    try:
        if not rt.start():
            return 0
        program = Program(rt)
        rt.log.info("notify.ready", target=program.notifier.target and program.notifier.target.label,
                    position=program.notifier.position["ledger_seq"])
        paths = [rt.home.ledger, *(rt.home.health(p) for p in registry.PROGRAMS if p != PROGRAM)]
        serve(rt, paths, program.run_pass)
        return 0
    finally:
        rt.close()
