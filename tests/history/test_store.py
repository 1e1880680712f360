"""The odds history's file contract (pipeline.history.store) and the monitor writing it before
each snapshot: changed matches only, full first lines, one fsync per poll, torn tails ignored
and cut, the last line per match rebuilt after a restart, finished days gzipped."""
from __future__ import annotations

import gzip
import os
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import orjson
import pytest

from pipeline.core.filebus import BadFile, SnapshotWriter
from pipeline.core.log import Logger
from pipeline.history import store
from pipeline.programs.monitor.program import Monitor
from pipeline.sources import Capabilities
from tests.kit.builders import history_line_match as match
from tests.kit.contracts import assert_contract


def raw_lines(path):
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def test_only_changes_are_appended_first_sight_is_full_and_lines_keep_the_contract(tmp_path):
    w = store.HistoryWriter(tmp_path)
    ah = [{"line": -0.75, "home": 1.92, "away": 1.98}]
    ou = [{"line": 2.5, "over": 1.85, "under": 2.05}]
    a, b = match(handicap=ah, totals=ou), match("2019-20_Chelsea v Leeds", 1.5)
    assert w.append("replay", [a, b], "2019-08-16T10:00:00Z") == 2
    assert w.append("replay", [a, b], "2019-08-16T10:00:30Z") == 0  # nothing changed
    moved = match(handicap=[{"line": -0.75, "home": 1.90, "away": 2.0}], totals=ou)
    assert w.append("replay", [moved, b], "2019-08-16T10:01:00Z") == 1  # an AH price only
    assert w.append("replay", [moved, match("2019-20_Chelsea v Leeds", status="live")],
                    "2019-08-16T10:01:30Z") == 1  # a status change
    lines = raw_lines(tmp_path / "2019-08-16.jsonl")
    for line in lines:
        assert_contract("odds-history-line", line)
    assert [(x["t"], x["key"][8:]) for x in lines] == [
        ("2019-08-16T10:00:00Z", "Arsenal v Burnley"), ("2019-08-16T10:00:00Z", "Chelsea v Leeds"),
        ("2019-08-16T10:01:00Z", "Arsenal v Burnley"), ("2019-08-16T10:01:30Z", "Chelsea v Leeds")]
    assert lines[0]["handicap"] == ah and lines[0]["totals"] == ou and lines[0]["home"] == "Arsenal"
    assert lines[2]["handicap"][0]["home"] == 1.90 and "home" not in lines[2]  # not a first line
    assert lines[3]["status"] == "live" and lines[3]["odds"] is None
    data = (tmp_path / "2019-08-16.jsonl").read_bytes()
    assert b'": ' not in data and b', "' not in data  # compact


