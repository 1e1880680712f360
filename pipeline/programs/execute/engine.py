"""What the executor does with each standing decision (DESIGN: files → bet-record, invariants 1, 8).

`assess(decision, book, ctx)` is pure: skip (the decision does not stand, or its refusal is already on
record), refuse (control, reason) or place. `Executor` does it, one decision at a time in
decisions order: a refusal is appended once per decision and control; a placement is a
write-ahead BET_INTENDED appended inside one `ledger.transact` that re-checks, under the lock,
that the decision still stands and the controls still pass (two racing executors cannot both
intend), then the bookmaker call, then BET_PLACED or BET_FAILED. An outcome of unknown effect is
reconciled with `bookmaker.lookup(client_ref)` before anything is written; an intent that cannot
be reconciled yet stays unresolved (its decision does not stand) and is looked up again later.
What the bookmaker can do is what its class declares (`bookmaker.capabilities`, checked here
when the executor is built: pipeline.bookmakers.check_bookmaker).
With a bookmaker that places several bets at once (`concurrency` > 1: live mode's browser pages),
the controls and intents still go one decision at a time, counting the intents in flight
(invariant 8); only the bookmaker calls overlap (parallel.InOrder), and their outcomes are
recorded in decision order. With a bookmaker that books several orders in one durable append
(`batched_placement`: paper's `place_many`), decisions go in batches whose appends share their fsyncs (group commit,
`_run_batched`): the intents are durable before the bookmaker is called, as always. A decision
that would be placed waits while its backoff after retryable failures runs or the bookmaker
cannot be reached (backoff.py); while it cannot, no outcome is looked up either.
"""
from __future__ import annotations

from collections import Counter, deque
from typing import Callable, Iterable

from pipeline.bookmakers import UNKNOWN, Bookmaker, Order, Placement, check_bookmaker
from pipeline.core.clock import Clock
from pipeline.core.config import Config
from pipeline.core.errors import NOT_FOUND
from pipeline.core.events import (ABSENT, BetFailed, BetIntended, BetPlaced, BetRefused,
                                  Event)
from pipeline.core.ledger import Ledger
from pipeline.core.log import Logger, OncePerReason
from pipeline.core.state import Book, Intent, SessionBook, absorb_new
from pipeline.core.timefmt import iso
from pipeline.programs.execute.backoff import Backoff
from pipeline.programs.execute.parallel import InOrder
from pipeline.strategies.controls import Ctx, context, first_refusal
from pipeline.strategies.rules import review_figures, standing_halt
from pipeline.strategies.settlement import halt_cause, halt_event

BATCH = 64  # decisions whose intents (and bookings, and outcomes) share one fsync each


# --------------------------------------------------------------------------- pure parts

def assess(d: dict, book: Book, ctx: Ctx) -> tuple[str, tuple] | None:
    """None: nothing to do; ("refuse", (control, reason)); ("place", ()). `ctx` is the
    decision's view for the controls (strategies.controls.context)."""
    if not book.stands(d["id"]):
        return None
    refusal = first_refusal(d, ctx)
    if refusal is None:
        return "place", ()
    if book.refusals.get((d["id"], refusal.control)) == refusal.reason:
        return None  # already on record with this reason
    return "refuse", refusal


def intent_body(d: dict, ctx: Ctx, attempt: int, mode: str) -> BetIntended:
    return BetIntended(session=d["session"], decision_id=d["id"],
                       client_ref=f"{d['id']}#{attempt}", attempt=attempt,
                       match_key=d["match_key"], market=d.get("market", "1X2"),
                       selection=d["selection"], odds=ctx.price, min_odds=float(d["min_odds"]),
                       stake=float(d["stake"]), mode=mode, line=_line(d.get("line")))


def _line(line: float | None) -> float:
    """The line of an AH or OU decision or intent; ABSENT for 1X2 (its events carry none)."""
    return ABSENT if line is None else line


def order_of(intent: BetIntended) -> Order:
    return Order(intent.client_ref, intent.decision_id, intent.session, intent.match_key,
                 intent.market, intent.selection, float(intent.odds), float(intent.min_odds),
                 float(intent.stake), None if intent.line is ABSENT else intent.line)


