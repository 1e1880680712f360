"""Reconciliation at each point a crash can stop a placement (invariant 1).

The real executor runs with the paper bookmaker until a `Crash` (a BaseException, which nothing
in the executor catches: like a SIGKILL, the code after it never runs) stops it at the boundary:
- before the bookmaker call: an intent, nothing at the bookmaker → BET_FAILED (retryable), and
  the decision is placed by a new attempt;
- after the call, before BET_PLACED: the bookmaker has the bet → BET_PLACED, never placed again;
- during the append of BET_PLACED: a torn last line → cut off, then reconciled → BET_PLACED;
- during the append of BET_INTENDED: a torn intent → as if never written; placed once.
Each state is then restarted twice over: by a new Executor in this process, and by the real
`betpipe execute` program.
"""
from __future__ import annotations

import pytest

from pipeline.bookmakers import Capabilities
from pipeline.bookmakers.paper import PaperBookmaker
from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.jsonl import parse
from pipeline.core.ledger import Ledger
from pipeline.core.state import replay
from pipeline.core.timefmt import parse_iso
from pipeline.programs.execute.engine import Executor
from tests.kit.builders import (replay_lines, at, config, config_doc, decision, decisions_doc, KEY, match,
                                odds_doc, of_type)
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll
from tests.kit.programs import health, paper_records, Quiet, start_program, stop_program

DID = f"s1|{KEY}|1X2"


class Crash(BaseException):
    """The process dies here."""


class CrashAround:
    """The paper bookmaker, dying just before or just after it takes the bet."""
    mode, problem, capabilities = "paper", None, Capabilities()

    def __init__(self, paper: PaperBookmaker, *, after_call: bool):
        self.paper, self.after_call = paper, after_call

    def place(self, order):
        if self.after_call:
            self.paper.place(order)
        raise Crash()

    def lookup(self, ref):
        return self.paper.lookup(ref)

    def close(self):
        pass


