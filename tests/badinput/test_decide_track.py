"""The corpus against the real `betpipe decide` and `betpipe track` of one home, each running
through every case: write the bad file, poll for the report (log line naming file, JSON path and
reason; health), check the last good state stands, write a good file, poll for the recovery.

odds-data.json (both read it), system-config.json (both), bet-record.jsonl (both replay it).
"""
from __future__ import annotations

import pytest

from pipeline.core.clock import FakeClock, anchor
from pipeline.core.filebus import BadFile, atomic_write_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.timefmt import parse_iso
from pipeline.harness.invariants import check_ledger, ledger_events
from tests.badinput import corpus
from tests.badinput.programs import Program, place_link, write_bytes
from tests.kit.builders import match, odds_doc, T0
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll

KEY = "2024-25_Southampton v Arsenal"
DECISION = f"s1|{KEY}|1X2"


@pytest.fixture
def pipeline_home(tmp_path):
    home = Home(tmp_path / "home").ensure()
    anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, corpus.good_config())
    progs = {}
    try:
        for name in ("decide", "track"):
            progs[name] = Program(name, home, tmp_path / f"{name}.log")
        cycle = Cycle(home, progs["decide"], progs["track"])
        first = cycle.good()  # both up, deciding on a first good odds version
        assert [d["id"] for d in first["decisions"]] == [DECISION]
        yield home, progs["decide"], progs["track"], tmp_path, cycle
    finally:
        for p in progs.values():
            p.kill()


def decisions(home: Home) -> dict | None:
    try:
        return read_snapshot(home.decisions)
    except BadFile:
        raise AssertionError("decisions.json was torn or invalid")


class Cycle:
    """Good odds-data versions, one after every bad case: the recovery is decide writing
    decisions for the new version, and track reading it."""

    def __init__(self, home: Home, decide: Program, track: Program):
        self.home, self.decide, self.track, self.version = home, decide, track, 0

    def good(self) -> dict:
        """A new good odds version, decided by decide and read by track."""
        got = self.bump()
        self.track.wait_health(lambda h: h.get("odds_version") == self.version,
                               f"track to read odds version {self.version}")
        return got

    def bump(self) -> dict:
        """A new odds version with the same prices: decide's answer to it."""
        self.version += 1
        doc = odds_doc(match(KEY, seen_at=T0), version=self.version)
        assert_contract("odds-data", doc)
        atomic_write_json(self.home.odds, doc)
        return self.decide_written(self.version)

    def decide_written(self, odds_version: int) -> dict:
        def ok():
            d = decisions(self.home)
            return d if d and d["odds_version"] == odds_version else None
        doc = poll(ok, 60, f"decisions for odds version {odds_version}", self.decide.proc,
                   self.decide.log)
        assert_contract("decisions", doc)
        return doc


def healthy_then_stopped(*progs: Program) -> None:
    """Each program healthy again, still the same process, and it stops cleanly."""
    for p in progs:
        p.wait_health(lambda h: h.get("state") == "ok", f"{p.name} healthy again")
        assert p.alive(), p.name
    for p in progs:
        assert p.stop() == 0, p.name


def test_decide_and_track_report_every_bad_odds_file_and_recover(pipeline_home):
    home, decide, track, tmp, cycle = pipeline_home
    big = corpus.write_huge(tmp / "huge.json")
    cases = [(name, (lambda data=data: write_bytes(home.odds, data)), reason, True)
             for name, data, reason in corpus.unreadable(odds_doc())]
    cases.append(("huge 100 MB", lambda: place_link(big, home.odds), "over the limit", True))
    for name, mutate, where in corpus.BAD_ODDS_VALUES:
        doc = odds_doc(match(KEY, seen_at=T0), version=1000)
        mutate(doc)
        cases.append((name, (lambda data=corpus.dumps(doc): write_bytes(home.odds, data)),
                      where, name in corpus.FOR_EXECUTE))
    try:
        for name, write, reason, track_sees in cases:
            n_decide, n_track = decide.count("odds.invalid"), track.count("file.invalid")
            good_before = decisions(home)
            write()
            line = decide.wait_log("odds.invalid", n_decide + 1, f"odds.invalid for {name}")
            assert line["file"] == str(home.odds) and reason in line["reason"], (name, line)
            assert line["keeping_version"] == cycle.version, name
            h = decide.wait_health(lambda h: h.get("state") == "degraded", f"degraded: {name}")
            assert str(home.odds) in h["last_error"] and reason in h["last_error"], name
            if track_sees:
                line = track.wait_log("file.invalid", n_track + 1, f"file.invalid for {name}")
                assert line["file"] == str(home.odds) and reason in line["reason"], (name, line)
                assert line["keeping_version"] == cycle.version, name
            now = decisions(home)  # the last good decisions stand
            assert (now["odds_version"], now["decisions"]) == \
                   (good_before["odds_version"], good_before["decisions"]), name
            got = cycle.good()  # a good file again: decided again
            assert [d["id"] for d in got["decisions"]] == [DECISION], name
    finally:
        big.unlink(missing_ok=True)
    healthy_then_stopped(decide, track)


