"""`betpipe ledger archive --before DATE` through the real CLI: what moves, what the ledger keeps,
and that `sessions`, `export` and `history` give what they gave before the archive."""
from __future__ import annotations

import gzip
from datetime import date

import orjson
import pytest

from pipeline.core.archive import archive, history_events
from pipeline.core.checkpoint import Period
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger, read_events, read_records
from pipeline.core.state import replay
from pipeline.programs.track.program import Tracker
from pipeline.strategies import rules
from tests.kit.builders import (bet_at as bet, replay_lines, config_doc, KEY as A, ledger_events, match, odds_doc,
                                settle_at as settle)
from tests.kit.contracts import assert_contract
from tests.kit.programs import betpipe

B, C = "2024-25_Chelsea v Everton", "2024-25_Leeds v Fulham"


def a_home_with_history(home):
    """Day 1: A (s1) won +15, B (s2) lost -5; C (s1) placed, still open. Day 3: s2 reset."""
    atomic_write_json(home.system_config, config_doc(sessions=["s1", "s2"], bankroll=100))
    clock = FakeClock("2024-10-01T10:00:00Z")
    ledger = Ledger(home.ledger, clock)
    bet(ledger, clock, "s1", A, "R-A", odds=2.5, stake=10)
    bet(ledger, clock, "s2", B, "R-B", odds=3.0, stake=5)
    bet(ledger, clock, "s1", C, "R-C", odds=2.0, stake=7)
    settle(ledger, clock, "s1", A, "R-A", "won", 25.0, 15.0)
    settle(ledger, clock, "s2", B, "R-B", "lost", 0.0, -5.0)
    clock.set("2024-10-03T09:00:00Z")
    ledger.append({"type": "SESSION_RESET", "session": "s2"})
    return ledger


def sessions(home) -> dict:
    out = betpipe(home, "sessions", "--json")
    assert out.returncode == 0, out.stderr
    doc = orjson.loads(out.stdout)
    return {k: v for k, v in doc.items() if k not in ("ledger_seq", "now", "generated_at")}


def test_archive_moves_settled_bets_and_every_report_still_sees_them(home):
    a_home_with_history(home)
    seen = {"sessions": sessions(home), "export": betpipe(home, "export").stdout,
            "history": betpipe(home, "history", "--json").stdout}
    assert seen["export"].count("\n") == 4  # header + A, B, C

    out = betpipe(home, "ledger", "archive", "--before", "2024-10-02", "--json")
    assert out.returncode == 0, out.stderr
    report = orjson.loads(out.stdout)
    # moved: A's and B's intent, placement and settlement (seq 1, 2, 3, 4, 7, 8); kept: C's
    # intent and placement (5, 6: open), the reset of day 3 (9); the CHECKPOINT gets seq 10
    assert (report["archived"], report["kept"], report["checkpoint"]) == (6, 3, 10)
    events = ledger_events(home)
    assert [e["seq"] for e in events] == [5, 6, 9, 10]
    checkpoint = events[-1]
    assert checkpoint["type"] == "CHECKPOINT"
    assert_contract("bet-record-event", checkpoint)
    archived = gzip.decompress((home.data / checkpoint["archive"]).read_bytes()).splitlines()
    assert [orjson.loads(line)["seq"] for line in archived] == [1, 2, 3, 4, 7, 8]

    assert sessions(home) == seen["sessions"]
    assert betpipe(home, "export").stdout == seen["export"]
    assert betpipe(home, "history", "--json").stdout == seen["history"]
    money = {r["session"]: (r["bets"], r["open_bets"], r["staked"], r["profit"], r["bankroll"],
                            r["free_bankroll"], r["since_reset"]["bets"])
             for r in seen["sessions"]["sessions"]}
    # s1: A 10 won +15, C 7 open; s2: B 5 lost -5, reset after it (0 bets since)
    assert money == {"s1": (2, 1, 17.0, 15.0, 115.0, 108.0, 2), "s2": (1, 0, 5.0, -5.0, 95.0, 95.0, 0)}
    history = betpipe(home, "history").stdout
    assert "R-A" in history and "R-B" in history and "CHECKPOINT" not in history


def test_archive_twice_and_then_nothing_more_to_move(home):
    ledger = a_home_with_history(home)
    first = orjson.loads(betpipe(home, "ledger", "archive", "--before", "2024-10-02",
                                 "--json").stdout)
    clock = FakeClock("2024-10-04T10:00:00Z")
    ledger = Ledger(home.ledger, clock)
    settle(ledger, clock, "s1", C, "R-C", "lost", 0.0, -7.0)
    export = betpipe(home, "export").stdout
    out = betpipe(home, "ledger", "archive", "--before", "2024-10-06")
    assert out.returncode == 0 and "archived 4 events" in out.stdout, out.stdout
    events = ledger_events(home)
    assert [e["type"] for e in events] == ["CHECKPOINT"]  # everything settled: all moved
    assert events[0]["seq"] > first["checkpoint"] + 1  # after C's settlement: seqs go on
    assert len(list((home.data / "archive").glob("bet-record-*.jsonl.gz"))) == 2
    assert betpipe(home, "export").stdout == export
    again = betpipe(home, "ledger", "archive", "--before", "2024-10-06")
    assert again.returncode == 0 and "nothing settled before 2024-10-06" in again.stdout
    assert ledger_events(home) == events
    # the next event follows the checkpoint's seq
    nxt = Ledger(home.ledger, clock).append({"type": "SESSION_RESET", "session": "s1"})[0]
    assert nxt.seq == events[0]["seq"] + 1


