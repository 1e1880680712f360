"""Backoff (pipeline/execute/backoff.py): a decision's retries spread out exponentially on the
injected clock, an unreachable bookmaker holds every placement and lookup while it is probed,
and the first answer after a confirmed outage places at once — exactly once."""
from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.bookmakers import UNREACHABLE, Capabilities, Placement
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.errors import NOT_FOUND
from pipeline.core.events import from_dict
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.timefmt import parse_iso
from pipeline.programs.execute.backoff import delay_s, next_try_at
from pipeline.programs.execute.engine import Executor
from tests.kit.builders import at, config_doc, decision, ledger_events, match, odds_doc, of_type
from tests.kit.programs import Quiet

BASE, CAP = 5.0, 40.0


def cfg() -> Config:
    return Config.model_validate(config_doc(execute={"retry_base_s": BASE, "retry_max_s": CAP}))


def failure(seconds: float, reason: str = "suspended") -> dict:
    return from_dict({"type": "BET_FAILED", "ts": at(seconds), "session": "s1", "decision_id": "d",
                      "reason": reason, "retryable": True})


def test_delay_doubles_from_the_base_up_to_the_cap():
    assert [delay_s(n, BASE, CAP) for n in range(7)] == [0, 5, 10, 20, 40, 40, 40]
    assert delay_s(10_000, BASE, CAP) == CAP  # no overflow however long the outage


def test_next_try_counts_failures_from_the_last_one():
    assert next_try_at([], BASE, CAP) is None
    assert next_try_at([failure(0)], BASE, CAP) == parse_iso(at(5))
    assert next_try_at([failure(0), failure(7)], BASE, CAP) == parse_iso(at(17))
    many = [failure(i) for i in range(6)]
    assert next_try_at(many, BASE, CAP) == parse_iso(at(5 + CAP))


def test_a_failure_found_at_reconciliation_is_not_the_bookmakers_and_waits_for_nothing():
    assert next_try_at([failure(0), failure(3, NOT_FOUND)], BASE, CAP) is None
    # ... and does not count towards the next wait
    assert next_try_at([failure(0, NOT_FOUND), failure(3)], BASE, CAP) == parse_iso(at(8))


def test_the_bookmaker_back_ends_the_wait_of_unreachable_failures_only():
    back = parse_iso(at(2))
    down = failure(1, f"{UNREACHABLE}: net::ERR_CONNECTION_REFUSED")
    assert next_try_at([down], BASE, CAP, back_at=back) is None
    assert next_try_at([failure(1)], BASE, CAP, back_at=back) == parse_iso(at(6))
    later = failure(3, f"{UNREACHABLE}: again")  # failed again after it came back
    assert next_try_at([down, later], BASE, CAP, back_at=back) == parse_iso(at(13))


class Site:
    """A bookmaker that is up or down as the test says, counting every request it gets."""
    mode, problem = "paper", None
    capabilities = Capabilities(reachability_probe=True)

    def __init__(self, up: bool = True, refuse: str | None = None):
        self.up, self.refuse = up, refuse
        self.places, self.probes, self.lookups, self.booked = 0, 0, 0, {}

    def place(self, order):
        self.places += 1
        if not self.up:
            return Placement.not_placed(order.client_ref, f"{UNREACHABLE}: connection refused",
                                        retryable=True)
        if self.refuse:
            return Placement.not_placed(order.client_ref, self.refuse, retryable=True)
        p = Placement.placed(order.client_ref, f"B-{len(self.booked) + 1}", order.odds,
                             order.stake)
        self.booked[order.client_ref] = p
        return p

    def lookup(self, ref):
        self.lookups += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")
        return self.booked.get(ref)

    def reachable(self):
        self.probes += 1
        return self.up

    def close(self):
        pass


@pytest.fixture
def clock():
    return FakeClock(at(60))


def passes(ex: Executor, clock: FakeClock, n: int, step_s: float = 1.0) -> None:
    for _ in range(n):
        ex.run_pass([decision(expires_at=at(7200))], odds_doc(match(seen_at=None)), cfg())
        clock.advance(step_s)


def intent_times(home) -> list[float]:
    t0 = parse_iso(at(0))
    return [(parse_iso(e["ts"]) - t0).total_seconds()
            for e in of_type(ledger_events(home), "BET_INTENDED")]