def test_decide_and_track_report_every_bad_config_and_keep_the_last_good_one(pipeline_home):
    home, decide, track, tmp, cycle = pipeline_home
    good = corpus.dumps(corpus.good_config())
    big = corpus.write_huge(tmp / "huge.json")
    cases = [(name, (lambda make=make: write_bytes(home.system_config, make())), path, reason)
             for name, make, path, reason in corpus.BAD_CONFIGS]
    cases.append(("huge 100 MB", lambda: place_link(big, home.system_config), "$",
                  "over the limit"))
    try:
        for name, write, json_path, reason in cases:
            counts = {p: p.count("config.invalid") for p in (decide, track)}
            recovered = {p: p.count("config.recovered") for p in (decide, track)}
            write()
            for p in (decide, track):
                line = p.wait_log("config.invalid", counts[p] + 1, f"config.invalid: {name}")
                assert (line["file"], line["path"]) == (str(home.system_config), json_path), \
                    (name, line)
                assert reason in line["reason"] and line["running"] == 1, (name, line)
                h = p.wait_health(lambda h: str(home.system_config) in (h.get("last_error") or ""),
                                  f"health naming the config: {name}")
                assert h["state"] == "degraded" and json_path in h["last_error"]
            # the last good config keeps deciding: a new odds version, config_version still 1
            got = cycle.bump()
            assert got["config_version"] == 1 and [d["id"] for d in got["decisions"]] == \
                [DECISION], name
            write_bytes(home.system_config, good)
            for p in (decide, track):
                p.wait_log("config.recovered", recovered[p] + 1, f"config.recovered: {name}")
    finally:
        big.unlink(missing_ok=True)
    healthy_then_stopped(decide, track)


def test_a_torn_or_corrupt_ledger_is_reported_and_nothing_is_written_on_it(pipeline_home):
    home, decide, track, _tmp, cycle = pipeline_home
    intent = {"type": "BET_INTENDED", "session": "s1", "decision_id": DECISION,
              "client_ref": DECISION + "#1", "attempt": 1, "match_key": KEY, "market": "1X2",
              "selection": "away", "odds": 2.1, "min_odds": 2.05, "stake": 10.0, "mode": "paper"}
    ledger = Ledger(home.ledger, FakeClock(T0))
    ledger.append({"type": "SESSION_RESET", "session": "other"})
    good = home.ledger.read_bytes()

    # a torn last line (a writer killed mid-append): ignored, deciding goes on
    with open(home.ledger, "ab") as f:
        f.write(b'{"seq": 2, "ts": "2024-10-05T12:0')
    cycle.good()
    assert decide.count("ledger.invalid") == 0

    # a line that does not parse in the middle: corruption, reported with file and byte
    write_bytes(home.ledger, good + bytes(range(256)) + b"\n" + good)
    line = decide.wait_log("ledger.invalid", 1, "ledger.invalid")
    assert line["file"] == str(home.ledger)
    assert f"line at byte {len(good)} does not parse" in line["reason"]
    h = track.wait_health(lambda h: str(home.ledger) in (h.get("last_error") or ""),
                          "track degraded naming the ledger")
    assert f"line at byte {len(good)}" in h["last_error"] and h["state"] == "degraded"
    degraded = track.wait_log("degraded", 1, "track's degraded line")
    assert str(home.ledger) in degraded["reason"]
    decide.wait_health(lambda h: str(home.ledger) in (h.get("last_error") or ""),
                       "decide degraded naming the ledger")
    # decide keeps its last good ledger state: the decision still stands on new odds
    got = cycle.bump()
    assert [d["id"] for d in got["decisions"]] == [DECISION]
    # a writer refuses to append on a corrupt ledger: nothing is written on top of it
    with pytest.raises(BadFile, match="does not parse"):
        ledger.append(intent)

    # repaired: an intent is seen again, and withdraws the decision
    write_bytes(home.ledger, good)
    ledger.append(intent)
    got = cycle.bump()
    assert got["decisions"] == []
    track.wait_health(lambda h: h.get("odds_version") == cycle.version, "track reading again")
    assert track.count("degraded") == 1 and track.count("pass.failed") == 0  # said once
    events = ledger_events(home)
    assert [e["seq"] for e in events] == [1, 2] and check_ledger(events)["problems"] == []
    healthy_then_stopped(decide, track)
