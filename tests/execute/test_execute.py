"""The executor: write-ahead intents, placements exactly once, reconciliation, refusals once."""
from __future__ import annotations

import threading

import pytest

from pipeline.bookmakers import Capabilities, Order, Placement
from pipeline.bookmakers.paper import PaperBookmaker, record_path
from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock
from pipeline.core.events import from_dict
from pipeline.core.filebus import atomic_write_bytes, atomic_write_json
from pipeline.core.timefmt import parse_iso
from pipeline.programs.execute.engine import order_of
from tests.kit.builders import (at, config, config_doc, decision, decisions_doc, KEY,
                                ledger_events, match, odds_doc, of_type, T0)
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll
from tests.kit.programs import health, log_lines, paper_records, start_program, stop_program
from tests.kit.programs import executor

DID = f"s1|{KEY}|1X2"


@pytest.fixture
def clock():
    return FakeClock(at(60))


@pytest.fixture
def paper(home, clock):
    atomic_write_json(home.odds, odds_doc(match()))
    return PaperBookmaker(home, clock)


def types(home) -> list[str]:
    return [e["type"] for e in ledger_events(home)]


def order(ref="r#1", *, min_odds=2.05, selection="away", key=KEY):
    return Order(ref, "d", "s1", key, "1X2", selection, 2.1, min_odds, 10.0)


def test_paper_takes_a_client_ref_once_and_records_it_durably_before_answering(home, clock, paper):
    first = paper.place(order("a#1"))
    assert first.ok and (first.bet_ref, first.odds, first.stake) == ("P-1", 2.1, 10.0)
    assert paper.place(order("a#1")) == first  # the same client_ref: the first bet, not a new one
    assert paper.place(order("b#1")).bet_ref == "P-2"
    assert [r["client_ref"] for r in paper_records(home)] == ["a#1", "b#1"]
    assert paper.lookup("a#1") == first and paper.lookup("c#1") is None
    with open(record_path(home), "ab") as f:  # a crash mid-write leaves a torn line
        f.write(b'{"client_ref": "c#1", "bet_')
    assert paper.lookup("c#1") is None
    assert paper.place(order("c#1")).bet_ref == "P-3" and len(paper_records(home)) == 3


@pytest.mark.parametrize("m, reason", [
    (match(odds=(3.1, 3.4, 2.04)), "price_changed"),
    (match(status="live", odds=None), "suspended"),
    (match("2024-25_Other v Match"), "unknown_match"),
])
def test_paper_refuses_what_it_cannot_fill(home, clock, paper, m, reason):
    atomic_write_json(home.odds, odds_doc(m, version=2))
    p = paper.place(order(min_odds=2.05))
    assert (p.status, p.reason, p.retryable) == ("not_placed", reason, True)
    assert paper_records(home) == []


def test_a_standing_decision_is_intended_then_placed_once(home, clock, paper):
    ex = executor(home, clock, paper)
    ex.run_pass([decision()], odds_doc(match()), config())
    evs = ledger_events(home)
    assert [e["type"] for e in evs] == ["BET_INTENDED", "BET_PLACED"]
    for ev in evs:
        assert_contract("bet-record-event", ev)
    intent, placed = evs
    assert intent["client_ref"] == f"{DID}#1" == placed["client_ref"] and intent["attempt"] == 1
    assert (intent["mode"], intent["stake"], intent["selection"]) == ("paper", 10.0, "away")
    assert (placed["bet_ref"], placed["odds"], placed["decision_id"]) == ("P-1", 2.1, DID)
    # duplicate file events, and a restarted executor: nothing more is placed
    for again in (ex, ex, executor(home, clock, paper)):
        again.reconcile(config())
        again.run_pass([decision()], odds_doc(match()), config())
    assert types(home) == ["BET_INTENDED", "BET_PLACED"]
    assert len(paper_records(home)) == 1


def test_paper_fills_at_the_current_price_of_odds_data(home, clock, paper):
    atomic_write_json(home.odds, odds_doc(match(odds=(3.1, 3.4, 2.3)), version=2))
    executor(home, clock, paper).run_pass([decision()], odds_doc(match()), config())
    assert of_type(ledger_events(home), "BET_PLACED")[0]["odds"] == 2.3


