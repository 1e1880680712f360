"""core/events.py: one class per ledger event, converted at the ledger boundary only.

The expected lines below are written out by hand, key for key in the order the writers wrote
them before the events were typed (engine, track, settlement, ladder, reconcile, cli reset):
the bytes on disk must not change."""
from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest

from pipeline.analysis.backtest import _placed
from pipeline.bookmakers import Placement
from pipeline.bookmakers.reconcile import Report, halts
from pipeline.core import events as E
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.ledger import Ledger, not_an_event
from pipeline.core.state import Bet, Book, Intent, replay
from pipeline.programs.execute.engine import outcome_body
from pipeline.strategies.ladder import with_targets
from pipeline.strategies.settlement import halt_event, settle
from tests.kit.contracts import CONTRACTS, assert_contract

TS = "2024-10-05T12:00:00Z"
CLOCK = FakeClock(TS)
DID, REF = "s|2024-25_A v B|1X2", "s|2024-25_A v B|1X2#1"

# one line per event type as the ledger has them (without seq, ts, schema_version)
LINES = [
    {"type": "BET_INTENDED", "session": "s", "decision_id": DID, "client_ref": REF, "attempt": 1,
     "match_key": "2024-25_A v B", "market": "AH", "selection": "home", "odds": 2.1,
     "min_odds": 2.0, "stake": 10.0, "mode": "paper", "line": -0.5},
    {"type": "BET_PLACED", "session": "s", "decision_id": DID, "client_ref": REF,
     "bet_ref": "P-1", "odds": 2.1, "stake": 10.0, "match_key": "2024-25_A v B",
     "market": "AH", "selection": "home", "line": -0.5, "placed_at": None},
    {"type": "BET_FAILED", "session": "s", "decision_id": DID, "client_ref": REF,
     "reason": "unreachable: net::ERR_CONNECTION_REFUSED", "retryable": True},
    {"type": "BET_REFUSED", "session": "s", "decision_id": DID, "control": "MaxStake",
     "reason": "stake 10 above 5"},
    {"type": "BET_SETTLED", "session": "s", "decision_id": DID, "bet_ref": "P-1",
     "client_ref": REF, "match_key": "2024-25_A v B", "market": "AH", "selection": "home",
     "odds": 2.1, "stake": 10.0, "outcome": "won", "payout": 21.0, "profit": 11.0,
     "status": "finished", "result": {"home_goals": 2, "away_goals": 1}, "line": -0.5,
     "source": "track"},
    {"type": "TARGET_REACHED", "session": "s", "decision_id": DID, "bet_ref": "P-1", "cycle": 1,
     "return": 21.0, "target": 20.0},
    {"type": "SESSION_HALTED", "session": "s", "reason": "stop_loss", "detail": "lost 100"},
    {"type": "SESSION_RESET", "session": "s"},
    {"type": "CHECKPOINT", "session": "", "last_seq": 8, "before": "2024-10-05", "cut_seq": 7,
     "archive": "archive/bet-record-2024-10-05.jsonl.gz", "archived": 7, "kept": 0,
     "sessions": {}, "total": {}},
]


def written(body: dict, seq: int) -> dict:
    return {"seq": seq, "ts": TS, "schema_version": 1, **body}


def test_the_schemas_type_enum_is_the_one_list_of_event_types():
    schema = json.loads((CONTRACTS / "bet-record-event.schema.json").read_text())
    assert list(schema["properties"]["type"]["enum"]) == list(E.EVENT_TYPES)
    assert [line["type"] for line in LINES] == list(E.EVENT_TYPES)  # one line per type here
    assert set(E.EVENT_TYPES) == {c.TYPE for c in E.CLASSES.values()}


@pytest.mark.parametrize("line", LINES, ids=lambda d: d["type"])
def test_every_class_round_trips_to_the_same_line_key_for_key(line):
    full = written(line, 7)
    ev = E.from_dict(full)
    assert type(ev) is E.CLASSES[line["type"]] and ev.extra is None
    assert list(ev.to_dict().items()) == list(full.items())  # same keys, same order
    assert E.from_dict(ev.to_dict()) == ev
    assert_contract("bet-record-event", full)


