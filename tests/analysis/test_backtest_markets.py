"""The backtest of AH and OU sessions on real football-data CSVs (DESIGN: markets → backtest
columns): bets, staked and profit equal figures worked out here from the raw rows with the
csv module and DESIGN's settlement rule written out again (never via markets.settle)."""
from __future__ import annotations

import pytest

from pipeline.analysis.backtest import load_matches, markets_of, run
from pipeline.core.config import Config
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.football_data import halves, price, rows

OLD = FOOTBALL_DATA / "E0_2004-05.csv"  # no AH columns
NEW = FOOTBALL_DATA / "E0_2019-20.csv"
STAKE = 10.0


def payout(margins, odds):
    """DESIGN's rule, written out: each part of the stake wins (d > 0), is void (d = 0) or
    loses; a quarter line is two half stakes."""
    parts = [STAKE / len(margins) * (odds if d > 0 else 1 if d == 0 else 0) for d in margins]
    return round(sum(parts), 2)


def expected_ah(paths, side_of):
    """(bets, staked, profit) of 10 a bet on the side `side_of(line, home, away)` names."""
    bets, staked, profit = 0, 0.0, 0.0
    for path in paths:
        for r in rows(path):
            line, h, a = (r.get("AHh"), price(r.get("B365AHH")), price(r.get("B365AHA")))
            try:
                line = float(line)
            except (TypeError, ValueError):
                continue
            if h is None or a is None:
                continue
            side = side_of(line, h, a)
            diff = int(r["FTHG"]) - int(r["FTAG"])
            ms = [diff + x if side == "home" else -diff - x for x in halves(line)]
            pay = payout(ms, h if side == "home" else a)
            bets += 1
            if any(m != 0 for m in ms):  # a wholly void bet is left out of staked
                staked += STAKE
            profit += round(pay - STAKE, 2)
    return bets, round(staked, 2), round(profit, 2)


def expected_ou(paths, side):
    bets, staked, profit = 0, 0.0, 0.0
    for path in paths:
        for r in rows(path):
            over, under = price(r.get("B365>2.5")), price(r.get("B365<2.5"))
            if over is None or under is None:
                continue
            total = int(r["FTHG"]) + int(r["FTAG"])
            d = total - 2.5 if side == "over" else 2.5 - total
            bets += 1
            staked += STAKE  # a half line is never void
            profit += round(payout([d], over if side == "over" else under) - STAKE, 2)
    return bets, round(staked, 2), round(profit, 2)


def backtest(paths, *sessions):
    config = Config.model_validate({"sessions": [
        {"bankroll": 1e6, "staking": {"plan": "flat", "stake": STAKE}, **s} for s in sessions]})
    loaded = load_matches(paths, "b365", markets=markets_of(config))
    return run(loaded.matches, config).report()


def fav(line, h, a):
    return "home" if line < 0 else "away" if line > 0 else ("home" if h <= a else "away")


@pytest.mark.skipif(not NEW.exists(), reason="needs ../shared/data/football-data")
def test_ah_and_ou_sessions_match_figures_worked_out_from_the_rows():
    paths = [OLD, NEW]
    report = backtest(paths, {"id": "ah-home", "market": "AH", "selection": "home"},
                      {"id": "ah-fav", "market": "AH", "selection": "favourite"},
                      {"id": "ou-over", "market": "OU", "selection": "over"},
                      {"id": "ou-under", "market": "OU", "selection": "under"},
                      {"id": "x-home", "selection": "home"})
    cases = {"ah-home": expected_ah(paths, lambda line, h, a: "home"),
             "ah-fav": expected_ah(paths, fav),
             "ou-over": expected_ou(paths, "over"), "ou-under": expected_ou(paths, "under")}
    for sid, (bets, staked, profit) in cases.items():
        got = report[sid]
        assert (got["bets"], got["staked"], got["profit"]) == (bets, staked, profit), sid
        assert got["roi"] == pytest.approx(profit / staked, abs=1e-6)
    # 2004-05 has no AH columns: AH sessions skip its 380 matches, OU and 1X2 take them
    assert report["ah-home"]["bets"] == len(rows(NEW)) == 380
    assert report["ou-over"]["bets"] > 380 + 370 and report["x-home"]["bets"] == 760
    assert report["ah-home"]["staked"] < 3800  # some bets on whole lines were void
