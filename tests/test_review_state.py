"""A session's `review` state (DESIGN: research) as `betpipe sessions` and the dashboard show
it, from ledger rows written here: settled non-void bets since the session's reset, their ROI
against `min_roi`, computed again in the test from the rows."""
from __future__ import annotations

import html
import warnings

import orjson
import pytest

from pipeline.core.clock import FakeClock, anchor, load_clock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.timefmt import parse_iso
from pipeline.programs.dashboard.app import create_app
from tests.kit.programs import betpipe

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

START = "2024-10-05T13:00:00Z"
CONFIG = {"sessions": [
    {"id": "rev", "selection": "home", "staking": {"plan": "flat", "stake": 10},
     "review": {"after_bets": 50, "min_roi": -0.05}},
    {"id": "due", "selection": "away", "staking": {"plan": "flat", "stake": 5},
     "review": {"after_bets": 2, "min_roi": -0.05}},
    {"id": "plain", "selection": "draw", "staking": {"plan": "flat", "stake": 1}}]}
# (session, stake, odds, outcome): "rev": 16 won at 1.94, 16 lost, one void, one open;
# "due": 3 lost (after_bets 2: due, below min_roi); before them, bets a SESSION_RESET wipes
ROWS = ([("rev", 10.0, 1.94, "won")] * 16 + [("rev", 10.0, 2.5, "lost")] * 16
        + [("rev", 10.0, 3.0, "void"), ("rev", 10.0, 2.0, None)]
        + [("due", 5.0, 2.0, "won")] * 4)
AFTER_RESET = [("due", 5.0, 3.2, "lost")] * 3


def write(ledger: Ledger, rows, first: int) -> None:
    for i, (sid, stake, odds, outcome) in enumerate(rows, first):
        key, did = f"2024-25_T{i} v U{i}", f"{sid}|2024-25_T{i} v U{i}|1X2"
        ledger.append({"type": "BET_PLACED", "session": sid, "decision_id": did,
                       "client_ref": did + "#1", "bet_ref": f"P-{i}", "odds": odds,
                       "stake": stake, "match_key": key, "selection": "home"})
        if outcome:
            payout = {"won": round(stake * odds, 2), "lost": 0.0, "void": stake}[outcome]
            ledger.append({"type": "BET_SETTLED", "session": sid, "decision_id": did,
                           "bet_ref": f"P-{i}", "outcome": outcome, "payout": payout,
                           "profit": round(payout - stake, 2)})


def expected(sid: str, rows, after: int, min_roi: float) -> str:
    """The review line from the rows alone: settled, not void."""
    counted = [(stake, odds, outcome) for s, stake, odds, outcome in rows
               if s == sid and outcome in ("won", "lost")]
    staked = sum(stake for stake, _, _ in counted)
    profit = sum(stake * (odds - 1) if outcome == "won" else -stake
                 for stake, odds, outcome in counted)
    roi = profit / staked
    due = " (due)" if len(counted) >= after else ""
    return (f"review: {len(counted)}/{after} bets{due}, roi {roi:.4f} "
            f"{'<' if roi < min_roi else '>='} {min_roi:g}")


@pytest.fixture
def reviewed(home: Home) -> Home:
    anchor(home.clock, start=parse_iso(START), speed=1)
    atomic_write_json(home.system_config, CONFIG)
    ledger = Ledger(home.ledger, load_clock(home.clock))
    write(ledger, ROWS, 1)
    ledger.append({"type": "SESSION_RESET", "session": "due"})
    write(ledger, AFTER_RESET, 100)
    return home


REV = "review: 32/50 bets, roi -0.0300 >= -0.05"
DUE = "review: 3/2 bets (due), roi -1.0000 < -0.05"


def test_the_expected_lines_follow_from_the_rows():
    assert expected("rev", ROWS, 50, -0.05) == REV
    assert expected("due", AFTER_RESET, 2, -0.05) == DUE


def test_sessions_shows_the_review_state(reviewed):
    r = betpipe(reviewed, "sessions", "--json")
    assert r.returncode == 0, r.stderr
    rows = {s["session"]: s for s in orjson.loads(r.stdout)["sessions"]}
    assert rows["rev"]["review"] == REV
    assert rows["due"]["review"] == DUE
    assert rows["plain"]["review"] is None
    table = betpipe(reviewed, "sessions")
    assert table.returncode == 0, table.stderr
    assert f"rev: {REV}" in table.stdout and f"due: {DUE}" in table.stdout
    assert "plain: review" not in table.stdout


def test_dashboard_shows_the_review_state(reviewed, monkeypatch):
    monkeypatch.delenv("BETPIPE_DASHBOARD_TOKEN", raising=False)
    client = TestClient(create_app(reviewed, FakeClock(START, speed=1)),
                        base_url="http://127.0.0.1")
    state = client.get("/api/state").json()
    rows = {s["id"]: s for s in state["sessions"]}
    assert (rows["rev"]["review"], rows["due"]["review"], rows["plain"]["review"]) == (
        REV, DUE, None)
    page = client.get("/live").text
    assert html.escape(REV) in page and html.escape(DUE) in page  # as the template escapes
