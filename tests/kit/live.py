"""The real `betpipe execute` in live mode against the real `betpipe bookmaker`: a live home, the
sandbox's matches and bets, starting and stopping both, the ledger checked against the sandbox."""
from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import httpx

from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER
from pipeline.browser.launch import profile_processes
from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history.football_data import parse_file
from pipeline.programs.bookmaker.market import Market
from tests.kit.builders import ledger_events, of_type
from tests.kit.contracts import FOOTBALL_DATA, assert_contract, free_port
from tests.kit.poll import poll
from tests.kit.programs import health, start_program, stop_program

START = "2019-08-09T18:30:00Z"
USER, PASSWORD = "live-tester", "pw-live-3b7e-secret"


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
    return start_program(program, home, log, {ENV_USER: USER, ENV_PASSWORD: PASSWORD})


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
