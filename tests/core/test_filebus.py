"""The file bus: atomic snapshots, the never-drop-latest throttle, watching files for real."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from reactivex.scheduler import EventLoopScheduler
from reactivex.testing import ReactiveTest, TestScheduler

from pipeline.core.clock import FakeClock
from pipeline.core.filebus import (BadFile, FileWatch, SnapshotWriter, atomic_write_json,
                                   read_snapshot, throttle_latest, watch_stream)
from pipeline.core.ledger import Ledger
from tests.kit.poll import poll

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed


def test_throttle_emits_first_at_once_then_one_per_window_and_always_the_last():
    sched = TestScheduler()
    # a burst of 149 updates, 1 tick apart, from t=300; window = 50 ticks (in seconds: 50)
    messages = [on_next(300 + i, i) for i in range(1, 150)] + [on_completed(1000)]
    source = sched.create_hot_observable(*messages)
    results = sched.start(lambda: source.pipe(throttle_latest(50, sched)), created=0,
                          subscribed=0, disposed=2000)
    values = [m.value.value for m in results.messages if m.value.kind == "N"]
    times = [m.time for m in results.messages if m.value.kind == "N"]
    assert values[0] == 1 and times[0] == 301  # first at once
    assert values[-1] == 149  # the last of the burst is never dropped (throttle_first loses it)
    assert all(b - a >= 50 for a, b in zip(times, times[1:]))  # at most one per window
    assert len(values) <= 149 // 50 + 2


def test_throttle_merges_pending_items_when_asked():
    sched = TestScheduler()
    source = sched.create_hot_observable(on_next(210, {1}), on_next(215, {2}), on_next(220, {3}),
                                         on_completed(500))
    results = sched.start(lambda: source.pipe(throttle_latest(50, sched, merge=lambda a, b: a | b)))
    values = [m.value.value for m in results.messages if m.value.kind == "N"]
    assert values == [{1}, {2, 3}]


def test_throttle_flushes_pending_on_completion():
    sched = TestScheduler()
    source = sched.create_hot_observable(on_next(210, "a"), on_next(211, "b"), on_completed(212))
    results = sched.start(lambda: source.pipe(throttle_latest(50, sched)))
    values = [m.value.value for m in results.messages if m.value.kind == "N"]
    assert values == ["a", "b"]


def test_a_periodic_reread_does_not_hold_back_the_next_change():
    """The re-read (every 100 ticks from t=200) goes around the throttle: a change 5 ticks after
    one is emitted at once, not when the re-read's window (50) would have closed."""
    sched = TestScheduler()
    every = frozenset({"a", "b"})
    events = sched.create_hot_observable(on_next(305, frozenset({"a"})),
                                         on_next(310, frozenset({"a"})),
                                         on_next(320, frozenset({"a"})))
    results = sched.start(lambda: watch_stream(events, every, sched, window_s=50, resync_s=100),
                          disposed=390)
    got = [(m.time, m.value.value) for m in results.messages if m.value.kind == "N"]
    assert got == [(300, every), (305, frozenset({"a"})),  # the change at once
                   (355, frozenset({"a"}))]  # the burst behind it throttled, its last kept


def test_each_file_has_its_own_throttle_window():
    """A change of b is emitted at once although a's window is open (execute's decisions.json,
    written just after the odds-data write that opened a window, waited for it: ~50 ms on the
    odds -> BET_PLACED path); each file's bursts are still throttled, their last never lost."""
    sched = TestScheduler()
    a, b = frozenset({"a"}), frozenset({"b"})
    events = sched.create_hot_observable(on_next(205, a), on_next(215, b), on_next(220, a),
                                         on_next(225, b), on_next(230, b))
    results = sched.start(lambda: watch_stream(events, frozenset(a | b), sched, window_s=50,
                                               resync_s=1000), disposed=390)
    got = [(m.time, m.value.value) for m in results.messages if m.value.kind == "N"]
    assert got == [(205, a), (215, b),  # b at once, inside a's window
                   (255, a), (265, b)]  # each burst's last, when its own window closes


def test_snapshot_versions_increase_across_writer_restarts(tmp_path):
    path = tmp_path / "odds-data.json"
    w = SnapshotWriter(path)
    w.write({"matches": []}, written_at="2019-08-09T18:30:00Z")
    w.write({"matches": []}, written_at="2019-08-09T18:30:01Z")
    assert SnapshotWriter(path).write({}, written_at="2019-08-09T18:30:02Z")["version"] == 3
    assert not list((tmp_path / ".tmp").iterdir())  # no temp files left behind


@pytest.mark.parametrize("content, reason", [(b"", "empty"), (b'{"version": 3, "matc', "not JSON"),
                                             (b"[1, 2]", "not an object"),
                                             (b'{"matches": []}', "version")])
def test_unusable_snapshots_raise_badfile_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "odds-data.json"
    path.write_bytes(content)
    with pytest.raises(BadFile, match=reason) as err:
        read_snapshot(path)
    assert err.value.path == path


def test_readers_never_see_a_partial_snapshot(tmp_path):
    path = tmp_path / "odds-data.json"
    big = {"matches": [{"key": f"m{i}", "pad": "x" * 200} for i in range(500)]}
    atomic_write_json(path, {"version": 0, **big})
    stop = threading.Event()
    torn = []

    def reader():
        while not stop.is_set():
            try:
                read_snapshot(path)
            except BadFile as e:
                torn.append(e)

    t = threading.Thread(target=reader)
    t.start()
    for v in range(1, 150):
        atomic_write_json(path, {"version": v, **big})
    stop.set()
    t.join()
    assert torn == []


def _collect(watch: FileWatch):
    seen, lock = [], threading.Lock()

    def handler(paths):
        with lock:
            seen.append(paths)

    watch.stream.subscribe(handler)
    return seen



def test_watch_sees_the_last_of_a_burst_of_atomic_writes(tmp_path):
    path = tmp_path / "odds-data.json"
    sched = EventLoopScheduler()
    watch = FileWatch([path], sched, window_s=0.05, resync_s=60).start()
    versions = []

    def handler(paths):
        versions.append(read_snapshot(path)["version"])

    watch.stream.subscribe(handler)
    try:
        writer = SnapshotWriter(path)
        for _ in range(200):
            writer.write({"matches": []}, written_at="2019-08-09T18:30:00Z")
        poll(lambda: versions and versions[-1] == 200, 10,
             "the last write of the burst", every=0.01)
        assert len(versions) < 200  # throttled, not one handler call per write
    finally:
        watch.stop()
        sched.dispose()


@contextmanager
def watching(path, **kw):
    """A started FileWatch of `path` on its own scheduler; yields the list of what it emits."""
    sched = EventLoopScheduler()
    watch = FileWatch([path], sched, **kw).start()
    try:
        yield _collect(watch)
    finally:
        watch.stop()
        sched.dispose()


def test_watch_sees_ledger_appends_as_modifications(tmp_path):
    path = tmp_path / "bet-record.jsonl"
    with watching(path, window_s=0.02, resync_s=60) as seen:
        Ledger(path, FakeClock("2019-08-09T18:30:00Z")).append({"type": "SESSION_RESET",
                                                                "session": "a"})
        poll(lambda: any(path.resolve() in s for s in seen), 10,
             "the watch to see the file", every=0.01)


def test_watch_resyncs_periodically_without_events(tmp_path):
    with watching(tmp_path / "decisions.json", window_s=0.01, resync_s=0.1) as seen:
        poll(lambda: len(seen) >= 2, 10,
             "a resync re-read", every=0.01)  # nothing written, yet re-read as a safety net
