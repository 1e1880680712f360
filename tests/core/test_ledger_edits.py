"""The ledger after a hand edit (DESIGN: Files, the append-only ledger; invariants 1, 2, 9): a
complete last line without its newline counts and is ended, never cut; a line that parses but is
no event is reported once (file, line) and skipped; a UTF-8 BOM at the start is tolerated."""
from __future__ import annotations

import orjson
import pytest

from pipeline.core import jsonl
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import BadFile
from pipeline.core.ledger import Ledger, last_seq, read_events

CLOCK = FakeClock("2019-08-09T18:30:00Z")
BOM = b"\xef\xbb\xbf"


def reset(session="s"):
    return {"type": "SESSION_RESET", "session": session}


@pytest.fixture
def reports():
    """What the readers report, as (file, line, reason)."""
    got: list[tuple[str, int, str]] = []
    previous = jsonl.report_to(lambda path, line, reason: got.append((str(path), line, reason)))
    yield got
    jsonl.report_to(previous)


def raw_lines(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().removeprefix(BOM).split(b"\n")
            if line.strip()]


def test_a_complete_last_line_without_its_newline_counts_and_the_next_writer_ends_it(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    writer, follower = Ledger(path, CLOCK), Ledger(path, CLOCK)
    writer.append(reset("a"), reset("b"), reset("c"))
    assert [e.seq for e in follower.read()] == [1, 2, 3]  # read while whole
    with open(path, "r+b") as f:  # an editor drops the final newline
        f.truncate(path.stat().st_size - 1)
    edited = path.read_bytes()
    assert not edited.endswith(b"\n")
    fresh = Ledger(path, CLOCK)
    assert [e.session for e in fresh.read()] == ["a", "b", "c"]  # the last line counts
    assert [e.seq for e in follower.read()] == [1, 2, 3]
    assert last_seq(path) == 3
    assert read_events(path)[-1].seq == 3

    writer.append(reset("d"))  # ends the line, never cuts it; seq 3 is not used again
    assert path.read_bytes() == edited + b"\n" + path.read_bytes()[len(edited) + 1:]
    assert [(e["seq"], e["session"]) for e in raw_lines(path)] == [(1, "a"), (2, "b"), (3, "c"),
                                                                  (4, "d")]
    assert writer.repairs == 0
    for reader in (follower, fresh, Ledger(path, CLOCK)):  # nothing skipped, nothing read twice
        assert [e.seq for e in reader.read()] == [1, 2, 3, 4]
    assert last_seq(path) == 4


def test_a_follower_that_read_the_unended_line_reads_it_once_after_the_newline(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    ledger = Ledger(path, CLOCK)
    ledger.append(reset("a"))
    line = orjson.dumps({"seq": 2, "ts": "2019-08-09T18:30:00Z", "schema_version": 1, **reset("b")})
    with open(path, "ab") as f:  # a reader may see a write before its newline
        f.write(line)
    follower = Ledger(path, CLOCK)
    assert [e.seq for e in follower.read()] == [1, 2]
    with open(path, "ab") as f:
        f.write(b"\n")
    assert [e.seq for e in follower.read()] == [1, 2]
    ledger.append(reset("c"))
    assert [e.seq for e in follower.read()] == [1, 2, 3]


def test_an_unended_last_line_that_is_no_event_is_torn_and_cut(tmp_path, reports):
    path = tmp_path / "bet-record.jsonl"
    ledger = Ledger(path, CLOCK)
    ledger.append(reset("a"))
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'{"seq": 2, "ts": "2019')  # a crash mid-write
    assert [e.seq for e in ledger.read()] == [1]
    ledger.append(reset("b"))
    assert [e["seq"] for e in raw_lines(path)] == [1, 2] and ledger.repairs == 1
    with open(path, "ab") as f:
        f.write(b'{"note": "no newline"}')  # parses, but is no event: torn as well
    assert [e.seq for e in ledger.read()] == [1, 2]
    ledger.append(reset("c"))
    assert path.read_bytes().startswith(good) and b"note" not in path.read_bytes()
    assert [e["seq"] for e in raw_lines(path)] == [1, 2, 3] and ledger.repairs == 2
    assert reports == []


def test_a_line_that_parses_but_is_no_event_is_reported_once_and_skipped(tmp_path, reports):
    path = tmp_path / "bet-record.jsonl"
    ledger = Ledger(path, CLOCK)
    ledger.append(reset("a"), reset("b"))
    with open(path, "ab") as f:  # hand edits, line 3 to 7
        f.write(b'{"note": "checked by hand"}\n[1, 2]\n{"seq": 9, "session": "x"}\n'
                b'{"type": "SESSION_RESET", "session": "x"}\n'
                b'{"seq": 1, "ts": "t", "type": "SESSION_RESET", "session": "copy"}\n')
    readers = [ledger, Ledger(path, CLOCK)]
    for reader in readers:
        assert [e.seq for e in reader.read()] == [1, 2]
    assert sorted(line for _f, line, _r in reports) == [3, 4, 5, 6, 7]  # each once
    assert {f for f, _l, _r in reports} == {str(path)}
    reasons = dict((line, reason) for _f, line, reason in reports)
    assert "seq" in reasons[3] and "object" in reasons[4] and "type" in reasons[5]
    assert "seq" in reasons[6] and "seq 1" in reasons[7]

    new = ledger.append(reset("c"))  # the next seq follows the last event: 3, not 10 or 2
    assert new[0].seq == 3 and last_seq(path) == 3
    for reader in readers:
        assert [e.seq for e in reader.read()] == [1, 2, 3]
    assert [e.seq for e in read_events(path)] == [1, 2, 3]
    assert len(reports) == 5  # not again on later reads or appends (read_events: its own)
    with open(path, "ab") as f:
        f.write(b'{"note": "the last line"}\n')
    assert last_seq(path) == 3 and ledger.append(reset("d"))[0].seq == 4


def test_a_bom_at_the_start_is_tolerated_by_readers_and_writers(tmp_path, reports):
    path = tmp_path / "bet-record.jsonl"
    Ledger(tmp_path / "plain.jsonl", CLOCK).append(reset("a"), reset("b"))
    path.write_bytes(BOM + (tmp_path / "plain.jsonl").read_bytes())  # saved by an editor
    ledger = Ledger(path, CLOCK)
    assert [e.session for e in ledger.read()] == ["a", "b"]
    assert ledger.append(reset("c"))[0].seq == 3
    assert path.read_bytes().startswith(BOM)
    assert [e.seq for e in Ledger(path, CLOCK).read()] == [1, 2, 3] == \
        [e.seq for e in read_events(path)]
    assert last_seq(path) == 3 and reports == []
    only_bom = tmp_path / "new.jsonl"
    only_bom.write_bytes(BOM)
    assert Ledger(only_bom, CLOCK).read() == [] and last_seq(only_bom) == 0
    assert Ledger(only_bom, CLOCK).append(reset("x"))[0].seq == 1
    assert only_bom.read_bytes().startswith(BOM + b'{"seq":1')


def test_a_line_that_does_not_parse_before_the_last_is_still_corruption(tmp_path, reports):
    path = tmp_path / "bet-record.jsonl"
    ledger = Ledger(path, CLOCK)
    ledger.append(reset("a"))
    event = {"seq": 2, "ts": "t", "type": "SESSION_RESET", "session": "b"}
    with open(path, "ab") as f:  # a line that does not parse, then an event
        f.write(b'{"note": \n' + orjson.dumps(event) + b"\n")
    before = path.read_bytes()
    with pytest.raises(BadFile, match="does not parse"):
        ledger.read()
    with pytest.raises(BadFile, match="does not parse"):
        ledger.append(reset("c"))
    with pytest.raises(BadFile, match="does not parse"):
        read_events(path)
    assert path.read_bytes() == before