class TornAppend(Ledger):
    """A ledger whose append of `kind` reaches the disk only in part before the process dies:
    the real write happens, then its last line is cut in half, as a crash mid-write leaves it."""

    def __init__(self, path, clock, kind: str):
        super().__init__(path, clock)
        self.kind = kind

    def transact(self, decide, **kw):
        out = super().transact(decide, **kw)
        if out and out[0].kind == self.kind:
            data = self.path.read_bytes()
            last = data.rstrip(b"\n").rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(last + (len(data) - last) // 2)
            raise Crash()
        return out


@pytest.fixture
def clock():
    return FakeClock(at(60))


def crash(home, clock, point: str) -> None:
    """Run the executor on one standing decision until it dies at `point`."""
    atomic_write_json(home.odds, odds_doc(match()))
    paper = PaperBookmaker(home, clock)
    ledger, bookmaker = Ledger(home.ledger, clock), paper
    if point in ("before_call", "after_call"):
        bookmaker = CrashAround(paper, after_call=point == "after_call")
    else:
        ledger = TornAppend(home.ledger, clock, {"torn_placed": "BET_PLACED",
                                                 "torn_intent": "BET_INTENDED"}[point])
    with pytest.raises(Crash):
        Executor(ledger, bookmaker, clock, Quiet("execute")).run_pass(
            [decision()], odds_doc(match()), config())


def restart_in_process(home, clock, tmp_path) -> None:
    ex = Executor(Ledger(home.ledger, clock), PaperBookmaker(home, clock), clock, Quiet("execute"))
    ex.reconcile(config())  # on start, before anything else
    for _ in range(3):  # the decision again, as later file events bring it
        ex.run_pass([decision()], odds_doc(match()), config())


def restart_program(home, clock, tmp_path) -> None:
    clockmod.anchor(home.clock, start=parse_iso(at(60)), speed=1)
    atomic_write_json(home.system_config, config_doc())
    atomic_write_json(home.odds, odds_doc(match(seen_at=at(60)), version=1))
    atomic_write_json(home.decisions, decisions_doc(decision(expires_at=at(7200)), version=1))
    log = tmp_path / "execute.log"
    proc = start_program("execute", home, log)
    try:
        poll(lambda: of_type(ledger_events(home), "BET_PLACED"), 20, "BET_PLACED", proc, log)
        atomic_write_json(home.odds, odds_doc(match(seen_at=at(60)), version=2))
        poll(lambda: health(home, "execute").get("odds_version") == 2, 20, "a later pass", proc, log)
    finally:
        assert stop_program(proc) == 0


def ledger_events(home) -> list[dict]:
    """The ledger as readers see it: a torn last line left out."""
    return parse(home.ledger.read_bytes()).records if home.ledger.exists() else []


RESTARTS = {"in_process": restart_in_process, "program": restart_program}


def whole_ledger(home) -> list[dict]:
    """Every line of the file parses (no torn line left) and seq runs 1, 2, 3, …"""
    result = parse(home.ledger.read_bytes())
    assert not result.torn
    assert [e["seq"] for e in result.records] == list(range(1, len(result.records) + 1))
    for ev in result.records:
        assert_contract("bet-record-event", ev)
    return result.records


@pytest.mark.parametrize("restart", RESTARTS)
def test_killed_before_the_bookmaker_call_fails_then_a_new_attempt_places(home, clock, tmp_path,
                                                                          restart):
    crash(home, clock, "before_call")
    assert [e["type"] for e in ledger_events(home)] == ["BET_INTENDED"] and paper_records(home) == []
    RESTARTS[restart](home, clock, tmp_path)
    evs = whole_ledger(home)
    assert [(e["type"], e["client_ref"]) for e in evs] == [
        ("BET_INTENDED", f"{DID}#1"), ("BET_FAILED", f"{DID}#1"),
        ("BET_INTENDED", f"{DID}#2"), ("BET_PLACED", f"{DID}#2")]
    assert evs[1]["retryable"] is True and evs[1]["reason"] == "not_found_on_reconcile"
    assert [r["client_ref"] for r in paper_records(home)] == [f"{DID}#2"]


@pytest.mark.parametrize("restart", RESTARTS)
def test_killed_after_the_call_before_bet_placed_is_reconciled_never_placed_again(
        home, clock, tmp_path, restart):
    crash(home, clock, "after_call")
    assert [e["type"] for e in ledger_events(home)] == ["BET_INTENDED"]
    [taken] = paper_records(home)
    RESTARTS[restart](home, clock, tmp_path)
    evs = whole_ledger(home)
    assert [(e["type"], e["client_ref"]) for e in evs] == [
        ("BET_INTENDED", f"{DID}#1"), ("BET_PLACED", f"{DID}#1")]
    assert (evs[1]["bet_ref"], evs[1]["odds"], evs[1]["stake"]) == (
        taken["bet_ref"], taken["odds"], taken["stake"])
    assert paper_records(home) == [taken]


@pytest.mark.parametrize("restart", RESTARTS)
def test_killed_during_the_bet_placed_append_the_torn_line_is_cut_and_reconciled(
        home, clock, tmp_path, restart):
    crash(home, clock, "torn_placed")
    raw = home.ledger.read_bytes()
    assert parse(raw).torn and [e["type"] for e in parse(raw).records] == ["BET_INTENDED"]
    [taken] = paper_records(home)
    RESTARTS[restart](home, clock, tmp_path)
    evs = whole_ledger(home)
    assert [(e["type"], e["client_ref"]) for e in evs] == [
        ("BET_INTENDED", f"{DID}#1"), ("BET_PLACED", f"{DID}#1")]
    assert evs[1]["bet_ref"] == taken["bet_ref"] and paper_records(home) == [taken]
    assert home.ledger.read_bytes().count(b"\n") == 2  # the torn tail was cut, not kept


@pytest.mark.parametrize("restart", RESTARTS)
def test_killed_during_the_intent_append_nothing_was_intended(home, clock, tmp_path, restart):
    crash(home, clock, "torn_intent")
    assert parse(home.ledger.read_bytes()).torn and paper_records(home) == []
    RESTARTS[restart](home, clock, tmp_path)
    evs = whole_ledger(home)
    assert [(e["type"], e["client_ref"]) for e in evs] == [
        ("BET_INTENDED", f"{DID}#1"), ("BET_PLACED", f"{DID}#1")]
    assert len(paper_records(home)) == 1


def test_every_crash_point_replays_to_one_placed_bet(home, clock, tmp_path):
    """The four points, one after another on four decisions of one ledger."""
    keys = [KEY, "2024-25_Chelsea v Everton", "2024-25_Fulham v Ipswich", "2024-25_Leeds v Hull"]
    doc = odds_doc(*[match(k) for k in keys])
    atomic_write_json(home.odds, doc)
    paper = PaperBookmaker(home, clock)
    plans = [(CrashAround(paper, after_call=False), Ledger(home.ledger, clock)),
             (CrashAround(paper, after_call=True), Ledger(home.ledger, clock)),
             (paper, TornAppend(home.ledger, clock, "BET_PLACED")),
             (paper, TornAppend(home.ledger, clock, "BET_INTENDED"))]
    for key, (bookmaker, ledger) in zip(keys, plans):
        ex = Executor(ledger, bookmaker, clock, Quiet("execute"))
        with pytest.raises(Crash):
            ex.reconcile(config())
            ex.run_pass([decision(key)], doc, config())
    ex = Executor(Ledger(home.ledger, clock), paper, clock, Quiet("execute"))
    ex.reconcile(config())
    ex.run_pass([decision(k) for k in keys], doc, config())
    book = replay_lines(whole_ledger(home))
    assert sorted(book.placed) == sorted(f"s1|{k}|1X2" for k in keys) and not book.unresolved
    assert not book.duplicates
    assert sorted(r["client_ref"] for r in paper_records(home)) == sorted(
        b.client_ref for b in book.placed.values())
