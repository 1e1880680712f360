"""The program loop (`serve`): a pass that fails the same way on every change is logged once per
reason, not once per pass (issue 15: notify logged a traceback every ~50 ms)."""
from __future__ import annotations

import io
import threading

import orjson

from pipeline.core import jsonl
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.runtime import Runtime
from pipeline.core.watchloop import serve
from tests.execute import config_doc, poll


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
