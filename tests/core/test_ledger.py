"""The append-only ledger: seq, torn-tail repair, appends from several processes, replay."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.events import from_dicts
from pipeline.core.jsonl import parse
from pipeline.core.ledger import Ledger, last_seq
from pipeline.core.state import replay
from tests.kit.contracts import assert_contract

CLOCK = FakeClock("2019-08-09T18:30:00Z")


def reset(session="s"):
    return {"type": "SESSION_RESET", "session": session}


def test_appends_get_strictly_increasing_seq_and_valid_events(tmp_path):
    ledger = Ledger(tmp_path / "bet-record.jsonl", CLOCK)
    ledger.append(reset("a"))
    ledger.append(reset("b"), reset("c"))
    events = ledger.records()
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert [e["session"] for e in events] == ["a", "b", "c"]
    for ev in events:
        assert_contract("bet-record-event", ev)


def test_torn_last_line_is_ignored_by_readers_and_cut_by_the_next_writer(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    ledger = Ledger(path, CLOCK)
    ledger.append(reset("a"))
    with open(path, "ab") as f:
        f.write(b'{"seq": 2, "ts": "2019-08-09T18:30:00Z", "type": "SESS')  # crash mid-write
    assert [e["seq"] for e in ledger.records()] == [1]
    ledger.append(reset("b"))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2 and all(orjson.loads(line) for line in lines)
    assert [e["seq"] for e in ledger.records()] == [1, 2]
    assert ledger.repairs == 1


def test_last_seq_reads_the_tail_as_readers_do(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    assert last_seq(path) == 0  # no ledger yet
    path.write_bytes(b"")
    assert last_seq(path) == 0
    ledger = Ledger(path, CLOCK)
    for i in range(40):  # lines longer than the chunk below: the tail is read further back
        ledger.append({**reset(f"session-{i}"), "note": "x" * 100})
    assert last_seq(path) == 40 == ledger.records()[-1]["seq"]
    assert last_seq(path, chunk=64) == 40  # each line is longer than 64 bytes
    with open(path, "ab") as f:
        f.write(b'{"seq": 41, "ts": "2019-08-09T18:30:00Z", "type": "SESS')  # crash mid-write
    assert last_seq(path) == 40 == ledger.records()[-1]["seq"]
    assert last_seq(path, chunk=16) == 40
    ledger.append(reset("after"))
    assert last_seq(path) == 41 == ledger.records()[-1]["seq"]


def test_an_unparsable_line_that_is_not_last_is_an_error(tmp_path):
    data = b'{"seq": 1, "type": "SESSION_RESET", "session": "a"}\ngarbage\n{"seq": 3}\n'
    with pytest.raises(ValueError, match="not the last"):
        parse(data)


def test_events_are_never_rewritten(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    ledger = Ledger(path, CLOCK)
    ledger.append(reset("a"))
    before = path.read_bytes()
    ledger.append(reset("b"))
    assert path.read_bytes().startswith(before)


def test_transact_sees_the_ledger_under_the_lock(tmp_path):
    ledger = Ledger(tmp_path / "bet-record.jsonl", CLOCK)
    once = lambda events: [] if any(e.session == "x" for e in events) else [reset("x")]
    assert len(ledger.transact(once)) == 1
    assert ledger.transact(once) == []
    assert len(ledger.read()) == 1


def test_unknown_event_types_are_refused(tmp_path):
    with pytest.raises(ValueError):
        Ledger(tmp_path / "l.jsonl", CLOCK).append({"type": "NOPE", "session": "a"})


def test_concurrent_appends_from_processes_keep_seq_unique(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    code = (
        "import sys; from pipeline.core.ledger import Ledger; from pipeline.core.clock import FakeClock\n"
        "l = Ledger(sys.argv[1], FakeClock('2019-08-09T18:30:00Z'))\n"
        "for i in range(100): l.append({'type': 'SESSION_RESET', 'session': sys.argv[2]})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), f"p{i}"]) for i in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    events = Ledger(path, CLOCK).read()
    assert [e.seq for e in events] == list(range(1, 401))


def test_replay_is_the_same_live_or_at_once(tmp_path):
    events = [
        {"seq": 1, "ts": "t", "type": "BET_INTENDED", "session": "s", "decision_id": "s|k|1X2",
         "client_ref": "s|k|1X2#1", "attempt": 1, "match_key": "k", "selection": "home",
         "odds": 2.0, "stake": 10, "mode": "paper"},
        {"seq": 2, "ts": "t", "type": "BET_PLACED", "session": "s", "decision_id": "s|k|1X2",
         "client_ref": "s|k|1X2#1", "bet_ref": "P-1", "odds": 2.0, "stake": 10},
        {"seq": 3, "ts": "t", "type": "BET_SETTLED", "session": "s", "decision_id": "s|k|1X2",
         "bet_ref": "P-1", "outcome": "won", "payout": 20.0, "profit": 10.0},
    ]
    events = from_dicts(events)  # as the ledger reads them
    at_once = replay(events)
    live = replay([])
    for ev in events + events:  # a duplicate re-read applies nothing twice
        live.apply(ev)
    for book in (at_once, live):
        sb = book.session("s")
        assert sb.settled_profit == 10.0 and sb.staked == 10.0 and not sb.open_bets
        assert not book.stands("s|k|1X2") and book.unresolved == {}
