"""JSON-lines files: the file lock (interoperable with filelock's), group commit, and reads that
parse only what is new — yet never a stale prefix of a file that was replaced."""
from __future__ import annotations

import os
import threading

import pytest
from filelock import FileLock, Timeout

from pipeline.core.jsonl import FileMutex, JsonlFile


def test_the_file_mutex_and_filelock_exclude_each_other(tmp_path):
    path = tmp_path / "x.jsonl.lock"
    with FileLock(str(path)):
        with pytest.raises(TimeoutError):
            with FileMutex(path, timeout_s=0.2):
                pass
    with FileMutex(path, timeout_s=1):
        with pytest.raises(Timeout):
            FileLock(str(path), timeout=0.2).acquire()
    with FileLock(str(path), timeout=1):  # released: free for both again
        pass
    with FileMutex(path, timeout_s=1):
        pass


def test_the_file_mutex_excludes_threads_of_one_process(tmp_path):
    mutex, inside, most = FileMutex(tmp_path / "y.lock"), [], [0]

    def work():
        for _ in range(200):
            with mutex:
                inside.append(1)
                most[0] = max(most[0], len(inside))
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most[0] == 1


def test_appends_without_fsync_are_made_durable_by_one_sync(tmp_path, monkeypatch):
    f = JsonlFile(tmp_path / "l.jsonl")
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    for i in range(5):
        f.transact(lambda _recs, i=i: [{"n": i}], sync=False)
    assert calls == [] and [r["n"] for r in f.read()] == [0, 1, 2, 3, 4]  # readers see them
    f.sync()
    f.sync()  # nothing new: no second fsync
    assert len(calls) == 1
    f.transact(lambda _recs: [{"n": 5}])
    assert len(calls) == 2


def test_reads_parse_what_is_new_and_notice_a_replaced_file(tmp_path):
    path = tmp_path / "l.jsonl"
    a, b = JsonlFile(path), JsonlFile(path)
    a.transact(lambda _recs: [{"n": 1}])
    assert b.read() == [{"n": 1}]
    a.transact(lambda _recs: [{"n": 2}])
    assert b.read() == [{"n": 1}, {"n": 2}]
    with open(path, "ab") as f:
        f.write(b'{"n": 3, "torn')
    assert b.read() == [{"n": 1}, {"n": 2}]
    path.unlink()  # another file in its place, longer than what b parsed
    path.write_bytes(b'{"m": 1}\n{"m": 2}\n{"m": 3}\n')
    assert b.read() == [{"m": 1}, {"m": 2}, {"m": 3}]
    b.transact(lambda recs: [{"m": len(recs) + 1}])
    assert a.read() == [{"m": 1}, {"m": 2}, {"m": 3}, {"m": 4}]