def test_an_unresolved_intent_found_at_the_bookmaker_is_reconciled_to_placed(home, clock, paper):
    # a crash between the bookmaker's confirmation and BET_PLACED: intent + paper record only
    ex = executor(home, clock, paper)
    ex._intend(decision(), odds_doc(match()), {KEY: match()}, config())
    paper.place(order_of(from_dict(ledger_events(home)[0])))
    restarted = executor(home, clock, paper)
    assert restarted.reconcile(config()) == 1
    placed = of_type(ledger_events(home), "BET_PLACED")
    assert len(placed) == 1 and placed[0]["bet_ref"] == "P-1" and placed[0]["client_ref"] == f"{DID}#1"
    assert_contract("bet-record-event", placed[0])
    restarted.run_pass([decision()], odds_doc(match()), config())
    assert types(home) == ["BET_INTENDED", "BET_PLACED"] and len(paper_records(home)) == 1


def test_an_unresolved_intent_unknown_to_the_bookmaker_fails_then_retries(home, clock, paper):
    # a crash after BET_INTENDED, before the bookmaker was called
    executor(home, clock, paper)._intend(decision(), odds_doc(match()), {KEY: match()}, config())
    restarted = executor(home, clock, paper)
    restarted.reconcile(config())
    failed = of_type(ledger_events(home), "BET_FAILED")
    assert len(failed) == 1 and failed[0]["retryable"] is True
    assert_contract("bet-record-event", failed[0])
    assert paper_records(home) == []
    restarted.run_pass([decision()], odds_doc(match()), config())  # still standing: attempt 2
    assert types(home) == ["BET_INTENDED", "BET_FAILED", "BET_INTENDED", "BET_PLACED"]
    assert of_type(ledger_events(home), "BET_PLACED")[0]["client_ref"] == f"{DID}#2"


def test_price_below_min_odds_is_refused_once_per_reason(home, clock, paper):
    ex = executor(home, clock, paper)
    low = odds_doc(match(odds=(3.1, 3.4, 2.0)))
    for _ in range(3):
        ex.run_pass([decision()], low, config())
    refused = of_type(ledger_events(home), "BET_REFUSED")
    assert [(e["control"], e["decision_id"]) for e in refused] == [("PriceMoved", DID)]
    assert_contract("bet-record-event", refused[0])
    ex.run_pass([decision()], odds_doc(match(odds=(3.1, 3.4, 2.01))), config())  # a new reason
    assert len(of_type(ledger_events(home), "BET_REFUSED")) == 2
    ex.run_pass([decision()], odds_doc(match()), config())  # back above min_odds
    assert types(home)[-2:] == ["BET_INTENDED", "BET_PLACED"]


class Flaky:
    """A paper bookmaker whose answer is lost (exception) after, or before, it took the bet."""
    capabilities, problem = Capabilities(), None

    def __init__(self, paper, *, took_it: bool, lookup_fails: int = 0):
        self.paper, self.took_it, self.lookup_fails, self.mode = paper, took_it, lookup_fails, "paper"

    def place(self, order):
        if self.took_it:
            self.paper.place(order)
        raise ConnectionError("connection reset while reading the answer")

    def lookup(self, ref):
        if self.lookup_fails:
            self.lookup_fails -= 1
            raise ConnectionError("bookmaker unreachable")
        return self.paper.lookup(ref)

    def close(self):
        pass


def test_an_error_after_the_bet_was_taken_is_reconciled_to_placed_not_failed(home, clock, paper):
    executor(home, clock, Flaky(paper, took_it=True)).run_pass([decision()], odds_doc(match()), config())
    assert types(home) == ["BET_INTENDED", "BET_PLACED"]


def test_an_error_before_the_bet_was_taken_is_reconciled_to_failed(home, clock, paper):
    executor(home, clock, Flaky(paper, took_it=False)).run_pass([decision()], odds_doc(match()), config())
    assert types(home) == ["BET_INTENDED", "BET_FAILED"]


