"""The REAL `betpipe execute` in live mode against a REAL `betpipe bookmaker`: each decision
placed exactly once through the browser, with 1 and with 3 pages at once, the outcomes in
decision order in the ledger, the sandbox's bets and the ledger one to one, and no password in
any log or data file."""
from __future__ import annotations

import os
import subprocess

import pytest

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json
from pipeline.core.timefmt import parse_iso
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER
from tests.kit.builders import decisions_doc, ledger_events, odds_doc, of_type
from tests.kit.poll import poll
from tests.kit.programs import BETPIPE, health, log_lines, stop_program
from tests.kit.live import (PASSWORD, START, USER, decision, live_home, placed_one_to_one,
                            sandbox_bets, sandbox_matches, start, start_both, stop_all)

N = 6


@pytest.mark.parametrize("pages", [1, 3])
def test_live_execute_places_each_decision_once_in_decision_order(home, tmp_path, pages):
    url = live_home(home, tmp_path, max_concurrent=pages)
    matches = sandbox_matches(N)
    decisions = [decision(m, i) for i, m in enumerate(matches)]
    atomic_write_json(home.odds, {**odds_doc(*matches, version=1, fetched_at=START)})
    atomic_write_json(home.decisions, decisions_doc(*decisions, version=1))

    book_log, exec_log = tmp_path / "bookmaker.log", tmp_path / "execute.log"
    bookmaker, execute = start_both(home, url, book_log, exec_log)
    try:
        poll(lambda: len(of_type(ledger_events(home), "BET_PLACED")) >= N, 120,
             f"{N} bets placed", execute, exec_log)
        assert stop_program(execute) == 0
        execute = start("execute", home, exec_log)  # a restart places nothing again
        atomic_write_json(home.odds, odds_doc(*matches, version=2, fetched_at=START))
        poll(lambda: health(home, "execute").get("odds_version") == 2, 60, "a pass after restart",
             execute, exec_log)
        assert health(home, "execute")["state"] == "ok", health(home, "execute")
        assert stop_program(execute) == 0
        bets = sandbox_bets(url)
    finally:
        stop_all(home, execute, bookmaker)

    # the sandbox's accepted bets and the ledger's placed bets: one to one
    placed = placed_one_to_one(home, bets)
    events = ledger_events(home)
    assert [e["decision_id"] for e in placed] == [d["id"] for d in decisions]  # in order, once
    assert not of_type(events, "BET_FAILED") and all(e["mode"] == "live"
                                                      for e in of_type(events, "BET_INTENDED"))
    kinds = [e["type"] for e in events]
    if pages == 1:
        assert kinds == ["BET_INTENDED", "BET_PLACED"] * N
    else:  # three intents in flight before the first outcome (invariant 8: intent first)
        assert kinds[:pages + 1] == ["BET_INTENDED"] * (pages + 1)
    assert [e["stake"] for e in placed] == [d["stake"] for d in decisions]

    lines = log_lines(exec_log)
    assert any(x.get("event") == "live.ready" and x.get("pages") == pages for x in lines)
    for path in [book_log, exec_log, *home.data.rglob("*")]:  # invariant 7
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_live_execute_without_credentials_says_why_once_and_places_nothing(home, tmp_path):
    clockmod.anchor(home.clock, start=parse_iso(START), speed=1)
    atomic_write_json(home.system_config, {"mode": "live", "sessions": []})
    matches = sandbox_matches(1)
    atomic_write_json(home.odds, odds_doc(*matches, version=1, fetched_at=START))
    atomic_write_json(home.decisions, decisions_doc(decision(matches[0], 0), version=1))
    log = tmp_path / "execute.log"
    env = {k: v for k, v in os.environ.items() if k not in (ENV_USER, ENV_PASSWORD)}
    proc = subprocess.Popen([BETPIPE, "execute"], stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            env={**env, "BETPIPE_HOME": str(home.root), ENV_USER: USER})
    try:
        doc = poll(lambda: (h := health(home, "execute")).get("state") == "failing" and h, 30,
                   "health failing", proc, log)
        assert f"${ENV_PASSWORD}" in doc["last_error"] and f"${ENV_USER}" not in doc["last_error"]
        assert proc.poll() is None  # stays up, never FATAL
    finally:
        assert stop_program(proc) == 0
    said = [x for x in log_lines(log) if ENV_PASSWORD in str(x.get("reason", ""))]
    assert len(said) == 1 and said[0]["event"] == "failing"
    assert ledger_events(home) == [] and not home.profile_dir("execute").exists()
