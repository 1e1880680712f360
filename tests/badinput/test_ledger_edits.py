"""Hand edits of the ledger against the real `betpipe track` (issue 15, defects 1 and 4; DESIGN:
Files, the append-only ledger; invariants 1, 2, 9): a last line that lost its newline is ended,
never cut, and every bet settles once after its placement; a line that parses but is no event and
a UTF-8 BOM stop nothing and are reported once."""
from __future__ import annotations

import subprocess
import sys

import orjson

from pipeline.core.clock import FakeClock, anchor
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.timefmt import parse_iso
from tests.badinput.programs import Program
from tests.kit.builders import config_doc, decisions_doc, match, odds_doc, T0
from tests.kit.contracts import SHARED

A, B = "2024-25_Southampton v Arsenal", "2024-25_Everton v Chelsea"
BOM = b"\xef\xbb\xbf"


def place(ledger: Ledger, key: str, bet_ref: str, odds: float) -> None:
    did = f"s1|{key}|1X2"
    common = {"session": "s1", "decision_id": did, "client_ref": f"{did}#1", "match_key": key,
              "selection": "away", "odds": odds, "stake": 10.0}
    ledger.append({"type": "BET_INTENDED", **common, "attempt": 1, "mode": "paper"},
                  {"type": "BET_PLACED", **common, "bet_ref": bet_ref})


def finished(key: str, home_goals: int, away_goals: int) -> dict:
    return match(key, status="finished", odds=None,
                 result={"home_goals": home_goals, "away_goals": away_goals})


def lines(data: bytes) -> list[dict]:
    """Every line of the ledger's bytes that parses (a BOM left aside)."""
    out = []
    for line in data.removeprefix(BOM).split(b"\n"):
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pass
    return out


def events(data: bytes) -> list[dict]:
    return [e for e in lines(data) if isinstance(e, dict) and "seq" in e and "type" in e]


def settled_once_after_placement(evs: list[dict]) -> dict[str, float]:
    """bet_ref -> profit, asserting each BET_SETTLED follows its BET_PLACED and comes once."""
    placed, profit = set(), {}
    for ev in evs:
        if ev["type"] == "BET_PLACED":
            placed.add(ev["bet_ref"])
        elif ev["type"] == "BET_SETTLED":
            assert ev["bet_ref"] in placed, f"settled without its placement: {ev}"
            assert ev["bet_ref"] not in profit, f"settled twice: {ev}"
            profit[ev["bet_ref"]] = ev["profit"]
    return profit


def start_home(home):
    anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, config_doc())
    atomic_write_json(home.decisions, decisions_doc())
    atomic_write_json(home.odds, odds_doc(match(A), match(B), version=1))
    ledger = Ledger(home.ledger, FakeClock(T0))
    place(ledger, A, "P-1", 2.5)
    place(ledger, B, "P-2", 2.0)
    return ledger


def open_bets(home) -> int | None:
    return ((read_snapshot(home.results) or {}).get("sessions", {}).get("s1", {})
            .get("open_bets"))


def odds_read(track: Program, version: int) -> None:
    track.wait_health(lambda h: h.get("odds_version") == version, f"odds version {version}")


def test_a_last_line_without_its_newline_is_ended_and_every_bet_settles_once(home, tmp_path):
    start_home(home)
    track = Program("track", home, tmp_path / "track.log")
    try:
        odds_read(track, 1)
        track.wait_health(lambda _h: open_bets(home) == 2, "both bets open in results.json")
        with open(home.ledger, "r+b") as f:  # `truncate -s -1`: the BET_PLACED of P-2 loses \n
            f.truncate(home.ledger.stat().st_size - 1)
        edited = home.ledger.read_bytes()
        assert [e["seq"] for e in lines(edited)] == [1, 2, 3, 4]

        atomic_write_json(home.odds, odds_doc(finished(A, 0, 1), match(B), version=2))
        odds_read(track, 2)
        data = home.ledger.read_bytes()
        assert data.startswith(edited + b"\n"), "the complete last line was cut"
        assert [(e["seq"], e["type"]) for e in lines(data)][3:] == [(4, "BET_PLACED"),
                                                                   (5, "BET_SETTLED")]
        atomic_write_json(home.odds, odds_doc(finished(A, 0, 1), finished(B, 1, 0), version=3))
        odds_read(track, 3)
        track.wait_health(lambda _h: open_bets(home) == 0, "no bet open in results.json")
        assert track.stop() == 0
    finally:
        track.kill()
    data = home.ledger.read_bytes()
    assert data.startswith(edited + b"\n") and data.endswith(b"\n")
    evs = lines(data)
    assert [e["seq"] for e in evs] == [1, 2, 3, 4, 5, 6]  # strictly increasing, none reused
    profit = settled_once_after_placement(evs)
    assert profit == {"P-1": 15.0, "P-2": -10.0}  # 10 @ 2.5 won; 10 on the away side, lost
    doc = read_snapshot(home.results)
    assert doc["total"]["profit"] == 5.0 and doc["sessions"]["s1"]["bets"] == 2
    assert track.count("pass.failed") == 0
    check = subprocess.run([sys.executable, str(SHARED / "tools" / "check-home.py"),
                            str(home.root), "--need-placed", "2", "--need-settled", "2"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_hand_written_line_and_a_bom_stop_no_settlement_and_are_reported_once(home, tmp_path):
    start_home(home)
    home.ledger.write_bytes(BOM + home.ledger.read_bytes())  # saved by an editor
    with open(home.ledger, "ab") as f:  # line 5, the last: parses, but is no event
        f.write(b'{"note": "P-2 checked by hand"}\n')
    track = Program("track", home, tmp_path / "track.log")
    try:
        odds_read(track, 1)
        track.wait_health(lambda _h: open_bets(home) == 2, "both bets open in results.json")
        atomic_write_json(home.odds, odds_doc(finished(A, 0, 1), match(B), version=2))
        odds_read(track, 2)
        with open(home.ledger, "ab") as f:  # line 7: not an object
            f.write(b'["another", "note"]\n')
        atomic_write_json(home.odds, odds_doc(finished(A, 0, 1), finished(B, 1, 0), version=3))
        odds_read(track, 3)
        track.wait_health(lambda _h: open_bets(home) == 0, "no bet open in results.json")
        assert track.stop() == 0
    finally:
        track.kill()
    data = home.ledger.read_bytes()
    assert data.startswith(BOM)
    evs = events(data)
    assert [e["seq"] for e in evs] == [1, 2, 3, 4, 5, 6]
    assert settled_once_after_placement(evs) == {"P-1": 15.0, "P-2": -10.0}
    assert read_snapshot(home.results)["total"]["profit"] == 5.0
    skipped = track.logs("file.line_skipped")
    assert sorted((r["file"], r["line"]) for r in skipped) == [(str(home.ledger), 5),
                                                               (str(home.ledger), 7)]
    assert "seq" in skipped[0]["reason"]
    assert track.count("pass.failed") == 0
    # degraded by the reconciliation only: these bets were written here, not placed at the
    # paper bookmaker
    assert [r for r in track.logs("degraded") if "reconcile" not in r["reason"]] == []
