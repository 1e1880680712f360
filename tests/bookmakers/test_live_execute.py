"""The REAL `betpipe execute` in live mode against a REAL `betpipe bookmaker`: each decision
placed exactly once through the browser, with 1 and with 3 pages at once, the outcomes in
decision order in the ledger, the sandbox's bets and the ledger one to one, and no password in
any log or data file."""
from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER
from pipeline.programs.bookmaker.market import Market
from pipeline.browser.launch import profile_processes
from pipeline.history.football_data import parse_file
from tests.execute import (BETPIPE, decisions_doc, health, ledger_events, log_lines, odds_doc,
                           of_type, poll, stop_program)
from tests.helpers import FOOTBALL_DATA, assert_contract, free_port

START = "2019-08-09T18:30:00Z"
USER, PASSWORD = "live-tester", "pw-live-3b7e-secret"
N = 6


def sandbox_matches(n: int) -> list[dict]:
    """odds-data matches of the first `n` EPL fixtures on sale at START, as the sandbox has them."""
    market = Market(parse_file(FOOTBALL_DATA / "E0_2019-20.csv", load_tables()))
    out = []
    for s in market.listed(parse_iso(START)):
        if s.on_sale and len(out) < n:
            f = s.fixture
            out.append({"key": f.key, "season": f.season, "competition": f.competition,
                        "home": f.home, "away": f.away, "kickoff": iso(f.kickoff),
                        "status": "scheduled", "seen_at": START, "result": None,
                        "odds": dict(zip(("home", "draw", "away"), s.odds))})
    return out


def decision(m: dict, i: int) -> dict:
    return {"id": f"s1|{m['key']}|1X2", "session": "s1", "match_key": m["key"], "market": "1X2",
            "selection": "home", "odds": m["odds"]["home"], "odds_at": START, "min_odds": 1.01,
            "stake": 2.0 + i, "reason": "test", "created_at": START,
            "expires_at": iso(parse_iso(START) + timedelta(days=1))}


def start(program: str, home, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1",
           ENV_USER: USER, ENV_PASSWORD: PASSWORD}
    return subprocess.Popen([BETPIPE, program], env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT)


def sandbox_bets(url: str) -> list[dict]:
    try:
        return httpx.get(f"{url}/api/bets", timeout=5).json()["bets"]
    except httpx.HTTPError:
        return []


def live_home(home, tmp_path, **execute) -> str:
    """A home in live mode on a sandbox at a free port (the 2019-20 EPL file, the clock at START,
    session s1); its url. `execute`: the config's execute settings besides timeout_s."""
    data = tmp_path / "csv"
    data.mkdir()
    (data / "E0_2019-20.csv").symlink_to(FOOTBALL_DATA / "E0_2019-20.csv")
    port = free_port()
    clockmod.anchor(home.clock, start=parse_iso(START), speed=1)
    atomic_write_json(home.system_config, {
        "mode": "live", "max_odds_age_s": 3600, "sandbox": {"port": port, "data": str(data)},
        "execute": {"timeout_s": 20, **execute},
        "sessions": [{"id": "s1", "selection": "home", "bankroll": 10_000,
                      "staking": {"plan": "flat", "stake": 2}}]})
    return f"http://127.0.0.1:{port}"


def start_both(home, url: str, book_log: Path, exec_log: Path):
    """`betpipe bookmaker`, and once it serves `url`, `betpipe execute`: (bookmaker, execute)."""
    bookmaker = start("bookmaker", home, book_log)
    try:
        poll(lambda: health(home, "bookmaker").get("url") == url, 60, "the bookmaker", bookmaker,
             book_log)
        return bookmaker, start("execute", home, exec_log)
    except BaseException:
        stop_all(home, bookmaker)
        raise


def stop_all(home, *procs: subprocess.Popen | None) -> None:
    """Stop what still runs; no browser of execute's profile may be left."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            stop_program(proc)
    assert profile_processes(home.profile_dir("execute")) == []


def placed_one_to_one(home, bets: list[dict]) -> list[dict]:
    """The ledger's events (each checked against the contract) after asserting that its
    BET_PLACED and the sandbox's accepted bets match one to one; its BET_PLACED events."""
    events = ledger_events(home)
    for ev in events:
        assert_contract("bet-record-event", ev)
    placed = of_type(events, "BET_PLACED")
    assert sorted((b["client_ref"], b["bet_ref"], b["stake"]) for b in bets) == \
        sorted((e["client_ref"], e["bet_ref"], e["stake"]) for e in placed)
    return placed


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
