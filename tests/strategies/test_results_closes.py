"""results.json's per-bet list (`closes`) names each bet's market and line (issue 17)."""
from __future__ import annotations

from pipeline.core.state import replay
from pipeline.strategies.clv import Clv
from pipeline.strategies.settlement import results_body
from tests.kit.builders import replay_lines


def placed(seq: int, market: str, selection: str, line: float | None) -> dict:
    ts = "2024-10-05T10:00:00Z"
    return {"type": "BET_PLACED", "session": "s1", "decision_id": f"d{seq}",
            "client_ref": f"d{seq}#1", "bet_ref": f"b{seq}", "odds": 1.9, "stake": 10.0,
            "match_key": f"m{seq}", "market": market, "selection": selection, "line": line,
            "placed_at": ts, "seq": seq, "ts": ts}


def test_closes_carry_market_and_line():
    book = replay_lines([placed(1, "AH", "away", -0.75), placed(2, "1X2", "home", None),
                   placed(3, "OU", "under", 2.5), placed(4, "AH", "home", 0.0)])
    c = Clv(2.0, -0.05, -0.04)
    body = results_body(book, None, {"b1": c, "b2": c, "b3": c, "b4": c})
    assert {ref: (e.get("market"), e.get("line", "none")) for ref, e in body["closes"].items()} \
        == {"b1": ("AH", -0.75), "b2": ("1X2", "none"), "b3": ("OU", 2.5), "b4": ("AH", 0.0)}
    assert body["closes"]["b1"]["clv"] == -0.05
