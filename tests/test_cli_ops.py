"""`betpipe export`: placed bets as CSV for accounting, through the real CLI."""
from __future__ import annotations

import csv
import io

from pipeline.core.clock import FakeClock
from pipeline.core.ledger import Ledger
from pipeline.cli.ops import EXPORT_COLUMNS
from tests.kit.builders import at, bet_at as bet, settle_at as settle
from tests.kit.programs import betpipe

A, B = "2024-25_Southampton v Arsenal", "2024-25_Chelsea v Everton"


def test_export_writes_every_placed_bet_with_its_settlement(home, tmp_path):
    clock = FakeClock(at(0))
    ledger = Ledger(home.ledger, clock)
    bet(ledger, clock, "s1", A, "P-1", odds=2.5)
    bet(ledger, clock, "s2", A, "P-2", stake=5)
    ledger.append({"type": "SESSION_RESET", "session": "s1"})  # earlier bets are still exported
    bet(ledger, clock, "s1", B, "P-3")  # stays open
    settle(ledger, clock, "s1", A, "P-1", "won", 25.0, 15.0)
    settle(ledger, clock, "s2", A, "P-2", "lost", 0.0, -5.0)
    out = betpipe(home, "export")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.stdout.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert [(r["session"], r["bet_ref"], r["outcome"], r["payout"], r["profit"]) for r in rows] == [
        ("s1", "P-1", "won", "25.00", "15.00"), ("s2", "P-2", "lost", "0.00", "-5.00"),
        ("s1", "P-3", "", "", "")]
    first = rows[0]
    assert (first["placed_at"], first["decision_id"], first["match_key"], first["selection"],
            first["odds"], first["stake"]) == (at(1), f"s1|{A}|1X2", A, "away", "2.5", "10.00")
    assert first["settled_at"] == at(3 + 3600) and rows[2]["settled_at"] == ""

    target = tmp_path / "s1.csv"
    out = betpipe(home, "export", "--session", "s1", "--out", str(target))
    assert out.returncode == 0 and out.stdout == ""
    assert [r["bet_ref"] for r in csv.DictReader(target.open())] == ["P-1", "P-3"]


def test_export_of_an_empty_home_is_the_header(home):
    out = betpipe(home, "export")
    assert out.returncode == 0 and out.stdout == ",".join(EXPORT_COLUMNS) + "\n"