def test_an_intent_that_cannot_be_reconciled_stays_in_flight_and_blocks(home, clock, paper):
    flaky = Flaky(paper, took_it=True, lookup_fails=1)
    ex = executor(home, clock, flaky)
    other = decision("2024-25_Chelsea v Everton")
    doc = odds_doc(match(), match("2024-25_Chelsea v Everton"))
    cfg = config(limits={"max_open_bets": 1})
    ex.run_pass([decision(), other], doc, cfg)
    assert types(home) == ["BET_INTENDED", "BET_REFUSED"]  # in flight counts for max_open_bets
    assert of_type(ledger_events(home), "BET_REFUSED")[0]["control"] == "MaxOpenBets"
    assert ex.problem and "cannot reconcile" in ex.problem
    ex.run_pass([decision(), other], doc, cfg)  # lookup works now: the bet was taken
    assert types(home)[2] == "BET_PLACED" and len(of_type(ledger_events(home), "BET_INTENDED")) == 1


class Refusing:
    mode, problem, capabilities = "paper", None, Capabilities()

    def __init__(self, retryable: bool):
        self.retryable, self.calls = retryable, 0

    def place(self, order):
        self.calls += 1
        return Placement.not_placed(order.client_ref, "suspended", retryable=self.retryable)

    def lookup(self, ref):
        return None

    def close(self):
        pass


def test_retryable_failures_are_retried_as_new_attempts_up_to_the_limit(home, clock):
    atomic_write_json(home.odds, odds_doc(match()))
    bm = Refusing(retryable=True)
    ex = executor(home, clock, bm)
    for _ in range(5):
        ex.run_pass([decision()], odds_doc(match()), config())
        clock.advance(60)  # past each retry's backoff (5, 10, 20 s: test_backoff.py)
    intents = of_type(ledger_events(home), "BET_INTENDED")
    assert [e["attempt"] for e in intents] == [1, 2, 3] and bm.calls == 3
    assert len({e["client_ref"] for e in intents}) == 3
    assert [e["control"] for e in of_type(ledger_events(home), "BET_REFUSED")] == ["MaxAttempts"]


def test_a_final_failure_ends_the_decision(home, clock):
    bm = Refusing(retryable=False)
    ex = executor(home, clock, bm)
    for _ in range(3):
        ex.run_pass([decision()], odds_doc(match()), config())
    assert types(home) == ["BET_INTENDED", "BET_FAILED"] and bm.calls == 1


class Gate:
    """A paper bookmaker that holds the first placement until the test lets it go."""
    mode, problem, capabilities = "paper", None, Capabilities()

    def __init__(self, paper):
        self.paper, self.entered, self.release = paper, threading.Event(), threading.Event()

    def place(self, order):
        self.entered.set()
        assert self.release.wait(10)
        return self.paper.place(order)

    def lookup(self, ref):
        return self.paper.lookup(ref)

    def close(self):
        pass


def test_two_racing_executors_place_a_decision_once(home, clock, paper):
    gate = Gate(paper)
    a, b = executor(home, clock, gate), executor(home, clock, paper)
    b.refresh()  # b read the ledger before a wrote its intent: to b the decision stands
    t = threading.Thread(target=a.run_pass, args=([decision()], odds_doc(match()), config()))
    t.start()
    assert gate.entered.wait(10)  # a's intent is written, its placement in flight
    # b acts on its stale view; the re-check under the ledger's lock stops it
    assert b.step(decision(), odds_doc(match()), {KEY: match()}, config()) == "skip"
    b.run_pass([decision()], odds_doc(match()), config())
    gate.release.set()
    t.join(10)
    assert types(home) == ["BET_INTENDED", "BET_PLACED"] and len(paper_records(home)) == 1