def test_one_fsync_per_poll_and_a_restart_does_not_append_unchanged_prices(tmp_path,
                                                                          monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    many = [match(f"2019-20_Team{i} v Other{i}", 1.5 + i / 100) for i in range(50)]
    w = store.HistoryWriter(tmp_path)
    assert w.append("replay", many, "2019-08-16T10:00:00Z") == 50
    assert len(synced) == 1
    w.close()
    again = store.HistoryWriter(tmp_path)  # a restarted monitor
    many[7] = match("2019-20_Team7 v Other7", 9.9)
    assert again.append("replay", many, "2019-08-16T11:00:00Z") == 1
    assert len(synced) == 2
    assert len(raw_lines(tmp_path / "2019-08-16.jsonl")) == 51


def test_a_torn_last_line_is_ignored_by_readers_and_cut_by_the_next_append(tmp_path):
    w = store.HistoryWriter(tmp_path)
    w.append("replay", [match()], "2019-08-16T10:00:00Z")
    w.close()
    path = tmp_path / "2019-08-16.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"t":"2019-08-16T10:00:30Z","source":"re')  # a crash mid-write
    assert [x["t"] for x in store.read_day(path)] == ["2019-08-16T10:00:00Z"]
    w = store.HistoryWriter(tmp_path)
    assert w.append("replay", [match(home=2.2)], "2019-08-16T10:01:00Z") == 1
    assert [x["odds"]["home"] for x in raw_lines(path)] == [2.0, 2.2]
    assert w.repairs == 1


def test_an_unended_last_line_counts_and_corruption_before_the_end_is_refused(tmp_path):
    path = tmp_path / "2019-08-16.jsonl"
    first = store.line_of(match(), "replay", "2019-08-16T10:00:00Z", first=True)
    path.write_bytes(orjson.dumps(first))  # an editor dropped the newline
    w = store.HistoryWriter(tmp_path)
    assert w.append("replay", [match()], "2019-08-16T10:00:30Z") == 0  # known: unchanged
    assert w.append("replay", [match(home=2.5)], "2019-08-16T10:01:00Z") == 1
    assert [x["odds"]["home"] for x in raw_lines(path)] == [2.0, 2.5]
    w.close()
    path.write_bytes(b'{"t": oops\n' + orjson.dumps(first) + b"\n")
    with pytest.raises(BadFile, match=r"2019-08-16.jsonl.*byte 0"):
        store.read_day(path)
    with pytest.raises(BadFile, match="nothing is appended"):
        store.HistoryWriter(tmp_path).append("replay", [match(home=3)], "2019-08-16T12:00:00Z")


def test_a_finished_day_is_gzipped_once_and_read_back(tmp_path):
    w = store.HistoryWriter(tmp_path)
    w.append("replay", [match()], "2019-08-16T23:59:30Z")
    w.append("replay", [match(home=2.1)], "2019-08-17T00:00:00Z")  # a new UTC day
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2019-08-16.jsonl.gz",
                                                          "2019-08-17.jsonl"]
    old = gzip.decompress((tmp_path / "2019-08-16.jsonl.gz").read_bytes()).splitlines()
    assert [orjson.loads(x)["odds"]["home"] for x in old] == [2.0]
    # the new day's file stands alone: its first line of the match is full again
    new = raw_lines(tmp_path / "2019-08-17.jsonl")
    assert new[0]["home"] == "Arsenal" and new[0]["odds"]["home"] == 2.1
    assert [(d.day, d.closed) for d in store.days(tmp_path)] == [("2019-08-16", True),
                                                                ("2019-08-17", False)]
    assert [x["t"] for x in store.lines(tmp_path)] == ["2019-08-16T23:59:30Z",
                                                       "2019-08-17T00:00:00Z"]
    assert [x["t"] for x in store.lines(tmp_path, start="2019-08-17T00:00:00Z")] == [
        "2019-08-17T00:00:00Z"]
    # a compression cut short after its rename: the leftover .jsonl is removed, .gz kept
    (tmp_path / "2019-08-16.jsonl").write_bytes(b"junk")
    store.HistoryWriter(tmp_path).append("replay", [match(home=2.2)], "2019-08-17T01:00:00Z")
    assert not (tmp_path / "2019-08-16.jsonl").exists()
    with pytest.raises(OSError, match="closed"):  # a closed day is never written again
        store.HistoryWriter(tmp_path).append("replay", [match()], "2019-08-16T12:00:00Z")


class _Clock:
    def __init__(self):
        self.t = datetime(2019, 8, 16, 10, tzinfo=timezone.utc)

    def now(self):
        self.t += timedelta(seconds=1)
        return self.t

    real_now = now


def test_the_monitor_writes_the_history_before_the_snapshot_and_fails_a_poll_without_it(
        home, monkeypatch):
    class Source:
        kind, url = "replay", None
        capabilities = Capabilities(browser=False)
        prices = [2.0, 2.0, 2.4]

        def fetch(self, seen_at):
            return [match(home=self.prices.pop(0), seen_at=seen_at)], []

    class Checked(SnapshotWriter):  # what the history held when each snapshot was written
        seen = []

        def write(self, doc, written_at):
            hist = store.fold(store.lines(history))
            m = doc["matches"][0]
            self.seen.append(store.state_of(hist[m["key"]]) == store.state_of(m))
            return super().write(doc, written_at=written_at)

    history = home.data / "odds-history"
    health = SimpleNamespace(counters={}, info={}, incr=lambda n: None)
    rt = SimpleNamespace(health=health, clock=_Clock(), log=Logger("monitor"),
                         stopping=threading.Event(), recover=lambda: None, degrade=print,
                         config=SimpleNamespace(source=SimpleNamespace(timeout_s=5)))
    mon = Monitor(rt, Source(), Checked(home.odds), None, store.HistoryWriter(history))
    assert mon.poll() and mon.poll() and Checked.seen == [True, True]
    assert health.counters["history_lines"] == 1
    size = (history / "2019-08-16.jsonl").stat().st_size

    def disk_full(fd, data, end, path):
        os.write(fd, data[:7])  # part of it written, then ENOSPC: the real cut-back runs
        os.ftruncate(fd, end)
        raise store.AppendError(28, f"{path}: append failed (No space left on device)")

    monkeypatch.setattr(store, "append_bytes", disk_full)
    assert not mon.poll() and mon.failures == 1
    assert Checked.seen == [True, True]  # no snapshot without its history
    assert (history / "2019-08-16.jsonl").stat().st_size == size
    monkeypatch.undo()
    Source.prices.append(2.4)
    assert mon.poll() and Checked.seen == [True, True, True]  # the change is recorded now
    assert [x["odds"]["home"] for x in store.lines(history)] == [2.0, 2.4]
