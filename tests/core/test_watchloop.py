"""The program loop (`serve`): a pass that fails the same way on every change is logged once per
reason, not once per pass (issue 15: notify logged a traceback every ~50 ms). LastGood: the last
good snapshot stands; unchanged bytes are not parsed and checked again."""
from __future__ import annotations

import io
import threading

import orjson

from pipeline.core import jsonl
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.log import Logger
from pipeline.core.runtime import Runtime
from pipeline.core.watchloop import LastGood, serve
from tests.kit.builders import config_doc
from tests.kit.poll import poll


def test_a_pass_failing_again_and_again_is_logged_once_per_reason(home):
    atomic_write_json(home.system_config, config_doc())
    reporter = jsonl.report_to(lambda *_: None)  # the Runtime below takes the reports over
    rt = Runtime("notify", home, FakeClock("2024-10-05T12:00:00Z"))
    rt.log.stream = io.StringIO()
    watched = home.data / "watched.json"
    calls: list[int] = []

    def on_pass(_changed):
        calls.append(len(calls))
        if len(calls) <= 6:
            raise KeyError("seq")
        if len(calls) <= 9:
            raise ValueError("another reason")
        return None

    loop = threading.Thread(target=serve, args=(rt, [watched], on_pass))
    loop.start()
    try:
        def passes(n):
            atomic_write_json(watched, {"n": len(calls)})  # a change: one more pass
            return len(calls) >= n
        poll(lambda: passes(12), 60, "twelve passes")
    finally:
        rt.stopping.set()
        loop.join(30)
        rt.close()
        jsonl.report_to(reporter)
    logged = [orjson.loads(line) for line in rt.log.stream.getvalue().splitlines()]
    failed = [r["reason"] for r in logged if r["event"] == "pass.failed"]
    assert failed == ["KeyError: 'seq'", "ValueError: another reason"]
    assert all("on_pass" in r["trace"] for r in logged if r["event"] == "pass.failed")
    assert [r["reason"] for r in logged if r["event"] == "degraded"] == \
        [f"pass failed: {f}" for f in failed]
    assert [r["event"] for r in logged].count("recovered") == 1


def _watcher(tmp_path):
    path, checked, out = tmp_path / "odds-data.json", [], io.StringIO()

    def check(doc, _path):
        checked.append(doc and doc["version"])
        return doc and [m["key"] for m in doc["matches"]]

    return path, checked, out, LastGood(path, Logger("execute", stream=out), check)


def _errors(out: io.StringIO) -> list[dict]:
    return [e for e in map(orjson.loads, out.getvalue().splitlines()) if e["level"] == "error"]


def test_unchanged_bytes_are_not_checked_again_and_every_change_is(tmp_path):
    path, checked, _, good = _watcher(tmp_path)
    atomic_write_json(path, {"version": 1, "matches": [{"key": "a"}]})
    assert good.load() == ["a"] and checked == [1]
    assert good.load() == ["a"] and checked == [1]  # the same bytes: neither parsed nor checked
    with open(path, "r+b") as f:  # an edit in place, same size: seen by its bytes
        data = f.read()
        f.seek(0)
        f.write(data.replace(b'"a"', b'"b"'))
    assert good.load() == ["b"] and checked == [1, 1]
    atomic_write_json(path, {"version": 2, "matches": [{"key": "c"}]})
    assert good.load() == ["c"] and checked == [1, 1, 2]


def test_a_bad_file_keeps_the_last_good_value_and_is_logged_once_until_it_changes(tmp_path):
    path, checked, out, good = _watcher(tmp_path)
    assert good.load() is None  # no file yet
    atomic_write_json(path, {"version": 1, "matches": [{"key": "a"}]})
    assert good.load() == ["a"]
    path.write_bytes(b'{"version": 2, "matc')  # torn
    assert good.load() == ["a"] and good.load() == ["a"]
    assert [e["reason"][:8] for e in _errors(out)] == ["not JSON"]
    path.unlink()  # gone: the last good one stands
    assert good.load() == ["a"]
    atomic_write_json(path, {"version": 1, "matches": [{"key": "a"}]})  # the old bytes again
    assert good.load() == ["a"] and good.problem is None and checked == [None, 1, None, 1]


def test_doc_of_gives_the_last_good_document_only_for_its_own_bytes(tmp_path):
    path = tmp_path / "odds-data.json"
    good = LastGood(path, Logger("t", io.StringIO()))
    assert good.doc_of(b"{}") is None  # nothing read yet
    atomic_write_json(path, {"version": 1, "matches": []})
    good.load()
    data = path.read_bytes()
    assert good.doc_of(data) is good.doc and good.doc["version"] == 1
    assert good.doc_of(data + b" ") is None  # other bytes: the caller parses them itself
    path.write_bytes(b'{"version": ')  # torn: the last good document stands, but not for these
    good.load()
    assert good.doc["version"] == 1
    assert good.doc_of(path.read_bytes()) is None and good.doc_of(data) is None