def test_the_placement_that_reaches_max_bets_halts_the_session_in_the_same_append(home, clock, paper):
    keys = [KEY, "2024-25_Chelsea v Everton"]
    doc = odds_doc(*[match(k) for k in keys])
    atomic_write_json(home.odds, doc)
    ex = executor(home, clock, paper)
    cfg = config(limits={"max_bets": 1})
    ex.run_pass([decision(k) for k in keys], doc, cfg)
    ex.run_pass([decision(k) for k in keys], doc, cfg)
    evs = ledger_events(home)
    assert [e["type"] for e in evs] == ["BET_INTENDED", "BET_PLACED", "SESSION_HALTED", "BET_REFUSED"]
    placed, halted = evs[1], evs[2]
    assert halted["reason"] == "max_bets" and halted["ts"] == placed["ts"]
    assert evs[3]["control"] == "SessionHalted"
    for ev in evs:
        assert_contract("bet-record-event", ev)


# --------------------------------------------------------------------------- the real program

def program_home(home, *, mode="paper", limits=None):
    clockmod.anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, {**config_doc(limits=limits), "mode": mode})
    return home


def processed(home, version):
    return health(home, "execute").get("odds_version") == version


def test_the_execute_program_places_a_decision_exactly_once(home, tmp_path):
    program_home(home)
    atomic_write_json(home.odds, odds_doc(match(), version=1))
    atomic_write_json(home.decisions, decisions_doc(decision(), version=1))
    log = tmp_path / "execute.log"
    proc = start_program("execute", home, log)
    try:
        poll(lambda: of_type(ledger_events(home), "BET_PLACED"), 20, "BET_PLACED", proc, log)
        for v in range(2, 6):  # the same decision again and again, and fresh odds
            atomic_write_json(home.decisions, decisions_doc(decision(), version=v))
            atomic_write_json(home.odds, odds_doc(match(), version=v))
        poll(lambda: processed(home, 5), 20, "the last odds version processed", proc, log)
        assert proc.poll() is None
    finally:
        assert stop_program(proc) == 0  # SIGTERM: a clean exit
    evs = ledger_events(home)
    assert [e["type"] for e in evs] == ["BET_INTENDED", "BET_PLACED"]
    for ev in evs:
        assert_contract("bet-record-event", ev)
    assert len(paper_records(home)) == 1
    assert_contract("health", health(home, "execute"))
    assert any(line.get("event") == "stopped" for line in log_lines(log))


def test_a_corrupt_decisions_file_is_logged_once_and_the_last_good_stands(home, tmp_path):
    program_home(home)
    atomic_write_json(home.odds, odds_doc(match(), version=1))
    atomic_write_json(home.decisions, decisions_doc(version=1))  # good, empty
    log = tmp_path / "execute.log"
    proc = start_program("execute", home, log)
    try:
        poll(lambda: processed(home, 1), 20, "first pass", proc, log)
        # torn content, replaced in one step (an in-place write is first seen empty: 2 reasons)
        atomic_write_bytes(home.decisions, b'{"version": 2, "decisions": [{"id": ')
        for v in range(2, 5):
            atomic_write_json(home.odds, odds_doc(match(), version=v))
            poll(lambda: processed(home, v), 20, f"odds version {v}", proc, log)
        bad = [x for x in log_lines(log) if x.get("event") == "file.invalid"]
        assert len(bad) == 1 and bad[0]["file"] == str(home.decisions) and "not JSON" in bad[0]["reason"]
        assert health(home, "execute")["state"] == "degraded"
        assert ledger_events(home) == []  # the last good (empty) set of decisions stood
        atomic_write_json(home.decisions, decisions_doc(decision(), version=3))
        poll(lambda: of_type(ledger_events(home), "BET_PLACED"), 20, "BET_PLACED", proc, log)
        poll(lambda: health(home, "execute").get("state") == "ok", 20, "health ok again", proc, log)
    finally:
        assert stop_program(proc) == 0


def test_live_mode_without_credentials_is_refused(home, tmp_path, monkeypatch):
    monkeypatch.delenv("BETPIPE_SANDBOX_USER", raising=False)  # (live mode itself: tests/bookmakers)
    monkeypatch.delenv("BETPIPE_SANDBOX_PASSWORD", raising=False)
    program_home(home, mode="live")
    atomic_write_json(home.odds, odds_doc(match(), version=1))
    atomic_write_json(home.decisions, decisions_doc(decision(), version=1))
    log = tmp_path / "execute.log"
    proc = start_program("execute", home, log)
    try:
        doc = poll(lambda: (h := health(home, "execute")).get("state") == "failing" and h, 20,
                   "health failing", proc, log)
        assert "live" in doc["last_error"] and "$BETPIPE_SANDBOX_PASSWORD" in doc["last_error"]
        assert proc.poll() is None  # stays up, never FATAL
    finally:
        assert stop_program(proc) == 0
    assert ledger_events(home) == []