def outcome_body(intent: Intent, p: Placement) -> BetPlaced | BetFailed:
    """BET_PLACED or BET_FAILED for a placement that is known (never for `unknown`)."""
    if p.ok:
        return BetPlaced(session=intent.session, decision_id=intent.decision_id,
                         client_ref=intent.client_ref, bet_ref=p.bet_ref, odds=p.odds,
                         stake=p.stake, match_key=intent.match_key, market=intent.market,
                         selection=intent.selection, line=_line(intent.line),
                         placed_at=p.placed_at)
    assert p.status != UNKNOWN, "an unknown effect is reconciled, never written as failed"
    return BetFailed(session=intent.session, decision_id=intent.decision_id,
                     client_ref=intent.client_ref, reason=p.reason, retryable=p.retryable)


# --------------------------------------------------------------------------- the executor

class Executor:
    def __init__(self, ledger: Ledger, bookmaker: Bookmaker, clock: Clock, log: Logger):
        self.ledger, self.clock, self.log = ledger, clock, log
        self.bookmaker = check_bookmaker(bookmaker)  # AdapterError: it lacks what it declares
        self.capabilities = bookmaker.capabilities
        self.book = Book()
        self.pending: set[str] = set()  # client_refs whose outcome is owed (unknown effect)
        self.problem: str | None = None  # why some intent cannot be reconciled (health)
        # live mode: `concurrency` placements at once, outcomes in decision order
        width = self.capabilities.concurrency
        self.parallel = InOrder(self._call, width) if width > 1 else None
        self._done: Counter = Counter()  # outcomes of parallel placements recorded this pass
        self.backoff = Backoff(bookmaker, clock, log)  # retries and outages (backoff.py)
        self.lookup_failed = OncePerReason(log, "reconcile.failed")  # once per error

    def absorb(self, events: Iterable[Event]) -> None:
        absorb_new(self.book, events)

    def refresh(self) -> None:
        self.absorb(self.ledger.read())

    # -- reconciliation (invariant 1) ---------------------------------------------------------
    def reconcile(self, config: Config, client_refs: Iterable[str] | None = None) -> int:
        """Resolve unresolved intents by asking the bookmaker: found → BET_PLACED, not found →
        BET_FAILED retryable. All of them on start; later only the ones this process owes."""
        self.refresh()
        refs = list(self.book.unresolved) if client_refs is None else list(client_refs)
        self.problem, done = None, 0
        for ref in refs:
            intent = self.book.unresolved.get(ref)
            if intent is None:
                self.pending.discard(ref)
                continue
            if intent.mode != self.bookmaker.mode:
                self.problem = (f"intent {ref} was made in {intent.mode} mode and cannot be "
                                f"reconciled in {self.bookmaker.mode} mode")
                self.log.error("reconcile.mode", client_ref=ref, intent_mode=intent.mode)
                continue
            placement = self._lookup(ref)
            if placement is None:
                self.pending.add(ref)
                continue
            done += bool(self._record(intent, placement, config))
            self.pending.discard(ref)  # only once on record (an append can fail: disk full)
        return done

    def _lookup(self, ref: str) -> Placement | None:
        """The bookmaker's answer for `ref` as a known placement; None when it cannot tell."""
        try:
            found = self.bookmaker.lookup(ref)
        except Exception as e:  # unreachable: the intent stays unresolved, tried again later
            self.problem = f"cannot reconcile {ref}: {type(e).__name__}: {e}"
            self.lookup_failed.failed(f"{type(e).__name__}: {e}", client_ref=ref)
            self.backoff.outage.failed(self.clock.now(), self.problem)
            return None
        self.lookup_failed.cleared(client_ref=ref)
        self.backoff.outage.answered(self.clock.now())
        if found is not None and found.ok:
            return found
        return Placement.not_placed(ref, NOT_FOUND, retryable=True)

    # -- halts caused by placements (max_bets, max_duration_h) ---------------------------------
    def _due_halts(self, config: Config, extra: dict | None = None) -> list[Event]:
        """Halts due now; with `extra` (session -> bets being placed) only those sessions'."""
        out, now = [], self.clock.now()
        for s in config.sessions:
            if extra is not None and s.id not in extra:
                continue
            sb = self.book.sessions.get(s.id) or SessionBook(s.id)
            if standing_halt(sb, now):
                continue
            placed = sb.bets_placed + ((extra or {}).get(s.id, 0))
            cause = halt_cause(s.limits, settled_profit=sb.settled_profit, placed=placed,
                               first_bet_at=sb.first_bet_at or (iso(now) if placed else None),
                               now=now, review=s.review,
                               reviewed=review_figures(sb) if s.review else None)
            if cause:
                out.append(halt_event(s.id, cause))
        return out

    def halt_sessions(self, config: Config) -> list[Event]:
        if not self._due_halts(config):
            return []

        def fn(events):
            self.absorb(events)
            return self._due_halts(config)

        out = self.ledger.transact(fn)
        self.absorb(out)
        for ev in out:
            self.log.warning("session.halted", session=ev.session, reason=ev.reason)
        return out

    # -- one pass --------------------------------------------------------------------------
    def run_pass(self, decisions: list[dict], odds: dict | None, config: Config,
                 stopping: Callable[[], bool] = lambda: False) -> Counter:
        self.refresh()
        if self.pending and self.backoff.reachable(config):
            self.reconcile(config, set(self.pending))
        self.halt_sessions(config)
        matches = {m.get("key"): m for m in (odds or {}).get("matches", [])}
        counts: Counter = Counter()
        if self.parallel is None and self.capabilities.batched_placement:
            return self._run_batched(decisions, odds, matches, config, stopping)
        try:
            for d in decisions:
                if stopping():
                    break  # SIGTERM: the placement in flight is done; start no other
                counts[self.step(d, odds, matches, config)] += 1
            if self.parallel is not None:  # the placements still running, then their outcomes
                self._finish_all(self.parallel.finish(), config)
        finally:
            if self.parallel is not None:
                self.pending.update(i.client_ref for i in self.parallel.abandon())
                counts.pop("started", None)
                counts.update(self._done)
                self._done.clear()
        return counts

    def _run_batched(self, decisions: list[dict], odds: dict | None, matches: dict,
                     config: Config, stopping: Callable[[], bool]) -> Counter:
        """Decisions in batches of up to BATCH (a bookmaker with batched placement: paper). Each
        intent is appended as in `step` (controls under the lock, one decision at a time,
        counting the intents before it) without its own fsync; ONE fsync makes the batch's
        intents durable before the bookmaker is called (write-ahead); the bookmaker books them
        in one append; the outcomes are appended in decision order, made durable by the next
        fsync. A decision refused while the batch has intents in flight is assessed again after
        the batch, so a refusal says what `step` would have said."""
        counts: Counter = Counter()
        queue = deque(decisions)
        try:
            while queue and not stopping():  # SIGTERM: the batch in flight is done
                intents, later = [], []
                while queue and len(intents) < BATCH:
                    d = queue.popleft()
                    action = assess(d, self.book, self._ctx(d, odds, matches, config))
                    if action is not None and action[0] == "refuse":
                        if intents:
                            later.append(d)
                        else:
                            counts["refused" if self._refuse(d, *action[1]) else "skip"] += 1
                        continue
                    if action is not None and self.backoff.waiting(d, self.book, config):
                        counts["waiting"] += 1
                        continue
                    intent = self._intend(d, odds, matches, config, sync=False) if action else None
                    if intent is None:
                        counts["skip"] += 1
                        continue
                    self.log.info("bet.intended", client_ref=intent.client_ref,
                                  odds=intent.odds, stake=intent.stake)
                    intents.append(intent)
                queue.extendleft(reversed(later))
                if intents:
                    self.ledger.sync()  # every intent on disk before the bookmaker is called
                    done = list(zip(intents, self._call_many(intents)))
                    for n, (intent, placement) in enumerate(done):
                        try:
                            counts[self._finish(intent, placement, config, sync=False)] += 1
                        except OSError:  # outcomes not on record (disk full): owed, looked up
                            self.pending.update(i.client_ref for i, _ in done[n:])
                            raise
        finally:
            self.ledger.sync()
        return counts

    def _call_many(self, intents: list[BetIntended]) -> list[Placement]:
        try:
            return self.bookmaker.place_many([order_of(i) for i in intents])
        except Exception as e:  # the requests may have left: unknown effect
            why = f"{type(e).__name__}: {e}"
            return [Placement.unknown(i.client_ref, why) for i in intents]

    def _ctx(self, d: dict, odds, matches, config) -> Ctx:
        return context(d, now=self.clock.now(), config=config, book=self.book, matches=matches,
                       fetched_at=(odds or {}).get("fetched_at"))

    def step(self, d: dict, odds: dict | None, matches: dict, config: Config) -> str:
        action = assess(d, self.book, self._ctx(d, odds, matches, config))
        if action is None:
            return "skip"
        if action[0] == "refuse":
            return "refused" if self._refuse(d, *action[1]) else "skip"
        if self.backoff.waiting(d, self.book, config):
            return "waiting"
        intent = self._intend(d, odds, matches, config)
        if intent is None:
            return "skip"
        return self._place(intent, config)

    def _refuse(self, d: dict, control: str, reason: str) -> bool:
        def fn(events):
            self.absorb(events)
            if self.book.refusals.get((d["id"], control)) == reason:
                return []
            return [BetRefused(session=d["session"], decision_id=d["id"], control=control,
                               reason=reason)]

        out = self.ledger.transact(fn)
        self.absorb(out)
        if out:
            self.log.info("bet.refused", decision_id=d["id"], control=control, reason=reason)
        return bool(out)

    def _intend(self, d: dict, odds, matches, config: Config,
                sync: bool = True) -> BetIntended | None:
        """Append BET_INTENDED if, under the lock, the decision still stands and passes."""

        def fn(events):
            self.absorb(events)
            ctx = self._ctx(d, odds, matches, config)
            if not self.book.stands(d["id"]) or first_refusal(d, ctx) is not None:
                return []
            return [intent_body(d, ctx, self.book.attempts(d["id"]) + 1, self.bookmaker.mode)]

        out = self.ledger.transact(fn, sync=sync)
        self.absorb(out)
        return out[0] if out else None

    def _place(self, intent: BetIntended, config: Config) -> str:
        self.log.info("bet.intended", client_ref=intent.client_ref, odds=intent.odds,
                      stake=intent.stake)
        if self.parallel is None:
            return self._finish(intent, self._call(intent), config)
        self._finish_all(self.parallel.submit(intent), config)
        return "started"  # its outcome is counted when it is recorded, in decision order

    def _finish_all(self, done: list[tuple[BetIntended, Placement]], config: Config) -> None:
        for i, (intent, placement) in enumerate(done):
            try:
                self._done[self._finish(intent, placement, config)] += 1
            except Exception:  # their outcomes are still owed: looked up on the next pass
                self.pending.update(x.client_ref for x, _ in done[i:])
                raise

    def _call(self, intent: BetIntended) -> Placement:
        """The bookmaker's answer (on a worker thread in parallel mode); never raises."""
        try:
            return self.bookmaker.place(order_of(intent))
        except Exception as e:  # the request may have left: unknown effect
            return Placement.unknown(intent.client_ref, f"{type(e).__name__}: {e}")

    def _finish(self, intent: BetIntended, placement: Placement, config: Config,
                sync: bool = True) -> str:
        """Reconcile an unknown effect, then record the outcome (on the executor's thread)."""
        ref = intent.client_ref
        self.backoff.observe(placement)
        if placement.status == UNKNOWN:
            self.log.warning("bet.unknown", client_ref=ref, reason=placement.reason)
            placement = self._lookup(ref)
            if placement is None:
                self.pending.add(ref)
                return "unknown"
        try:
            recorded = self._record(self.book.intents[ref], placement, config, sync)
        except OSError:  # the outcome is not on record (disk full): looked up on a later pass
            self.pending.add(ref)
            raise
        if recorded is None:
            return "skip"  # resolved meanwhile by someone else
        return "placed" if placement.ok else "failed"

    def _record(self, intent: Intent, p: Placement, config: Config,
                sync: bool = True) -> Event | None:
        """Append the outcome of `intent` (with any halt BET_PLACED causes) unless resolved."""

        def fn(events):
            self.absorb(events)
            if intent.client_ref not in self.book.unresolved:
                return []
            body = outcome_body(intent, p)
            halts = self._due_halts(config, {intent.session: 1}) if p.ok else []
            return [body, *halts]

        out = self.ledger.transact(fn, sync=sync)
        self.absorb(out)
        for ev in out:
            fields = {k: getattr(ev, k, None)
                      for k in ("client_ref", "bet_ref", "odds", "stake", "reason")}
            self.log.info(ev.TYPE.lower().replace("_", "."), session=ev.session,
                          **{k: v for k, v in fields.items() if v is not None and v is not ABSENT})
        return out[0] if out else None
