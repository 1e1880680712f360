"""The corpus against the real `betpipe execute` (paper mode) of one home: bad decisions.json
and odds-data.json files are reported (log line naming the file, the field and the reason;
health) and skipped, the last good ones stand, and the next good decision is placed; then the
disk fills up (a file size limit on the running executor) while it appends to the ledger, twice:
before the intent and between the intent and its outcome. Nothing already written is lost, no
torn line is left, no bet is placed twice, and the bets go through once there is room."""
from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from pipeline.core.clock import anchor
from pipeline.core.filebus import atomic_write_json
from pipeline.core.jsonl import parse
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso, parse_iso
from pipeline.harness.invariants import check_ledger, ledger_events, unresolved
from tests.badinput import corpus
from tests.badinput.programs import DEADLINE_S, Program, place_link, write_bytes
from tests.kit.builders import decision, decisions_doc, match, odds_doc, T0
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll

EXPIRES = iso(parse_iso(T0) + timedelta(hours=6))


@pytest.fixture
def executor(tmp_path):
    home = Home(tmp_path / "home").ensure()
    anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, corpus.good_config())
    p = Program("execute", home, tmp_path / "execute.log")
    try:
        yield home, p, tmp_path
    finally:
        p.kill()


class Bets:
    """A new match and decision for every good round; placed means BET_PLACED on the ledger."""

    def __init__(self, home: Home, p: Program):
        self.home, self.p, self.n = home, p, 0

    def next(self) -> str:
        """Write odds-data and decisions.json for a new match; its decision id."""
        self.n += 1
        key = f"2024-25_Home{self.n} v Away{self.n}"
        odds = odds_doc(match(key, seen_at=T0), version=self.n)
        doc = decisions_doc(decision(key, session="s1", expires_at=EXPIRES), version=self.n)
        assert_contract("odds-data", odds)
        assert_contract("decisions", doc)
        atomic_write_json(self.home.odds, odds)
        atomic_write_json(self.home.decisions, doc)
        return doc["decisions"][0]["id"]

    def placed(self, decision_id: str) -> dict:
        def find():
            return next((e for e in ledger_events(self.home) if e["type"] == "BET_PLACED"
                         and e["decision_id"] == decision_id), None)
        return poll(find, DEADLINE_S, f"BET_PLACED for {decision_id}", self.p.proc, self.p.log)

    def round(self) -> None:
        self.placed(self.next())


def test_execute_reports_bad_decisions_and_odds_files_and_places_the_next_good_one(executor):
    home, p, tmp = executor
    bets = Bets(home, p)
    bets.round()
    big = corpus.write_huge(tmp / "huge.json")
    cases = []
    for target, good in ((home.decisions, decisions_doc(decision())), (home.odds, odds_doc())):
        cases += [(f"{target.name} {name}", target,
                   (lambda t=target, d=data: write_bytes(t, d)), reason)
                  for name, data, reason in corpus.unreadable(good)]
        cases.append((f"{target.name} huge 100 MB", target,
                      (lambda t=target: place_link(big, t)), "over the limit"))
    for name, mutate, where in corpus.BAD_DECISION_VALUES:
        doc = decisions_doc(decision(expires_at=EXPIRES))
        mutate(doc)
        cases.append((f"decisions {name}", home.decisions,
                      (lambda d=corpus.dumps(doc): write_bytes(home.decisions, d)), where))
    for name, mutate, where in corpus.BAD_ODDS_VALUES:
        if name in corpus.FOR_EXECUTE:
            doc = odds_doc(match(seen_at=T0))
            mutate(doc)
            cases.append((f"odds {name}", home.odds,
                          (lambda d=corpus.dumps(doc): write_bytes(home.odds, d)), where))
    try:
        for name, target, write, reason in cases:
            n = p.count("file.invalid")
            before = home.ledger.read_bytes()
            write()
            line = p.wait_log("file.invalid", n + 1, f"file.invalid for {name}")
            assert line["file"] == str(target) and reason in line["reason"], (name, line)
            h = p.wait_health(lambda h: f"{target.name}: " in (h.get("last_error") or ""),
                              f"health naming {target.name}: {name}")
            assert h["state"] == "degraded" and reason in h["last_error"], name
            assert home.ledger.read_bytes() == before, name  # nothing acted on
            bets.round()  # good files again: the next decision is placed
            p.wait_health(lambda h: h.get("state") == "ok", f"health ok after {name}")
    finally:
        big.unlink(missing_ok=True)
    assert p.alive() and p.count("pass.failed") == 0
    events = ledger_events(home)
    assert len([e for e in events if e["type"] == "BET_PLACED"]) == bets.n
    assert check_ledger(events)["problems"] == [] and unresolved(home) == []
    assert p.stop() == 0


