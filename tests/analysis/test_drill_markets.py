"""The drill's market and line factors on a backtest of an AH, a 1X2 and an OU session over a
real football-data CSV: per group count, won, staked and profit equal figures worked out here
from the raw rows with the csv module and DESIGN's settlement rule written out again."""
from __future__ import annotations

from collections import defaultdict

import pytest

from pipeline.analysis.backtest import load_matches, markets_of, run
from pipeline.analysis.drill import drill, records_from_backtest
from pipeline.core.config import Config
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.football_data import halves, price, rows

NEW = FOOTBALL_DATA / "E0_2019-20.csv"
STAKE = 10.0


def ah_label(line: float) -> str:
    return "0" if line == 0 else f"{line:+g}"


def expected() -> dict:
    """(market, line label) -> [count, won, staked, profit]: 10 on the AH favourite (the side
    giving goals; line 0: the lower price, tie home) and 10 on the 1X2 home side, B365."""
    out: dict = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for r in rows(NEW):
        diff = int(r["FTHG"]) - int(r["FTAG"])
        h = price(r.get("B365H"))
        if h is not None:
            g = out["1X2", "n/a"]
            won = r["FTR"] == "H"
            g[0] += 1
            g[1] += won
            g[2] += STAKE
            g[3] += round(STAKE * h, 2) - STAKE if won else -STAKE
        line, ah, aa = r.get("AHh"), price(r.get("B365AHH")), price(r.get("B365AHA"))
        if not line or ah is None or aa is None:
            continue
        line = float(line)
        side = "home" if line < 0 else "away" if line > 0 else ("home" if ah <= aa else "away")
        odds = ah if side == "home" else aa
        margins = [diff + x if side == "home" else -diff - x for x in halves(line)]
        part = STAKE / len(margins)
        pay = round(sum(part * (odds if d > 0 else 1 if d == 0 else 0) for d in margins), 2)
        g = out["AH", ah_label(line)]
        g[0] += 1
        g[1] += any(d > 0 for d in margins)  # won or half won: DESIGN's hit
        g[2] += 0.0 if all(d == 0 for d in margins) else STAKE  # a wholly void bet: not staked
        g[3] += round(pay - STAKE, 2)
    return {k: [c, w, round(s, 2), round(p, 2)] for k, (c, w, s, p) in out.items()}


def figures(groups) -> dict:
    return {tuple(g.values.values()): [g.count, g.won, g.staked, pytest.approx(g.profit, abs=1e-6)]
            for g in groups}


@pytest.mark.skipif(not NEW.exists(), reason="needs ../shared/data/football-data")
def test_market_and_line_factors_of_an_ah_and_a_1x2_session():
    config = Config.model_validate({"sessions": [
        {"bankroll": 1e6, "staking": {"plan": "flat", "stake": STAKE}, **s} for s in (
            {"id": "ah-fav", "market": "AH", "selection": "favourite"},
            {"id": "x-home", "selection": "home"},
            {"id": "ou-over", "market": "OU", "selection": "over"})]})
    bt = run(load_matches([NEW], "b365", markets=markets_of(config)).matches, config)
    records = (records_from_backtest(bt, "ah-fav", "b365")
               + records_from_backtest(bt, "x-home", "b365"))
    want = expected()
    assert want["1X2", "n/a"][0] == 380 and sum(v[0] for k, v in want.items() if k[0] == "AH") == 380

    by_line = drill(records, ["market", "line"])
    assert figures(by_line) == {k: [c, w, s, pytest.approx(p, abs=0.006)]
                                for k, (c, w, s, p) in want.items()}
    ah_lines = [float(g.values["line"]) for g in by_line if g.values["market"] == "AH"]
    assert [g.values["market"] for g in by_line][0] == "1X2" and ah_lines == sorted(ah_lines)
    assert len(ah_lines) >= 5  # the season's lines are spread over several groups

    by_market = drill(records, ["market"])
    per_market: dict = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for (market, _), v in want.items():
        per_market[market] = [a + b for a, b in zip(per_market[market], v)]
    assert figures(by_market) == {(m,): [c, w, round(s, 2), pytest.approx(p, abs=0.006)]
                                  for m, (c, w, s, p) in per_market.items()}
    assert [g.values["market"] for g in by_market] == ["1X2", "AH"]
    # the session's own figures agree (staked and profit; the backtest's `won` is full wins only)
    ah = by_market[1]
    assert (ah.staked, ah.profit) == pytest.approx((bt.report()["ah-fav"]["staked"],
                                                    bt.report()["ah-fav"]["profit"]), abs=0.006)

    # a line filter, the favourite role of AH, and a record's JSON carrying market and line
    minus_half = drill(records, ["role"], where={"line": "-0.5"})
    assert [g.values["role"] for g in minus_half] == ["favourite"]
    assert minus_half[0].count == want["AH", "-0.5"][0]
    assert all(r.selection == "home" for r in minus_half[0].records)
    j = minus_half[0].records[0].to_json()
    assert (j["market"], j["line"]) == ("AH", -0.5)

    # OU: over/under are selections of their own, the line is the goals line
    ou = drill(records_from_backtest(bt, "ou-over", "b365"), ["selection", "line", "role"])
    assert [tuple(g.values.values()) for g in ou] == [("over", "2.5", "n/a")]
    assert ou[0].count == sum(1 for r in rows(NEW) if price(r.get("B365>2.5"))
                              and price(r.get("B365<2.5")))
