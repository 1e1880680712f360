"""The step clock (DESIGN: one clock, `clock.mode: "step"`): data/clock.json holds sim_now, every
program reads it (re-reading only when the file changed), only the replay moves it, never back;
the gate waits for decide, execute and track, but never forever; and a replay home with the real
monitor, decide, execute and track programs steps through real fixtures with every program
processing every odds version, bets placed and settled at exactly the simulated instants."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from pipeline.core import clock as clockmod
from pipeline.core import filebus
from pipeline.core.filebus import atomic_write_json, read_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.log import Logger
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso, parse_iso
from pipeline.sources.replay_step import StepGate, caught_up
from tests.kit.builders import ledger_events
from tests.kit.contracts import assert_contract, FOOTBALL_DATA
from tests.kit.replay import run_replay

START = parse_iso("2019-08-09T18:00:00Z")


def test_a_step_home_reads_sim_now_and_only_the_replay_moves_it(home, monkeypatch):
    doc = clockmod.anchor(home.clock, start=START, speed=60, mode="step")
    assert_contract("clock", doc)
    assert doc["sim_now"] == iso(START)
    clock = clockmod.load_clock(home.clock)
    assert isinstance(clock, clockmod.StepClock)
    assert clock.now() == START
    reads = []
    real_read = filebus.read_json
    monkeypatch.setattr(filebus, "read_json", lambda p: reads.append(p) or real_read(p))
    for _ in range(100):
        assert clock.now() == START
    assert reads == []  # unchanged file: one stat per call, no read
    moved = clockmod.set_sim_now(home.clock, START + timedelta(hours=2))
    assert_contract("clock", moved)
    reads.clear()
    assert clock.now() == START + timedelta(hours=2) and len(reads) == 1  # changed: read once
    assert clock.now() == START + timedelta(hours=2) and len(reads) == 1
    assert clockmod.load_clock(home.clock).now() == START + timedelta(hours=2)  # other programs
    with pytest.raises(clockmod.ClockError, match="never goes back"):
        clockmod.set_sim_now(home.clock, START)
    # stop records sim_now; the next start resumes there, in step mode again
    stopped = clockmod.stop(home.clock)
    assert stopped["stopped_at"] == iso(START + timedelta(hours=2))
    again = clockmod.anchor(home.clock, start=START, speed=60, mode="step")
    assert again["sim_now"] == again["sim_start"] == iso(START + timedelta(hours=2))
    # a vanished file keeps the last good time
    home.clock.unlink()
    assert clock.now() == START + timedelta(hours=2)


def test_an_anchored_clock_is_not_moved_by_the_replay(home):
    clockmod.anchor(home.clock, start=START, speed=60)
    assert isinstance(clockmod.load_clock(home.clock), clockmod.AnchoredClock)
    with pytest.raises(clockmod.ClockError, match="not 'step'"):
        clockmod.set_sim_now(home.clock, START + timedelta(hours=1))


def beat(home: Home, program: str, **fields) -> None:
    atomic_write_json(home.health(program), {"version": 1, "program": program, "pid": 1,
                                             "last_beat_real": iso(clockmod.real_now()),
                                             **fields})


def test_the_gate_waits_for_every_program_but_never_forever(home, capsys):
    assert caught_up("decide", {"odds_version": 3}, 3, None)
    assert not caught_up("decide", {"odds_version": 2}, 3, None)
    assert not caught_up("execute", {"odds_version": 3, "decisions_version": 4}, 3, 5)
    assert caught_up("execute", {"odds_version": 3, "decisions_version": 5}, 3, 5)
    atomic_write_json(home.decisions, {"version": 5})
    gate = StepGate(home, Logger("monitor"), deadline_s=1.0)
    stop = threading.Event()
    try:
        beat(home, "decide", odds_version=3, decisions_version=5)
        beat(home, "execute", odds_version=3, decisions_version=4)  # not yet the new decisions
        assert gate.pending(3) == ["execute", "track"]  # track has no health file yet

        def later():  # the other two report, the way the programs do: atomic health writes
            beat(home, "execute", odds_version=3, decisions_version=5)
            beat(home, "track", odds_version=3)

        timer = threading.Timer(0.3, later)
        timer.start()
        waited = gate.wait(3, stop)
        timer.join()
        assert waited["late"] == [] and 250 <= waited["waited_ms"] < 1000
        # a program that does not report: the deadline, then it is no longer waited for ...
        late = gate.wait(4, stop)
        assert late["late"] == ["decide", "execute", "track"] and late["waited_ms"] >= 1000
        assert "clock.step_late" in capsys.readouterr().out
        assert gate.wait(5, stop)["waited_ms"] < 500
        # ... until it has caught up again
        beat(home, "decide", odds_version=6, decisions_version=5)
        assert gate.pending(6) == []
        assert "decide" not in gate.behind and gate.pending(7) == ["decide"]
        # stopped or stale programs are not waited for
        beat(home, "decide", odds_version=6, stopped=True)
        assert gate.pending(7) == []
        atomic_write_json(home.health("decide"), {
            "version": 2, "odds_version": 6,
            "last_beat_real": iso(clockmod.real_now() - timedelta(minutes=1))})
        assert gate.pending(7) == []
    finally:
        gate.close()


def test_the_gate_waits_for_decide_to_read_what_track_and_execute_appended(home):
    """A settlement at this step can make decide decide again on the same odds: time moves on
    only once decide has read the whole ledger and execute has placed what it decided."""
    assert caught_up("decide", {"odds_version": 3, "ledger_seq": 7}, 3, None, 7)
    assert not caught_up("decide", {"odds_version": 3, "ledger_seq": 6}, 3, None, 7)
    assert not caught_up("decide", {"odds_version": 3}, 3, None, 7)
    assert caught_up("decide", {"odds_version": 3}, 3, None, 0)  # nothing in the ledger yet
    ledger = Ledger(home.ledger, clockmod.FakeClock(iso(START)))
    gate = StepGate(home, Logger("monitor"), deadline_s=5.0)
    try:
        atomic_write_json(home.decisions, {"version": 5})
        beat(home, "decide", odds_version=3, decisions_version=5, ledger_seq=0)
        beat(home, "execute", odds_version=3, decisions_version=5)
        beat(home, "track", odds_version=3)
        assert gate.pending(3) == []
        ledger.append({"type": "SESSION_RESET", "session": "s"})  # track settles, say
        assert gate.pending(3) == ["decide"]
        atomic_write_json(home.decisions, {"version": 6})  # decide decides again ...
        beat(home, "decide", odds_version=3, decisions_version=6, ledger_seq=1)
        assert gate.pending(3) == ["execute"]  # ... and execute has yet to place it
        ledger.append({"type": "SESSION_RESET", "session": "s"})  # execute places it ...
        beat(home, "execute", odds_version=3, decisions_version=6)
        assert gate.pending(3) == ["decide"]  # ... and decide must read that too
        beat(home, "decide", odds_version=3, decisions_version=6, ledger_seq=2)
        assert gate.pending(3) == []
    finally:
        gate.close()


WEEKEND_END = parse_iso("2019-08-11T20:00:00Z")  # the first weekend of EPL 2019-20: 10 matches


def first_weekend(interval_s: int, session: dict) -> dict:
    """A step-clock replay of the first EPL 2019-20 weekend with one session."""
    return {"max_odds_age_s": 60,
            "clock": {"mode": "step", "start": iso(START), "step_deadline_s": 30},
            "source": {"kind": "replay", "interval_s": interval_s, "replay": {
                "files": [str(FOOTBALL_DATA / "E0_2019-20.csv")], "until": iso(WEEKEND_END)}},
            "sessions": [session]}


@pytest.mark.skipif(not (FOOTBALL_DATA / "E0_2019-20.csv").exists(), reason="no CSVs")
def test_a_replay_steps_through_real_fixtures_and_every_program_sees_every_version(home,
                                                                                   tmp_path):
    programs = run_replay(home, tmp_path, first_weekend(21600, {
        "id": "fav-hour", "selection": "favourite", "window": {"from_minutes": 60, "to_minutes": 0},
        "staking": {"plan": "flat", "stake": 10}}))
    monitor = programs["monitor"]
    steps = monitor.events("clock.step")
    assert len(steps) >= 20
    assert [s for s in steps if s["late"]] == []  # nobody was ever waited out
    versions = [s["odds_version"] for s in steps]
    assert versions == list(range(versions[0], versions[0] + len(steps)))
    # decide wrote decisions for every odds version the monitor wrote
    decided = {e["odds_version"] for e in programs["decide"].events("decisions.written")}
    assert set(versions) <= decided
    clock = read_json(home.clock)
    assert_contract("clock", clock)
    sim_now = parse_iso(clock["sim_now"])
    assert sim_now <= WEEKEND_END < sim_now + timedelta(hours=6)
    odds = read_snapshot(home.odds)
    assert_contract("odds-data", odds)
    assert odds["source"] == "replay" and odds["fetched_at"] == clock["sim_now"]
    for name in ("decide", "execute", "track"):
        health = read_snapshot(home.health(name))
        assert_contract("health", health)
        assert health["odds_version"] == odds["version"], name
    # bets at the window's opening step (an hour before kickoff), settled at kickoff + 110 min
    events = ledger_events(home)
    for ev in events:
        assert_contract("bet-record-event", ev)
    placed = [e for e in events if e["type"] == "BET_PLACED"]
    settled = {e["bet_ref"]: e for e in events if e["type"] == "BET_SETTLED"}
    assert len(placed) == 10  # one per match of the weekend
    kickoffs = {m["key"]: parse_iso(m["kickoff"]) for m in odds["matches"]}
    intents = {e["client_ref"]: e for e in events if e["type"] == "BET_INTENDED"}
    for bet in placed:
        kickoff = kickoffs[intents[bet["client_ref"]]["match_key"]]
        assert parse_iso(bet["ts"]) == kickoff - timedelta(hours=1)
        assert parse_iso(settled[bet["bet_ref"]]["ts"]) == kickoff + timedelta(minutes=110)


@pytest.mark.skipif(not (FOOTBALL_DATA / "E0_2019-20.csv").exists(), reason="no CSVs")
def test_a_bet_decided_on_a_settlement_is_placed_at_that_step(home, tmp_path):
    """A martingale session with a week-long window bets again the moment its bet settles (one
    bet at a time: the settlement frees it). The clock must not move on before that bet is
    placed, so each bet after the first is placed at the instant the one before settled."""
    programs = run_replay(home, tmp_path, first_weekend(3600, {
        "id": "fav-martingale", "selection": "favourite",
        "window": {"from_minutes": 10080, "to_minutes": 0},
        "staking": {"plan": "martingale", "stake": 10, "factor": 2}}))
    assert [s for s in programs["monitor"].events("clock.step") if s["late"]] == []
    events = ledger_events(home)
    for ev in events:
        assert_contract("bet-record-event", ev)
    placed = [e for e in events if e["type"] == "BET_PLACED"]
    settled = {e["bet_ref"]: e for e in events if e["type"] == "BET_SETTLED"}
    assert len(placed) >= 5  # Fri 20:00, Sat 12:30, 15:00, 17:30, Sun 14:00, ...
    assert placed[0]["ts"] == iso(START)
    for before, bet in zip(placed, placed[1:]):
        assert bet["ts"] == settled[before["bet_ref"]]["ts"], (before, bet)
