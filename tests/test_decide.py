"""The real `betpipe decide` program, as supervisord runs it, on a temporary home.

Inputs are written the way the other programs write them (atomic snapshots, ledger appends);
every wait polls the files with a deadline.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pipeline.core.clock import anchor, load_clock
from pipeline.core.filebus import BadFile, atomic_write_bytes, atomic_write_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll
from tests.kit.programs import log_lines, start_program, stop_program

START = datetime.fromisoformat("2024-10-05T13:00:00+00:00")
KICKOFF = START + timedelta(minutes=60)
KEY = "2024-25_Southampton v Arsenal"
FAV, DOG = f"fav|{KEY}|1X2", f"dog|{KEY}|1X2"
DEADLINE_S = 15



def config_doc(fav_enabled=True) -> dict:
    return {"mode": "paper", "max_odds_age_s": 3600, "halt": False,
            "sessions": [
                {"id": "fav", "enabled": fav_enabled, "competitions": ["EPL"],
                 "selection": "favourite", "odds": {"min": 1.5, "max": 2.2},
                 "window": {"from_minutes": 120, "to_minutes": 0},
                 "staking": {"plan": "flat", "stake": 10}, "limits": {"max_stake": 50}},
                {"id": "dog", "selection": "underdog", "odds": {"min": 2.0, "max": 10},
                 "window": {"from_minutes": 120, "to_minutes": 5},
                 "staking": {"plan": "flat", "stake": 5}}]}


class Decide:
    """A running `betpipe decide` and the files around it."""

    def __init__(self, home: Home, log: Path):
        self.home, self.log_path = home, log
        self.clock = load_clock(home.clock)
        self.proc = start_program("decide", home, log)

    def write_odds(self, version: int, away=2.10, home=3.10, draw=3.40) -> dict:
        doc = self.odds_doc(version, away, home, draw)
        atomic_write_json(self.home.odds, doc)
        return doc

    def odds_doc(self, version: int, away=2.10, home=3.10, draw=3.40) -> dict:
        now = iso(self.clock.now())
        doc = {"version": version, "written_at": now, "source": "sandbox", "fetched_at": now,
               "matches": [{"key": KEY, "season": "2024-25", "competition": "EPL",
                            "home": "Southampton", "away": "Arsenal", "kickoff": iso(KICKOFF),
                            "status": "scheduled", "odds": {"home": home, "draw": draw,
                                                            "away": away},
                            "seen_at": now, "result": None}]}
        assert_contract("odds-data", doc)
        return doc

    def decisions(self) -> dict | None:
        try:
            return read_snapshot(self.home.decisions)
        except BadFile:
            raise AssertionError("decisions.json was torn or invalid")

    def wait_decisions(self, what: str, predicate) -> dict:
        def check():
            doc = self.decisions()
            return doc if doc and predicate(doc) else None
        return poll(check, DEADLINE_S, what)

    def health(self) -> dict | None:
        try:
            return read_snapshot(self.home.health("decide"))
        except BadFile:
            return None

    def logs(self, event: str | None = None) -> list[dict]:
        return [r for r in log_lines(self.log_path) if event is None or r.get("event") == event]

    def stop(self, timeout: float = DEADLINE_S) -> int:
        return stop_program(self.proc, timeout)


@pytest.fixture
def decide_proc(home: Home, tmp_path):
    anchor(home.clock, start=START, speed=1)
    atomic_write_json(home.system_config, config_doc())
    proc = Decide(home, tmp_path / "decide.log")
    yield proc
    if proc.proc.poll() is None:
        proc.proc.kill()
        proc.proc.wait(5)


def ids(doc: dict) -> list[str]:
    return [d["id"] for d in doc["decisions"]]


def test_decides_on_new_odds_and_stops_cleanly_on_sigterm(decide_proc):
    p = decide_proc
    p.write_odds(1)
    doc = p.wait_decisions("decisions for odds version 1", lambda d: d["odds_version"] == 1)
    assert_contract("decisions", doc)
    assert ids(doc) == [FAV, DOG]
    fav, dog = doc["decisions"]
    assert (fav["selection"], fav["odds"], fav["stake"], fav["min_odds"]) == ("away", 2.1, 10.0, 2.05)
    assert fav["expires_at"] == iso(KICKOFF)
    assert (dog["selection"], dog["odds"], dog["stake"]) == ("home", 3.1, 5.0)
    assert dog["expires_at"] == iso(KICKOFF - timedelta(minutes=5))
    assert doc["config_version"] == 1
    poll(lambda: (p.health() or {}).get("odds_version") == 1, DEADLINE_S, "health to carry odds_version")
    written = p.logs("decisions.written")
    assert written and written[-1]["odds_version"] == 1 and written[-1]["decisions"] == 2

    # the same prices again: a new odds version is still written once, created_at kept
    p.write_odds(2)
    doc2 = p.wait_decisions("decisions for odds version 2", lambda d: d["odds_version"] == 2)
    assert doc2["version"] > doc["version"]
    assert [d["created_at"] for d in doc2["decisions"]] == [d["created_at"] for d in doc["decisions"]]

    assert p.stop() == 0
    assert p.logs("stopped")
    assert p.health()["stopped"] is True


def test_a_burst_of_odds_writes_ends_at_the_last_version(decide_proc):
    p = decide_proc
    p.write_odds(1)
    p.wait_decisions("the first decisions", lambda d: d["odds_version"] == 1)
    prices = [round(1.6 + (i % 50) / 100, 2) for i in range(2, 52)]
    for version, price in zip(range(2, 52), prices):
        p.write_odds(version, away=price)
    doc = p.wait_decisions("decisions for the last odds version 51",
                           lambda d: d["odds_version"] == 51)
    fav = next(d for d in doc["decisions"] if d["id"] == FAV)
    assert fav["odds"] == prices[-1]
    assert_contract("decisions", doc)
    # the log line follows the file write: wait for it rather than race it
    poll(lambda: any(r["odds_version"] == 51 for r in p.logs("decisions.written")),
             DEADLINE_S, "the log line for odds version 51")
    seen = [r["odds_version"] for r in p.logs("decisions.written")]
    assert seen == sorted(seen) and seen[-1] == 51
    assert p.stop() == 0


def test_a_torn_or_invalid_odds_file_is_logged_once_and_the_last_decisions_stand(decide_proc):
    p = decide_proc
    p.write_odds(1)
    p.wait_decisions("the first decisions", lambda d: d["odds_version"] == 1)
    before = p.home.decisions.read_bytes()
    cycles = poll(lambda: ((p.health() or {}).get("counters") or {}).get("cycles"),
                      DEADLINE_S, "a cycle counted in health")

    atomic_write_bytes(p.home.odds, b'{"version": 2, "written_at": "2024-10-05T13:00:0')  # torn
    line = poll(lambda: p.logs("odds.invalid"), DEADLINE_S, "a log line about the torn odds file")[0]
    assert line["file"] == str(p.home.odds) and "not JSON" in line["reason"]
    # the periodic re-read (every 2 s) sees the same bad file again: still one line
    poll(lambda: (p.health() or {}).get("counters", {}).get("cycles", 0) >= cycles + 3,
             DEADLINE_S, "three more cycles (re-reads)")
    assert len(p.logs("odds.invalid")) == 1
    assert p.home.decisions.read_bytes() == before
    h = p.health()
    assert h["state"] == "degraded" and str(p.home.odds) in h["last_error"]

    # valid JSON that breaks the contract: one more line, naming the JSON path
    bad = p.odds_doc(3)
    bad["matches"][0]["odds"]["away"] = 0.5
    atomic_write_json(p.home.odds, bad)
    poll(lambda: len(p.logs("odds.invalid")) == 2, DEADLINE_S, "a log line about the invalid odds file")
    assert "$.matches[0].odds.away" in p.logs("odds.invalid")[1]["reason"]
    assert p.home.decisions.read_bytes() == before

    p.write_odds(4, away=1.9)
    doc = p.wait_decisions("decisions for odds version 4", lambda d: d["odds_version"] == 4)
    assert doc["decisions"][0]["odds"] == 1.9
    poll(lambda: (p.health() or {}).get("state") == "ok", DEADLINE_S, "health ok again")
    assert p.stop() == 0


def test_a_bad_config_edit_keeps_the_last_good_config_and_a_good_edit_takes_effect(decide_proc):
    p = decide_proc
    p.write_odds(1)
    p.wait_decisions("the first decisions", lambda d: d["odds_version"] == 1 and ids(d) == [FAV, DOG])

    bad = config_doc(fav_enabled=False)
    bad["sessions"][0]["colour"] = "red"  # unknown key: the whole edit is refused
    atomic_write_json(p.home.system_config, bad)
    h = poll(lambda: (h := p.health()) and h["state"] == "degraded" and h, DEADLINE_S, "health degraded")
    assert "$.sessions[0].colour" in h["last_error"] and "unknown key" in h["last_error"]
    assert str(p.home.system_config) in h["last_error"]
    logged = poll(lambda: p.logs("config.invalid"), DEADLINE_S, "a config.invalid log line")[0]
    assert logged["path"] == "$.sessions[0].colour"

    p.write_odds(2)  # still deciding with the last good config: fav enabled, version 1
    doc = p.wait_decisions("decisions for odds version 2", lambda d: d["odds_version"] == 2)
    assert ids(doc) == [FAV, DOG] and doc["config_version"] == 1

    atomic_write_json(p.home.system_config, config_doc(fav_enabled=False))
    doc = p.wait_decisions("fav disabled", lambda d: d["config_version"] == 2)
    assert ids(doc) == [DOG] and doc["odds_version"] == 2
    assert doc["notes"]["fav"] == ["disabled"]
    assert_contract("decisions", doc)
    poll(lambda: (p.health() or {}).get("state") == "ok", DEADLINE_S, "health ok again")
    assert p.stop() == 0


def test_a_ledger_intent_withdraws_the_decision(decide_proc):
    p = decide_proc
    p.write_odds(1)
    p.wait_decisions("the first decisions", lambda d: ids(d) == [FAV, DOG])
    Ledger(p.home.ledger, p.clock).append(
        {"type": "BET_INTENDED", "session": "fav", "decision_id": FAV, "client_ref": FAV + "#1",
         "attempt": 1, "match_key": KEY, "selection": "away", "odds": 2.1, "stake": 10.0,
         "mode": "paper"})
    doc = p.wait_decisions("the fav decision withdrawn", lambda d: ids(d) == [DOG])
    assert doc["odds_version"] == 1
    assert p.stop() == 0


def test_an_edited_session_applies_within_a_second_or_two(decide_proc):
    p = decide_proc
    p.write_odds(1)
    p.wait_decisions("the first decisions", lambda d: ids(d) == [FAV, DOG])
    edited = config_doc()
    edited["sessions"][0]["staking"]["stake"] = 25  # fav now stakes 25
    edited["sessions"][1]["odds"]["min"] = 3.5  # dog's 3.10 no longer qualifies
    t0 = time.monotonic()
    atomic_write_json(p.home.system_config, edited)
    doc = p.wait_decisions("the edited config applied", lambda d: d["config_version"] == 2)
    took = time.monotonic() - t0
    assert ids(doc) == [FAV] and doc["decisions"][0]["stake"] == 25.0
    assert doc["odds_version"] == 1  # no new odds needed
    assert took < 2.0, f"the edit took {took:.2f} s to apply (DESIGN: within a second)"
    assert p.stop() == 0


def test_a_window_opening_with_no_file_change_is_decided_and_idle_rereads_do_nothing(decide_proc):
    p = decide_proc
    # both sessions' windows open 120 minutes before kickoff: 4 s from now
    kickoff = p.clock.now() + timedelta(minutes=120, seconds=4)
    now = iso(p.clock.now())
    doc = {"version": 1, "written_at": now, "source": "sandbox", "fetched_at": now,
           "matches": [{"key": KEY, "season": "2024-25", "competition": "EPL",
                        "home": "Southampton", "away": "Arsenal", "kickoff": iso(kickoff),
                        "status": "scheduled", "odds": {"home": 3.1, "draw": 3.4, "away": 2.1},
                        "seen_at": now, "result": None}]}
    atomic_write_json(p.home.odds, doc)
    first = p.wait_decisions("decisions for odds version 1", lambda d: d["odds_version"] == 1)
    assert first["decisions"] == []
    h = poll(lambda: (h := p.health()) and h.get("counters", {}).get("decides") and h,
                 DEADLINE_S, "a decide counted in health")
    decides, cycles = h["counters"]["decides"], h["counters"]["cycles"]
    assert h["next_change"] == iso(kickoff - timedelta(minutes=120))
    # the periodic re-reads (every 2 s) before the window opens change nothing: no decide
    h = poll(lambda: (h := p.health()) and h["counters"]["cycles"] >= cycles + 1 and h,
                 DEADLINE_S, "an idle re-read")
    if p.clock.now() < kickoff - timedelta(minutes=120):
        assert h["counters"]["decides"] == decides
    doc = p.wait_decisions("the decisions once the windows open", lambda d: ids(d) == [FAV, DOG])
    assert doc["odds_version"] == 1 and doc["version"] > first["version"]
    assert p.stop() == 0


def test_stale_odds_make_no_decision_and_health_says_so(home, tmp_path):
    anchor(home.clock, start=START, speed=1)
    cfg = config_doc()
    cfg["max_odds_age_s"] = 60
    atomic_write_json(home.system_config, cfg)
    p = Decide(home, tmp_path / "decide.log")
    try:
        old = iso(p.clock.now() - timedelta(seconds=61))
        doc = p.odds_doc(1)
        doc["matches"][0]["seen_at"] = old
        atomic_write_json(home.odds, doc)
        got = p.wait_decisions("decisions for the stale odds", lambda d: d["odds_version"] == 1)
        assert got["decisions"] == []
        assert got["notes"]["fav"] == ["stale odds: 1 match older than max_odds_age_s 60"]
        h = poll(lambda: (h := p.health()) and h["state"] == "degraded" and h,
                     DEADLINE_S, "health degraded by stale odds")
        assert "stale odds: 1 scheduled match(es) older than max_odds_age_s 60" in h["last_error"]
        p.write_odds(2)  # fresh odds: decisions and health come back
        p.wait_decisions("decisions for fresh odds", lambda d: ids(d) == [FAV, DOG])
        poll(lambda: (p.health() or {}).get("state") == "ok", DEADLINE_S, "health ok again")
        assert p.stop() == 0
    finally:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(5)