def test_the_program_reconciles_intents_left_by_a_crash_before_placing_anything(home, tmp_path):
    program_home(home)
    other = "2024-25_Chelsea v Everton"
    atomic_write_json(home.odds, odds_doc(match(), match(other), version=1))
    clock = FakeClock(T0)
    paper = PaperBookmaker(home, clock)
    crashed = executor(home, clock, paper)  # it wrote two intents, one reached the bookmaker
    for key in (KEY, other):
        crashed._intend(decision(key), odds_doc(match(), match(other)),
                        {KEY: match(), other: match(other)}, config())
    paper.place(order_of(from_dict(of_type(ledger_events(home), "BET_INTENDED")[0])))
    atomic_write_json(home.decisions, decisions_doc(decision(), decision(other), version=1))
    log = tmp_path / "execute.log"
    proc = start_program("execute", home, log)
    try:
        poll(lambda: len(of_type(ledger_events(home), "BET_PLACED")) == 2, 20, "two placed", proc, log)
        atomic_write_json(home.odds, odds_doc(match(), match(other), version=2))
        poll(lambda: processed(home, 2), 20, "a later pass", proc, log)
    finally:
        assert stop_program(proc) == 0
    evs = ledger_events(home)
    assert [(e["type"], e["client_ref"]) for e in evs[2:]] == [
        ("BET_PLACED", f"{DID}#1"),  # found at the bookmaker: reconciled, not placed again
        ("BET_FAILED", f"s1|{other}|1X2#1"),  # not found: failed (retryable) ...
        ("BET_INTENDED", f"s1|{other}|1X2#2"), ("BET_PLACED", f"s1|{other}|1X2#2")]  # ... retried
    assert len(paper_records(home)) == 2


def test_sigkill_and_restart_never_place_a_decision_twice(home, tmp_path):
    """Kills land at whatever point the executor is; at most one BET_PLACED per id, whatever."""
    program_home(home)
    keys = [f"2024-25_Team{i} v Other{i}" for i in range(40)]
    atomic_write_json(home.odds, odds_doc(*[match(k) for k in keys], version=1))
    atomic_write_json(home.decisions, decisions_doc(*[decision(k) for k in keys], version=1))
    log = tmp_path / "execute.log"

    def intents():
        return len(of_type(ledger_events(home), "BET_INTENDED"))

    for _ in range(4):  # kill it as soon as it has written another intent
        before = intents()
        proc = start_program("execute", home, log)
        poll(lambda: intents() > before or proc.poll() is not None
             or len(of_type(ledger_events(home), "BET_PLACED")) == len(keys), 20, "an intent", proc, log)
        proc.kill()
        proc.wait(10)
    proc = start_program("execute", home, log)
    try:
        poll(lambda: len(of_type(ledger_events(home), "BET_PLACED")) >= len(keys), 30,
             "every decision placed", proc, log)
        atomic_write_json(home.odds, odds_doc(*[match(k) for k in keys], version=2))
        poll(lambda: processed(home, 2), 20, "a pass after everything was placed", proc, log)
    finally:
        assert stop_program(proc) == 0
    evs = ledger_events(home)
    placed = [e["decision_id"] for e in of_type(evs, "BET_PLACED")]
    assert sorted(placed) == sorted(f"s1|{k}|1X2" for k in keys)  # each exactly once
    refs = {e["client_ref"] for e in of_type(evs, "BET_PLACED") + of_type(evs, "BET_FAILED")}
    assert refs == {e["client_ref"] for e in of_type(evs, "BET_INTENDED")}  # all resolved
    assert sorted(r["client_ref"] for r in paper_records(home)) == sorted(
        e["client_ref"] for e in of_type(evs, "BET_PLACED"))
