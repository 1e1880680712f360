"""The backtest runs the executor's risk controls (strategies.controls): a match-exposure limit
refuses the bets the CSV rows say it must, a session-exposure limit caps the open stake, and the
controls the backtest leaves out (BACKTEST_PASSES) change nothing when run."""
from __future__ import annotations

import csv

import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.core.config import Config
from pipeline.strategies.controls import BACKTEST_PASSES, CONTROLS
from tests.kit.contracts import FOOTBALL_DATA

SEASON = FOOTBALL_DATA / "E0_2019-20.csv"
pytestmark = pytest.mark.skipif(not SEASON.exists(), reason="no CSVs")


def rows(n: int) -> list[dict]:
    with SEASON.open(newline="", encoding="utf-8-sig") as f:
        return [r for _, r in zip(range(n), csv.DictReader(f))]


def matches(n: int):
    return [m for m in load_matches([SEASON], "b365").matches if m.order < n]


def test_a_match_exposure_limit_refuses_the_bet_that_would_exceed_it():
    # "home" bets 10 on every home price up to 2.0; "away" (after it in the config) bets 10 on
    # the away side but may not take the match's exposure above 15: refused wherever home bet
    config = Config.model_validate({"sessions": [
        {"id": "home", "selection": "home", "odds": {"max": 2.0},
         "staking": {"plan": "flat", "stake": 10}},
        {"id": "away", "selection": "away", "staking": {"plan": "flat", "stake": 10},
         "limits": {"max_exposure_match": 15}}]})
    raw = rows(60)
    bt = run(matches(60), config)
    home_bet = [r for r in raw if float(r["B365H"]) <= 2.0]
    away_bet = [r for r in raw if float(r["B365H"]) > 2.0]
    assert 10 < len(home_bet) < 50  # both kinds of match are there
    profit = round(sum(round(10 * (float(r["B365A"]) - 1), 2) if r["FTR"] == "A" else -10
                       for r in away_bet), 2)
    report = bt.report()
    assert (report["away"]["bets"], report["away"]["staked"]) == (len(away_bet),
                                                                  10.0 * len(away_bet))
    assert report["away"]["profit"] == profit
    assert report["home"]["bets"] == len(home_bet)
    refused = [(d["session"], r.control) for d, r in bt.refused]
    assert refused == [("away", "MatchExposure")] * len(home_bet)
    assert all("above max_exposure_match 15" in r.reason for _, r in bt.refused)
    # the same config without the limit: away bets on every match
    free = config.model_copy(update={"sessions": [
        config.sessions[0], config.sessions[1].model_copy(update={"limits": Config.model_validate(
            {"sessions": [{"id": "x", "selection": "away", "staking": {"plan": "flat",
                                                                       "stake": 1}}]}
        ).sessions[0].limits})]})
    assert run(matches(60), free).report()["away"]["bets"] == len(raw)


def test_a_session_exposure_limit_caps_the_stake_open_at_once():
    config = Config.model_validate({"sessions": [
        {"id": "fav", "selection": "favourite", "staking": {"plan": "flat", "stake": 10},
         "limits": {"max_exposure_session": 30}}]})
    bt = run(matches(100), config)
    by_kickoff: dict = {}
    for b, m in bt.bets("fav"):
        by_kickoff.setdefault(m.kickoff, []).append(b)
    # a Saturday 15:00 has more than three matches: three bets, the others refused
    assert max(len(v) for v in by_kickoff.values()) == 3
    assert bt.refused and all(r.control == "SessionExposure" for _, r in bt.refused)
    # at most 30 open at any kickoff: every bet placed before it settles after it
    for b, m in bt.bets("fav"):
        open_then = [x for x, n in bt.bets("fav")
                     if n.kickoff <= m.kickoff < n.settle_at]
        assert sum(x.stake for x in open_then) <= 30


@pytest.mark.parametrize("limits", [
    {"max_exposure_match": 25, "max_exposure_session": 60, "max_open_bets": 5},
    {"daily_loss": 15, "stop_loss": 80, "max_stake": 12, "max_exposure_session": 40},
])
def test_the_controls_left_out_would_pass_every_decision(limits):
    """BACKTEST_PASSES says why these cannot refuse here: running the whole chain agrees."""
    assert set(BACKTEST_PASSES) <= {c.NAME for c in CONTROLS}
    sessions = [{"id": f"{sel}-{plan}", "selection": sel, "staking": st, "bankroll": 400,
                 "limits": limits}
                for sel in ("favourite", "underdog", "draw")
                for plan, st in (("flat", {"plan": "flat", "stake": 10}),
                                 ("percent", {"plan": "percent", "percent": 4}))]
    config = Config.model_validate({"sessions": sessions})
    some, whole = run(matches(200), config), run(matches(200), config, leave_out=())
    assert some.refused  # these limits bite
    assert [(d["id"], r) for d, r in whole.refused] == [(d["id"], r) for d, r in some.refused]
    for s in sessions:
        assert [b for b, _ in whole.bets(s["id"])] == [b for b, _ in some.bets(s["id"])]
    assert whole.report() == some.report()