def test_refusals_are_retried_exponentially_later_on_the_injected_clock(home, clock):
    atomic_write_json(home.odds, odds_doc(match()))
    site = Site(refuse="suspended")
    ex = Executor(Ledger(home.ledger, clock), site, clock, Quiet("execute"))
    passes(ex, clock, 60)  # one simulated minute, a pass a second
    # attempts at 60, +5, +10 s; the third failure is the last (MaxAttempts: 3 answered)
    assert intent_times(home) == [60, 65, 75] and site.places == 3
    said = [f for lvl, ev, f in ex.log.lines if ev == "bet.backoff"]
    assert [s["next_try_at"] for s in said] == [at(65), at(75)]


def test_while_unreachable_nothing_is_placed_or_looked_up_and_it_places_once_when_back(home,
                                                                                     clock):
    atomic_write_json(home.odds, odds_doc(match()))
    site = Site(up=False)
    ex = Executor(Ledger(home.ledger, clock), site, clock, Quiet("execute"))
    passes(ex, clock, 120)  # two simulated minutes down, a pass a second
    assert site.places == 1  # the attempt that found it down; then held (was: 10 tries)
    assert 120 / BASE - 2 <= site.probes <= 120 / BASE + 1  # probed every retry_base_s
    assert ex.backoff.problem.startswith(f"bookmaker unreachable since {at(60)}, next try at ")
    assert clock.now() - timedelta(seconds=1) <= ex.backoff.outage.next_probe_at <= \
        clock.now() + timedelta(seconds=BASE)
    events = ledger_events(home)
    assert [e["type"] for e in events] == ["BET_INTENDED", "BET_FAILED"]
    assert events[1]["reason"].startswith(UNREACHABLE) and events[1]["retryable"] is True

    site.up = True
    back_from = clock.now()
    passes(ex, clock, int(BASE) + 1)  # within one probe interval, not after the backoff
    placed = of_type(ledger_events(home), "BET_PLACED")
    assert len(placed) == 1 and site.places == 2 and ex.backoff.problem is None
    assert parse_iso(placed[0]["ts"]) <= back_from + timedelta(seconds=BASE)
    passes(ex, clock, 30)
    assert len(of_type(ledger_events(home), "BET_PLACED")) == 1 and site.places == 2
    lines = [ev for _lvl, ev, _f in ex.log.lines]
    assert lines.count("bookmaker.unreachable") == 1 and lines.count("bookmaker.back") == 1
    # ~24 failed probes: one line confirms the outage, the back line counts them all
    assert lines.count("bookmaker.probe_failed") == 1
    back = next(f for _lvl, ev, f in ex.log.lines if ev == "bookmaker.back")
    assert back["probes_failed"] >= 120 / BASE - 2


class Vanishing(Site):
    """Takes the bet, then goes down before its answer arrives (an unknown effect)."""

    def place(self, order):
        super().place(order)  # booked ...
        self.up = False  # ... and gone
        return Placement.unknown(order.client_ref, "no answer after the click")


def test_an_unknown_outcome_is_looked_up_once_the_bookmaker_is_back_never_placed_again(home,
                                                                                    clock):
    atomic_write_json(home.odds, odds_doc(match()))
    site = Vanishing()
    ex = Executor(Ledger(home.ledger, clock), site, clock, Quiet("execute"))
    passes(ex, clock, 60)
    assert site.places == 1 and site.lookups == 1  # looked up once, then held while down
    assert ex.pending and ex.backoff.outage.down
    site.up = True
    passes(ex, clock, int(BASE) + 1)
    events = ledger_events(home)
    assert [e["type"] for e in events] == ["BET_INTENDED", "BET_PLACED"] and site.places == 1
    assert events[1]["bet_ref"] == "B-1" and not ex.pending


def test_an_answer_without_a_failed_probe_keeps_the_decisions_own_backoff(home, clock):
    """A flapping site (unreachable once, answering the very next probe) is no confirmed outage:
    the decision waits its backoff instead of hammering a site that just failed it."""
    atomic_write_json(home.odds, odds_doc(match()))
    site = Site(up=False)
    ex = Executor(Ledger(home.ledger, clock), site, clock, Quiet("execute"))
    passes(ex, clock, 1)
    site.up = True
    passes(ex, clock, 3)  # the probe answers at once; the backoff (5 s) still runs
    assert site.places == 1 and ex.backoff.outage.back_at is None
    passes(ex, clock, 3)
    assert intent_times(home) == [60, 65] and len(of_type(ledger_events(home), "BET_PLACED")) == 1


def test_retry_settings_are_validated():
    with pytest.raises(Exception, match="retry_max_s"):
        Config.model_validate(config_doc(execute={"retry_base_s": 10, "retry_max_s": 5}))
