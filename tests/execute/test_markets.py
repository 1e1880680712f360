"""AH and OU bets through the executor, the paper bookmaker, the tracker and the reports
(DESIGN: markets): intents and placements carry market and line, the tracker settles by the
match result with quarter lines, reports leave void bets out of staked and ROI."""
from __future__ import annotations

import pytest

from pipeline.bookmakers.paper import PaperBookmaker
from pipeline.cli.ops import export_rows
from pipeline.core.events import BetIntended
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.state import Bet, SessionBook, replay
from pipeline.strategies.settlement import figures, settle
from tests.kit.builders import (replay_lines, at, config, decision, KEY, ledger_events, match, odds_doc, of_type,
                                T0)
from tests.kit.contracts import assert_contract
from tests.kit.programs import executor

HANDICAP = [{"line": -0.75, "home": 1.92, "away": 1.98}, {"line": -0.5, "home": 1.70,
                                                         "away": 2.20}]
TOTALS = [{"line": 2.5, "over": 1.85, "under": 2.05}]


def market_match(**kw):
    m = match(**kw)
    m["handicap"], m["totals"] = HANDICAP, TOTALS
    return m


def ah_decision(selection="home", line=-0.75, odds=1.92, market="AH"):
    d = decision(selection=selection, odds=odds, min_odds=round(odds * 0.98, 2))
    d.update(id=f"s1|{KEY}|{market}", market=market, line=line)
    return d


@pytest.fixture
def clock():
    return FakeClock(at(60))


@pytest.mark.parametrize("d, price", [(ah_decision(), 1.92),
                                      (ah_decision("away", -0.5, 2.20), 2.20),
                                      (ah_decision("under", 2.5, 2.05, "OU"), 2.05)])
def test_intent_and_placement_carry_market_and_line_and_fill_at_that_lines_price(home, clock, d,
                                                                                  price):
    atomic_write_json(home.odds, odds_doc(market_match()))
    paper = PaperBookmaker(home, clock)
    executor(home, clock, paper).run_pass([d], odds_doc(market_match()), config())
    evs = ledger_events(home)
    assert [e["type"] for e in evs] == ["BET_INTENDED", "BET_PLACED"]
    for ev in evs:
        assert_contract("bet-record-event", ev)
        assert (ev["market"], ev["selection"], ev["line"]) == (d["market"], d["selection"],
                                                                d["line"])
    assert evs[1]["odds"] == price
    bet = replay_lines(evs).placed[d["id"]]
    assert (bet.market, bet.line) == (d["market"], d["line"])


def test_a_line_no_longer_offered_is_not_placed(home, clock):
    moved = match()
    moved["handicap"] = [{"line": -1.0, "home": 2.1, "away": 1.8}]
    atomic_write_json(home.odds, odds_doc(moved))
    paper = PaperBookmaker(home, clock)
    d = ah_decision()
    intent = BetIntended(session=d["session"], decision_id="d", client_ref="c#1", attempt=1,
                         match_key=d["match_key"], market=d["market"], selection=d["selection"],
                         odds=1.92, min_odds=d["min_odds"], stake=d["stake"], line=d["line"])
    placement = paper.place(__import__("pipeline.programs.execute.engine", fromlist=["x"])
                            .order_of(intent))
    assert (placement.ok, placement.reason) == (False, "line_changed")
    # and the executor's controls see no price on sale for the old line
    executor(home, clock, paper).run_pass([ah_decision()], odds_doc(moved), config())
    assert of_type(ledger_events(home), "BET_PLACED") == []
    assert of_type(ledger_events(home), "BET_REFUSED")[0]["reason"] == "no price on sale"


def ah_bet(selection, line, odds=2.0, stake=10.0, market="AH") -> Bet:
    return Bet(f"s1|{KEY}|{market}", "s1", "c#1", "P-1", KEY, selection, odds, stake, T0, 2,
               market=market, line=line)


def finished(h, a):
    return match(status="finished", odds=None, result={"home_goals": h, "away_goals": a})


# (market, selection, line, score, outcome, payout) at odds 2.0, stake 10: worked by hand
@pytest.mark.parametrize("market, selection, line, score, outcome, payout", [
    ("AH", "home", -0.75, (2, 1), "half_won", 15.0),   # -0.5 wins, -1 void
    ("AH", "home", -0.75, (3, 1), "won", 20.0),
    ("AH", "away", -0.75, (2, 1), "half_lost", 5.0),   # away +0.5 loses, +1 void
    ("AH", "away", -0.25, (1, 1), "half_won", 15.0),   # away +0 void, +0.5 wins
    ("AH", "home", 0, (0, 0), "void", 10.0),
    ("AH", "home", 0.25, (0, 1), "lost", 0.0),
    ("OU", "over", 2.25, (1, 1), "half_lost", 5.0),    # 2 void, 2.5 lost
    ("OU", "under", 2.75, (2, 1), "half_lost", 5.0),   # 2.5 lost, 3 void
    ("OU", "over", 2.75, (2, 1), "half_won", 15.0),    # 2.5 won, 3 void
    ("OU", "over", 2.5, (2, 1), "won", 20.0),
])
def test_track_settles_ah_and_ou_by_the_result(market, selection, line, score, outcome, payout):
    s = settle(ah_bet(selection, line, market=market), finished(*score))
    assert (s.outcome, s.payout, s.profit) == (outcome, payout, round(payout - 10, 2))
    assert (s.market, s.line) == (market, line)
    assert_contract("bet-record-event", {**s.to_dict(), "seq": 3, "ts": T0})


def test_reports_leave_void_bets_out_of_staked_and_count_half_wins_as_hits():
    sb = SessionBook("s1")
    rows = [("won", 10, 20.0), ("half_won", 10, 15.0), ("void", 30, 30.0),
            ("half_lost", 10, 5.0), ("lost", 10, 0.0)]
    for i, (outcome, stake, payout) in enumerate(rows, 1):
        b = Bet(f"d{i}", "s1", f"c{i}", f"P-{i}", KEY, "home", 2.0, float(stake), T0, i,
                outcome, payout, payout - stake, at(i), 10 + i, market="AH", line=-0.25)
        sb.bets.append(b)
        sb.settled.append(b)
    f = figures(sb, 1000)
    assert f["bets"] == 5
    assert f["staked"] == 40.0                           # the void 30 left out
    assert f["profit"] == 10 + 5 + 0 - 5 - 10
    assert f["roi"] == pytest.approx(0 / 40)
    assert f["hit_rate"] == pytest.approx(2 / 4)         # won + half_won over non-void


def test_export_shows_market_and_line(home, clock):
    atomic_write_json(home.odds, odds_doc(market_match()))
    executor(home, clock, PaperBookmaker(home, clock)).run_pass(
        [ah_decision(), decision()], odds_doc(market_match()), config())
    rows = {r["decision_id"]: r for r in export_rows(ledger_events(home))}
    assert (rows[f"s1|{KEY}|AH"]["market"], rows[f"s1|{KEY}|AH"]["line"]) == ("AH", "-0.75")
    assert (rows[f"s1|{KEY}|1X2"]["market"], rows[f"s1|{KEY}|1X2"]["line"]) == ("1X2", "")
