"""The executor reads what a bookmaker declares (pipeline.bookmakers.Capabilities) and never
probes for methods: concurrency n gives n placements at once, batched placement goes through
`place_many` only when declared, `reachable()` is asked only when a probe is declared; and a
bookmaker that lacks what it declares is refused when the executor is built, naming it."""
from __future__ import annotations

import threading

import pytest

from pipeline.bookmakers import UNREACHABLE, Capabilities, Placement
from pipeline.core.adapters import AdapterError
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.filebus import atomic_write_json
from tests.kit.builders import (at, config, config_doc, decision, ledger_events, match, odds_doc,
                                of_type)
from tests.kit.programs import executor

KEYS = [f"2024-25_Team{i} v Other{i}" for i in range(6)]


class Stub:
    """A bookmaker that takes every bet; what it declares is the test's."""
    mode, problem = "paper", None

    def __init__(self, capabilities: Capabilities):
        self.capabilities = capabilities
        self.calls: list[tuple[str, int]] = []  # ("place", 1) | ("place_many", n)

    def _placed(self, order) -> Placement:
        return Placement.placed(order.client_ref, f"B-{order.client_ref}", order.odds,
                                order.stake)

    def place(self, order):
        self.calls.append(("place", 1))
        return self._placed(order)

    def place_many(self, orders):
        self.calls.append(("place_many", len(orders)))
        return [self._placed(o) for o in orders]

    def lookup(self, ref):
        return None

    def close(self):
        pass


class Pages(Stub):
    """Each placement waits until `width` of them are in at once (a barrier): it can only go
    through when the executor runs that many together. Counts the most at once."""

    def __init__(self, width: int):
        super().__init__(Capabilities(concurrency=width))
        self.barrier = threading.Barrier(width)
        self.lock, self.inside, self.most = threading.Lock(), 0, 0

    def place(self, order):
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            self.barrier.wait(timeout=20)  # BrokenBarrierError: fewer than width ran at once
        finally:
            with self.lock:
                self.inside -= 1
        return self._placed(order)


def run(home, bookmaker, keys=KEYS):
    clock = FakeClock(at(60))
    doc = odds_doc(*[match(k) for k in keys])
    atomic_write_json(home.odds, doc)
    ex = executor(home, clock, bookmaker)
    try:
        counts = ex.run_pass([decision(k) for k in keys], doc, config(bankroll=1e6))
    finally:
        if ex.parallel is not None:
            ex.parallel.close()
    return ex, counts


@pytest.mark.parametrize("width", [1, 3])
def test_a_bookmaker_declaring_concurrency_n_gets_n_placements_at_once(home, width):
    pages = Pages(width)
    _, counts = run(home, pages)
    assert counts["placed"] == len(KEYS) and pages.most == width
    placed = of_type(ledger_events(home), "BET_PLACED")
    assert [e["decision_id"] for e in placed] == [decision(k)["id"] for k in KEYS]  # in order


def test_batched_placement_is_used_only_when_declared(home, tmp_path):
    batched = Stub(Capabilities(batched_placement=True))
    assert run(home, batched)[1]["placed"] == len(KEYS)
    assert batched.calls == [("place_many", len(KEYS))]
    other = home.__class__(tmp_path / "other").ensure()
    undeclared = Stub(Capabilities())  # has place_many, does not declare it: one at a time
    assert run(other, undeclared)[1]["placed"] == len(KEYS)
    assert undeclared.calls == [("place", 1)] * len(KEYS)


class Down(Stub):
    """Answers every placement 'unreachable'; counts the probes it gets."""

    def __init__(self, capabilities: Capabilities):
        super().__init__(capabilities)
        self.probes = 0

    def place(self, order):
        self.calls.append(("place", 1))
        return Placement.not_placed(order.client_ref, f"{UNREACHABLE}: refused", retryable=True)

    def reachable(self):
        self.probes += 1
        return False


@pytest.mark.parametrize("probe", [True, False])
def test_reachable_is_asked_only_of_a_bookmaker_declaring_a_probe(home, probe):
    clock = FakeClock(at(60))
    cfg = Config.model_validate(config_doc(execute={"retry_base_s": 5, "retry_max_s": 40}))
    site = Down(Capabilities(reachability_probe=probe))
    ex = executor(home, clock, site)
    for _ in range(30):  # 30 simulated seconds, a pass a second
        ex.run_pass([decision(expires_at=at(7200))], odds_doc(match(seen_at=None)), cfg)
        clock.advance(1)
    if probe:  # probed every retry_base_s, and still down: nothing placed again
        assert 30 / 5 - 2 <= site.probes <= 30 / 5 + 1 and ex.backoff.outage.down
        assert len(site.calls) == 1
    else:  # no probe declared: it counts as answering, so the decision's own backoff rules
        assert site.probes == 0 and len(site.calls) > 1


class Lying(Stub):
    """Declares bet history and batched placement; has no history() and no place_many()."""
    place_many = None


@pytest.mark.parametrize("caps, missing", [
    (Capabilities(bet_history=True), "declares bet_history but has no history() method"),
    (Capabilities(batched_placement=True), "declares batched_placement but has no place_many()"),
    (Capabilities(reachability_probe=True), "declares reachability_probe but has no reachable()"),
])
def test_a_bookmaker_lacking_what_it_declares_is_refused_when_the_executor_is_built(
        home, caps, missing):
    with pytest.raises(AdapterError) as refused:
        executor(home, FakeClock(at(60)), Lying(caps))
    assert str(refused.value).startswith("bookmaker Lying ") and missing in str(refused.value)
    assert ledger_events(home) == []


def test_a_bookmaker_without_capabilities_or_with_no_width_is_refused(home):
    bare = Stub(Capabilities())
    del bare.capabilities
    with pytest.raises(AdapterError, match="bookmaker Stub declares no capabilities"):
        executor(home, FakeClock(at(60)), bare)
    with pytest.raises(AdapterError, match="declares concurrency 0: a whole number"):
        executor(home, FakeClock(at(60)), Stub(Capabilities(concurrency=0)))