def test_appending_typed_events_writes_the_bytes_the_dict_writers_wrote(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    bodies = [E.from_dict(line) for line in LINES]
    out = Ledger(path, CLOCK).append(*bodies)
    expected = b"".join(orjson.dumps(written(line, i)) + b"\n" for i, line in enumerate(LINES, 1))
    assert path.read_bytes() == expected
    assert [e.seq for e in out] == list(range(1, len(LINES) + 1)) and out[0].ts == TS
    assert Ledger(path).read() == out  # what a reader gets is what the writer was given back


def test_the_writers_build_todays_lines():
    bet = Bet(DID, "s", REF, "P-1", "2024-25_A v B", "home", 2.1, 10.0, TS, 2, market="AH",
              line=-0.5)
    match = {"status": "finished", "result": {"home_goals": 2, "away_goals": 1}}
    assert settle(bet, match, "track").to_dict() == LINES[4]
    assert list(settle(bet, match, "track").to_dict()) == list(LINES[4])
    assert "source" not in settle(bet, match).to_dict()  # the backtest writes none
    intent = Intent(DID, "s", REF, 1, "2024-25_A v B", "home", 2.1, 10.0, "paper", TS, 1, "AH",
                    -0.5)
    placed = outcome_body(intent, Placement.placed(REF, "P-1", 2.1, 10.0))
    assert list(placed.to_dict().items()) == list(LINES[1].items())
    failed = outcome_body(intent, Placement.not_placed(REF, LINES[2]["reason"], retryable=True))
    assert list(failed.to_dict().items()) == list(LINES[2].items())
    assert list(halt_event("s", ("stop_loss", "lost 100")).to_dict().items()) == \
        list(LINES[6].items())
    report = Report("paper", unknown=[{"bet_ref": "X-9", "client_ref": "?", "why": "no intent"}])
    assert [h.to_dict() for h in halts(report, [], ["s"])] == [
        {"type": "SESSION_HALTED", "session": "s", "reason": "reconcile: unknown bet X-9",
         "detail": "no intent; every session halts until reset"}]


def test_a_ladder_win_gets_its_target_reached_with_the_return_key():
    cfg = Config.model_validate({"sessions": [{"id": "s", "selection": "favourite", "staking": {
        "plan": "ladder", "stake": 10, "target": 20}}]})
    won = E.from_dict(LINES[4])
    out = with_targets([won], Book(), cfg)
    assert out[0] is won and type(out[1]) is E.TargetReached
    assert list(out[1].to_dict().items()) == list(LINES[5].items())


def test_unknown_fields_of_a_line_are_kept_and_written_back(tmp_path):
    line = written({**LINES[1], "venue_fee": 0.02, "tags": ["a"]}, 1)
    ev = E.from_dict(line)
    assert ev.extra == {"venue_fee": 0.02, "tags": ["a"]} and ev.bet_ref == "P-1"
    assert ev.to_dict() == line
    path = tmp_path / "bet-record.jsonl"
    path.write_bytes(orjson.dumps(line) + b"\n")
    read = Ledger(path).read()
    assert read[0].extra == {"venue_fee": 0.02, "tags": ["a"]}
    assert replay(read).placed[DID].bet_ref == "P-1"  # the Book folds it as ever


def test_a_line_of_an_unknown_type_is_kept_and_passed_by(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    future = {"seq": 2, "ts": TS, "type": "BET_CASHED_OUT", "session": "s", "amount": 3}
    lines = [written(LINES[0], 1), future, written({**LINES[1]}, 3)]
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    events = Ledger(path).read()
    assert type(events[1]) is E.Unknown and events[1].kind == "BET_CASHED_OUT"
    assert events[1].to_dict() == future
    book = replay(events)
    assert book.seq == 3 and DID in book.placed and not book.unresolved
    # and the ledger still appends after it
    assert Ledger(path, CLOCK).append(E.SessionReset(session="s"))[0].seq == 4


def test_a_known_type_without_a_required_field_is_no_event():
    line = written(LINES[1], 1)
    del line["bet_ref"]
    assert not_an_event(line, None) == "not an event: BET_PLACED without bet_ref"
    assert not_an_event(written(LINES[1], 1), None) is None
    with pytest.raises(E.BadEvent) as e:
        E.from_dict(line)
    assert e.value.field == "bet_ref" and "BET_PLACED without bet_ref" in str(e.value)


def test_the_book_dispatches_on_the_class_and_refuses_a_dict():
    with pytest.raises(TypeError, match="core.events"):
        Book().apply(written(LINES[7], 1))
    book = Book()
    book.apply(E.SessionHalted(session="s", reason="stop_loss", seq=1, ts=TS))
    assert book.sessions["s"].halted == "stop_loss"


@pytest.mark.parametrize("reason, never_reached, unreachable, not_found", [
    ("not_found_on_reconcile", True, False, True),
    ("browser_error: TimeoutError: page", True, False, False),
    ("unreachable: net::ERR_CONNECTION_REFUSED", True, True, False),
    ("price_changed", False, False, False),
    ("after the click: TimeoutError", False, False, False),
])
def test_never_reached_is_an_attribute_of_the_failure_and_the_placement(reason, never_reached,
                                                                        unreachable, not_found):
    failed = E.BetFailed(session="s", decision_id=DID, client_ref=REF, reason=reason)
    assert (failed.never_reached, failed.unreachable, failed.not_found) == \
        (never_reached, unreachable, not_found)
    p = Placement.not_placed(REF, reason, retryable=True)
    assert p.never_reached == never_reached
    assert not Placement.unknown(REF, reason).never_reached  # an unknown effect may have left


def test_the_backtests_positional_bet_placed_is_the_keyword_one():
    ts = TS
    fast = _placed((3, ts, E.ABSENT, "s", None, DID, REF, "bt-3", 2.1, 10.0, "2024-25_A v B",
                    "AH", "home", -0.5, ts))
    slow = E.BetPlaced(seq=3, ts=ts, session="s", decision_id=DID, client_ref=REF,
                       bet_ref="bt-3", odds=2.1, stake=10.0, match_key="2024-25_A v B",
                       market="AH", selection="home", line=-0.5, placed_at=ts)
    assert fast == slow and fast.placed_at == ts and fast.line == -0.5


def test_stamp_gives_a_fresh_body_its_seq_and_ts():
    out = E.stamp(E.SessionReset(session="s"), 5, TS)
    assert (out.seq, out.ts) == (5, TS)
    assert out.to_dict() == {"seq": 5, "ts": TS, "type": "SESSION_RESET", "session": "s"}
    with pytest.raises(AttributeError):  # frozen for everyone else
        out.seq = 6


def test_pipeline_builds_events_as_classes_not_dict_literals():
    """The one place an event is a dict is the ledger's line (core/events.py and ledger.py)."""
    root = Path(E.__file__).parents[1]  # pipeline/
    literal = re.compile(r'"type":\s*(?:"(?:%s)"|CHECKPOINT)' % "|".join(E.EVENT_TYPES))
    found = [f"{p.relative_to(root.parent)}:{n}" for p in root.rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]
    assert found == []