def intent_size(decision_id: str, key: str, seq: int) -> int:
    """The length of the BET_INTENDED line the executor will append (give or take a few)."""
    return len(orjson.dumps({
        "seq": seq, "ts": "2024-10-05T12:00:00.000Z", "schema_version": 1,
        "type": "BET_INTENDED", "session": "s1", "decision_id": decision_id,
        "client_ref": decision_id + "#1", "attempt": 1, "match_key": key, "market": "1X2",
        "selection": "away", "odds": 2.1, "min_odds": 2.05, "stake": 10.0, "mode": "paper"})) + 1


def test_a_full_disk_while_appending_loses_nothing_and_places_each_bet_once(executor):
    home, p, _tmp = executor
    bets = Bets(home, p)
    for _ in range(3):
        bets.round()
    p.wait_health(lambda h: h.get("state") == "ok", "healthy before the disk fills")

    # 1. no room even for the intent: nothing is written, health says why, retried every pass
    before = home.ledger.read_bytes()
    p.limit_file_size(len(before) + 60)
    first = bets.next()
    h = p.wait_health(lambda h: "File too large" in (h.get("last_error") or ""),
                      "health: the ledger append failed")
    assert h["state"] == "degraded" and str(home.ledger) in h["last_error"]
    passes = h.get("counters", {}).get("passes", 0)
    p.wait_health(lambda h: h.get("counters", {}).get("passes", 0) >= passes + 2,
                  "two more passes (retries) while the disk is full")
    assert home.ledger.read_bytes() == before  # no torn line, nothing lost
    assert p.alive()
    p.limit_file_size(None)
    bets.placed(first)
    p.wait_health(lambda h: h.get("state") == "ok", "healthy with room again")

    # 2. room for the intent, not for its outcome: the bet the bookmaker took is reconciled,
    # never placed again
    before = home.ledger.read_bytes()
    seq = len(parse(before).records) + 1
    key = f"2024-25_Home{bets.n + 1} v Away{bets.n + 1}"
    p.limit_file_size(len(before) + intent_size(f"s1|{key}|1X2", key, seq) + 100)
    second = bets.next()
    h = p.wait_health(lambda h: "File too large" in (h.get("last_error") or ""),
                      "health: the outcome append failed")
    events = parse(home.ledger.read_bytes())
    assert not events.torn and home.ledger.read_bytes().startswith(before)
    assert [e["type"] for e in events.records[seq - 1:]] == ["BET_INTENDED"]
    p.limit_file_size(None)
    placed = bets.placed(second)
    assert placed["client_ref"] == second + "#1"
    p.wait_health(lambda h: h.get("state") == "ok", "healthy with room again")

    events = ledger_events(home)
    assert check_ledger(events)["problems"] == [] and unresolved(home) == []
    intents = [e for e in events if e["type"] == "BET_INTENDED" and e["decision_id"] == second]
    assert len(intents) == 1  # reconciled with the bookmaker, not tried again
    paper = [orjson.loads(x) for x in (home.data / "paper" / "bets.jsonl").read_bytes().split(b"\n")
             if x.strip()]
    assert sorted(b["client_ref"] for b in paper) == \
        sorted(e["client_ref"] for e in events if e["type"] == "BET_PLACED")
    assert p.alive() and p.count("pass.failed") == 0
    assert p.stop() == 0
