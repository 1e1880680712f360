"""Reconciliation of the bookmaker's whole bet history with the ledger: the comparison, the
hourly check in the tracker (halts once, error line, health), the track program, the sandbox's
/api/bets over real HTTP, and `betpipe reconcile`."""
from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import httpx
import orjson
import pytest

from pipeline.bookmakers.paper import PaperBookmaker, record_path
from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.jsonl import JsonlFile
from pipeline.core.ledger import Ledger
from pipeline.core.timefmt import parse_iso
from pipeline.programs.execute.engine import Executor
from pipeline.programs.track.program import Tracker
from pipeline.bookmakers.account import sandbox_history
from pipeline.bookmakers.reconcile import (UNKNOWN_BET, HistoryUnavailable, Hourly, check, compare,
                                         history)
from tests.kit.builders import (at, config, config_doc, decision, KEY, ledger_events, match,
                                odds_doc, of_type, T0)
from tests.kit.contracts import assert_contract, FOOTBALL_DATA, free_port
from tests.kit.poll import poll
from tests.kit.programs import BETPIPE, health, log_lines, Quiet, start_program, stop_program

OTHER = "2024-25_Chelsea v Everton"


def intent(ref: str, *, mode: str = "paper", session: str = "s1") -> dict:
    did = ref.split("#")[0]
    return {"type": "BET_INTENDED", "session": session, "decision_id": did, "client_ref": ref,
            "attempt": 1, "match_key": KEY, "selection": "away", "odds": 2.1, "stake": 10.0,
            "mode": mode}


def placed(ref: str, bet_ref: str, session: str = "s1") -> dict:
    return {"type": "BET_PLACED", "session": session, "decision_id": ref.split("#")[0],
            "client_ref": ref, "bet_ref": bet_ref, "odds": 2.1, "stake": 10.0}


def failed(ref: str) -> dict:
    return {"type": "BET_FAILED", "session": "s1", "decision_id": ref.split("#")[0],
            "client_ref": ref, "reason": "not_found_on_reconcile", "retryable": True}


def seqd(*bodies: dict) -> list[dict]:
    return [{"seq": i, "ts": T0, **b} for i, b in enumerate(bodies, start=1)]


def bk(ref: str, bet_ref: str) -> dict:
    return {"client_ref": ref, "bet_ref": bet_ref, "match_key": KEY, "selection": "away",
            "odds": 2.1, "stake": 10.0}


# --------------------------------------------------------------------------- compare (pure)

def test_compare_matches_one_to_one_and_names_each_kind_of_discrepancy():
    events = seqd(intent("a#1"), placed("a#1", "P-1"),  # matched
                  intent("b#1"),  # in flight: the bookmaker has it, BET_PLACED not written yet
                  intent("c#1"), failed("c#1"),  # the ledger failed what the bookmaker took
                  intent("d#1"), placed("d#1", "P-4"),  # the bookmaker calls it P-9
                  intent("e#1"), placed("e#1", "P-5"),  # the bookmaker has no e#1 at all
                  intent("f#1", mode="live"), placed("f#1", "SB1"))  # another mode: not compared
    bets = [bk("a#1", "P-1"), bk("b#1", "P-2"), bk("c#1", "P-3"), bk("d#1", "P-9"),
            bk("zz#1", "P-6")]  # no intent at all
    r = compare(bets, events, events, "paper")
    assert (r.matched, r.in_flight, r.bookmaker_bets, r.ledger_placed) == (1, ["b#1"], 5, 3)
    assert [(u["bet_ref"], u["client_ref"]) for u in r.unknown] == [("P-3", "c#1"), ("P-9", "d#1"),
                                                                    ("P-6", "zz#1")]
    assert "failed" in r.unknown[0]["why"] and "as bet P-4" in r.unknown[1]["why"]
    assert "no BET_INTENDED" in r.unknown[2]["why"]
    assert [(m["bet_ref"], m["client_ref"]) for m in r.missing] == [("P-5", "e#1")]
    assert not r.ok and "P-3" in r.problem() and "P-5" in r.problem()
    assert orjson.loads(orjson.dumps(r.to_json()))["ok"] is False
    assert compare([bk("a#1", "P-1")], events[:2], events[:2], "paper").ok


def test_compare_matches_market_and_line_and_reads_an_absent_market_as_1x2():
    ah = {"market": "AH", "line": -0.75}
    events = seqd({**intent("a#1"), **ah}, {**placed("a#1", "P-1"), **ah},
                  intent("b#1"), placed("b#1", "P-2"),  # a ledger from before the markets
                  {**intent("c#1"), "market": "OU", "selection": "over", "line": 2.5},
                  placed("c#1", "P-3"))
    bets = [{**bk("a#1", "P-1"), **ah}, {**bk("b#1", "P-2"), "market": "1X2", "line": None},
            {**bk("c#1", "P-3"), "market": "OU", "selection": "over", "line": 2.5}]
    assert compare(bets, events, events, "paper").matched == 3
    moved = [{**bets[0], "line": -0.5}, {**bets[1], "market": "AH", "line": 0}, bets[2]]
    r = compare(moved, events, events, "paper")
    assert r.matched == 1 and [u["client_ref"] for u in r.unknown] == ["a#1", "b#1"]
    assert "AH line -0.5" in r.unknown[0]["why"] and "AH line -0.75" in r.unknown[0]["why"]
    assert "1X2 line None" in r.unknown[1]["why"]