def test_bad_input_is_refused_with_the_reason(home):
    out = betpipe(home, "ledger", "archive", "--before", "2024-13-01")
    assert out.returncode == 2 and "'2024-13-01' is not a date YYYY-MM-DD" in out.stderr
    out = betpipe(home, "ledger", "archive", "--before", "2024-10-01")
    assert out.returncode == 2 and "there is no ledger" in out.stderr
    a_home_with_history(home)
    with open(home.ledger, "r+b") as f:  # a line that does not parse, not the last
        f.seek(5)
        f.write(b"#")
    out = betpipe(home, "ledger", "archive", "--before", "2024-10-02")
    assert out.returncode == 2 and "bet-record.jsonl" in out.stderr
    assert "nothing was moved" in out.stderr
    assert not (home.data / "archive").exists()


def review_from_raw(events: list[dict], session: str) -> tuple[int, float, float]:
    """(bets, staked, profit) of the session's settled non-void bets since its last reset,
    added up here from the raw events (stakes from BET_PLACED)."""
    stake = {e["decision_id"]: e["stake"] for e in events if e["type"] == "BET_PLACED"}
    n, staked, profit = 0, 0.0, 0.0
    for e in events:
        if e["type"] == "SESSION_RESET" and e["session"] == session:
            n, staked, profit = 0, 0.0, 0.0
        elif e["type"] == "BET_SETTLED" and e["session"] == session and e["outcome"] != "void":
            n, staked, profit = n + 1, staked + stake[e["decision_id"]], profit + e["profit"]
    return n, round(staked, 2), round(profit, 2)


def test_a_review_still_halts_on_bets_an_archive_moved(home):
    """review after 3 settled bets, min_roi 0: A (10 @ 2.0) and B (5 @ 3.0) lose on day 1 and
    are archived; C (8 @ 2.5) wins on day 3. Its settlement brings the third bet in: -3 on 23
    staked is below 0, so track writes the review halt with it (C alone: +12 on 8)."""
    doc = config_doc(bankroll=100)
    doc["sessions"][0]["review"] = {"after_bets": 3, "min_roi": 0.0}
    atomic_write_json(home.system_config, doc)
    cfg = Config.model_validate(doc)
    clock = FakeClock("2024-10-01T10:00:00Z")
    ledger = Ledger(home.ledger, clock)
    bet(ledger, clock, "s1", A, "R-A", odds=2.0, stake=10)
    bet(ledger, clock, "s1", B, "R-B", odds=3.0, stake=5)
    bet(ledger, clock, "s1", C, "R-C", odds=2.5, stake=8)
    settle(ledger, clock, "s1", A, "R-A", "lost", 0.0, -10.0)
    settle(ledger, clock, "s1", B, "R-B", "lost", 0.0, -5.0)
    clock.set("2024-10-03T09:00:00Z")
    report = archive(ledger, date(2024, 10, 2))
    assert report["archived"] == 6  # A's and B's intent, placement and settlement
    kept = read_records(home.ledger)  # the lines as written
    assert not [e for e in kept if e["type"] == "BET_SETTLED"] and kept[-1]["type"] == "CHECKPOINT"
    sb = replay_lines(kept).sessions["s1"]
    assert rules.review_figures(sb) == review_from_raw(history_events(home.ledger), "s1") == (
        2, 15.0, -15.0)
    assert rules.review_state(cfg.session("s1"), sb) == "review: 2/3 bets, roi -1.0000 < 0"

    tracker = Tracker(home, ledger, clock)
    c_won = match(C, status="finished", odds=None, result={"home_goals": 0, "away_goals": 2})
    clock.advance(60)
    out = tracker.run_pass(odds_doc(c_won), cfg)
    n, staked, profit = review_from_raw(history_events(home.ledger), "s1")
    assert (n, staked, profit) == (3, 23.0, -3.0)
    assert [(e.kind, getattr(e, "reason", None)) for e in out] == [("BET_SETTLED", None),
                                                         ("SESSION_HALTED", "review")]
    assert out[1].detail == (f"{n} settled bets since the reset, roi {profit / staked:.4f} "
                                f"< min_roi 0")
    assert_contract("bet-record-event", out[1].to_dict())
    book = replay(read_events(home.ledger))
    assert rules.review_figures(book.sessions["s1"]) == (n, staked, profit)
    assert book.sessions["s1"].halted == "review"


def test_a_checkpoint_without_the_review_figures_is_refused_naming_them():
    doc = Period().to_json()
    assert Period.from_json(doc).decided == (0, 0.0, 0.0)
    del doc["decided"]
    with pytest.raises(ValueError, match="CHECKPOINT: a session's period has no 'decided'"):
        Period.from_json(doc)