def test_a_placement_racing_the_check_is_neither_unknown_nor_missing(home):
    """Ledger, history, ledger: a bet placed while the history is fetched shows as matched."""
    clock = FakeClock(at(60))
    atomic_write_json(home.odds, odds_doc(match()))
    paper = PaperBookmaker(home, clock)
    ledger = Ledger(home.ledger, clock)
    ex = Executor(ledger, paper, clock, Quiet("execute"))

    def fetch_while_placing():
        bets = PaperBookmaker.history(home)  # the history before the placement ...
        ex.run_pass([decision()], odds_doc(match()), config())  # ... then a whole placement
        return bets + [r for r in PaperBookmaker.history(home) if r not in bets]

    report = check(ledger, fetch_while_placing, "paper")
    assert report.ok and report.matched == 1 and report.ledger_placed == 0


# --------------------------------------------------------------------------- the tracker's check

class Recording(Quiet):
    def of(self, event):
        return [f for _, e, f in getattr(self, "lines", []) if e == event]


def foreign_bet(home, ref="someone-else#1", bet_ref="P-99"):
    JsonlFile(record_path(home)).transact(lambda _recs: [bk(ref, bet_ref)])


@pytest.fixture
def clock():
    return FakeClock(at(3600))


def tracker(home, clock, log, fetch=None, mode="paper"):
    ledger = Ledger(home.ledger, clock)
    hourly = Hourly(ledger, fetch or (lambda: PaperBookmaker.history(home)), mode, clock, log)
    return Tracker(home, ledger, clock, hourly)


def test_an_unknown_bet_halts_every_session_once_logs_an_error_and_degrades_health(home, clock):
    cfg = config(sessions=["s1", "s2"])
    log = Recording("track")
    t = tracker(home, clock, log)
    ex = Executor(Ledger(home.ledger, clock), PaperBookmaker(home, clock), clock, Quiet("x"))
    atomic_write_json(home.odds, odds_doc(match()))
    ex.run_pass([decision()], odds_doc(match()), cfg)  # one honest bet
    assert t.run_pass(odds_doc(match()), cfg) == [] and t.problem() is None  # at start: all match
    foreign_bet(home)
    clock.advance(3599)
    assert t.run_pass(odds_doc(match()), cfg) == []  # not an hour since the last check yet
    clock.advance(1)
    out = t.run_pass(odds_doc(match()), cfg)
    assert [(e.kind, e.session, e.reason) for e in out] == [
        ("SESSION_HALTED", "s1", UNKNOWN_BET + "P-99"), ("SESSION_HALTED", "s2", UNKNOWN_BET + "P-99")]
    for ev in of_type(ledger_events(home), "SESSION_HALTED"):
        assert_contract("bet-record-event", ev)
    assert log.of("reconcile.halted") and log.of("reconcile.done")[-1]["unknown"] == 1
    assert any(level == "error" for level, e, _ in log.lines if e == "reconcile.done")
    assert "P-99" in t.problem()
    for _ in range(2):  # an hour later, and again: the halt is not written twice
        clock.advance(3600)
        assert t.run_pass(odds_doc(match()), cfg) == []
    assert len(of_type(ledger_events(home), "SESSION_HALTED")) == 2
    # the operator looks into it and resets both sessions: health clears, no new halt
    Ledger(home.ledger, clock).append({"type": "SESSION_RESET", "session": "s1"},
                                      {"type": "SESSION_RESET", "session": "s2"})
    clock.advance(3600)
    assert t.run_pass(odds_doc(match()), cfg) == [] and t.problem() is None


def test_a_placed_bet_the_bookmaker_lacks_is_an_error_without_a_halt(home, clock):
    log = Recording("track")
    Ledger(home.ledger, clock).append(intent("s1|x|1X2#1"), placed("s1|x|1X2#1", "P-7"))
    t = tracker(home, clock, log)
    assert t.run_pass(odds_doc(match()), config()) == []
    assert of_type(ledger_events(home), "SESSION_HALTED") == []
    assert [m["bet_ref"] for m in log.of("reconcile.missing_bet")] == ["P-7"]
    assert "BET_PLACED unknown to the bookmaker: P-7" in t.problem()


def test_an_unreachable_bookmaker_is_tried_again_a_few_real_seconds_later(home, clock):
    log, calls = Recording("track"), []

    def fetch():
        calls.append(clock.now())
        if len(calls) < 3:
            raise HistoryUnavailable("GET http://127.0.0.1:1/api/bets: refused")
        return []

    t = tracker(home, clock, log, fetch)
    t.run_pass(odds_doc(match()), config())
    t.run_pass(odds_doc(match()), config())  # too soon: not tried
    assert len(calls) == 1
    clock.advance(Hourly.RETRY_REAL_S)
    t.run_pass(odds_doc(match()), config())
    clock.advance(Hourly.RETRY_REAL_S)
    t.run_pass(odds_doc(match()), config())
    assert len(calls) == 3 and len(log.of("reconcile.unavailable")) == 1  # logged once
    assert t.reconcile.report.ok and t.reconcile.next_at == clock.now() + timedelta(hours=1)


def test_the_kill_switch_stops_bets_but_not_settlement(home, clock):
    ledger = Ledger(home.ledger, clock)
    ledger.append(intent(f"s1|{KEY}|1X2#1"), placed(f"s1|{KEY}|1X2#1", "P-1"))
    done = match(status="finished", odds=None, result={"home_goals": 0, "away_goals": 1})
    out = Tracker(home, ledger, clock).run_pass(odds_doc(done), config(halt=True))
    assert [(e.kind, e.outcome) for e in out] == [("BET_SETTLED", "won")]


# --------------------------------------------------------------------------- real programs

def test_the_track_program_halts_on_an_unknown_bet_at_start(home, tmp_path):
    clockmod.anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, config_doc(sessions=["s1", "s2"]))
    atomic_write_json(home.odds, odds_doc(match(), version=1))
    foreign_bet(home)
    log = tmp_path / "track.log"
    proc = start_program("track", home, log)
    try:
        poll(lambda: len(of_type(ledger_events(home), "SESSION_HALTED")) == 2, 20,
             "two SESSION_HALTED", proc, log)
        doc = poll(lambda: (h := health(home, "track")).get("state") == "degraded" and h, 20,
                   "health degraded", proc, log)
        assert "P-99" in doc["last_error"]
    finally:
        assert stop_program(proc) == 0
    halted = of_type(ledger_events(home), "SESSION_HALTED")
    assert {e["session"] for e in halted} == {"s1", "s2"}
    assert {e["reason"] for e in halted} == {UNKNOWN_BET + "P-99"}
    assert any(x.get("event") == "reconcile.halted" and x["level"] == "error"
               for x in log_lines(log))


@pytest.fixture
def sandbox(home, tmp_path):
    """The real `betpipe bookmaker` on a free port, serving one season of real fixtures."""
    data = tmp_path / "fd"
    data.mkdir()
    (data / "E0_2019-20.csv").symlink_to(FOOTBALL_DATA / "E0_2019-20.csv")
    clockmod.anchor(home.clock, start=parse_iso("2019-08-09T18:30:00Z"), speed=1)
    port = free_port()
    atomic_write_json(home.system_config, {**config_doc(), "mode": "live",
                                           "sandbox": {"port": port, "data": str(data)}})
    log = tmp_path / "bookmaker.log"
    proc = start_program("bookmaker", home, log)
    url = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: _up(url), 60, "the sandbox to answer", proc, log)
        yield url
    finally:
        stop_program(proc)


def _up(url):
    try:
        return httpx.get(f"{url}/api/bets", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_sandbox_history_over_http_and_betpipe_reconcile(home, sandbox):
    ledger = Ledger(home.ledger, FakeClock("2019-08-09T18:30:00Z"))
    ref = "s1|2019-20_West Ham v Manchester City|1X2#1"
    ledger.append({**intent(ref, mode="live"), "match_key": "2019-20_West Ham v Manchester City"})
    for client_ref in (ref, "foreign#1"):  # ours (in flight) and one the ledger never intended
        r = httpx.post(f"{sandbox}/api/bets", json={"client_ref": client_ref, "stake": 5,
                                                    "match_id": "E0_2019-20.csv:1", "selection": "home"})
        assert r.status_code == 201, r.text
    bets = sandbox_history(sandbox)
    assert [b["client_ref"] for b in bets] == [ref, "foreign#1"]
    cmd = [BETPIPE, "reconcile"]
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    report = orjson.loads(out.stdout)
    assert out.returncode == 1, out.stderr
    assert (report["mode"], report["in_flight"], report["matched"]) == ("live", [ref], 0)
    assert [u["client_ref"] for u in report["unknown"]] == ["foreign#1"]
    ledger.append(placed(ref, bets[0]["bet_ref"]))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert orjson.loads(out.stdout)["matched"] == 1
    with pytest.raises(HistoryUnavailable):
        sandbox_history(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert history(home, config(), mode="paper") == []  # paper: its own (empty) record
