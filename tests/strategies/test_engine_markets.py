"""AH and OU sessions in the decision engine (DESIGN: markets → session keys): the main line
inside the session's line bounds, the AH favourite/underdog side, odds bounds on the chosen
side's price, decisions carrying market and line; odds-data's handicap/totals checked."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.filebus import BadFile
from pipeline.core.files import check_decisions, check_odds
from pipeline.core.state import Book, SessionBook
from pipeline.strategies import staking
from pipeline.strategies.engine import check_snapshot, decide
from tests.kit.contracts import assert_contract
from tests.kit.engine import KEY, NOW, config, doc_of, match, sess, snapshot

HANDICAP = [{"line": -1.0, "home": 2.40, "away": 1.60},
            {"line": -0.75, "home": 2.02, "away": 1.86},   # |diff| 0.16
            {"line": -0.5, "home": 1.80, "away": 2.08},    # |diff| 0.28
            {"line": 0.25, "home": 1.40, "away": 3.00}]
TOTALS = [{"line": 2.25, "over": 1.75, "under": 2.15},  # |diff| 0.40
          {"line": 2.5, "over": 1.93, "under": 1.97},   # |diff| 0.04
          {"line": 2.75, "over": 2.15, "under": 1.75}]  # |diff| 0.40


def market_match(**over):
    m = match(**over)
    m["handicap"], m["totals"] = HANDICAP, TOTALS
    return m


def decisions_of(*sessions, m=None):
    out = decide(snapshot(m or market_match()), config(*sessions), Book(), NOW)
    assert_contract("decisions", doc_of(out))
    return out.decisions


@pytest.mark.parametrize("selection, line_bounds, side, line, price", [
    ("home", None, "home", -0.75, 2.02),            # the main line: smallest |home − away|
    ("away", None, "away", -0.75, 1.86),
    ("favourite", None, "home", -0.75, 2.02),        # line < 0: home gives goals
    ("underdog", None, "away", -0.75, 1.86),
    ("favourite", {"min": 0}, "away", 0.25, 3.00),    # only +0.25 in bounds: away gives goals
    ("underdog", {"min": -0.5, "max": 1}, "away", -0.5, 2.08),
    ("home", {"max": -1.0}, "home", -1.0, 2.40),      # bounds inclusive
])
def test_ah_sessions_take_the_main_line_in_bounds_and_their_side(selection, line_bounds, side,
                                                                 line, price):
    s = sess(market="AH", selection=selection, **({"line": line_bounds} if line_bounds else {}))
    [d] = decisions_of(s)
    assert (d["market"], d["selection"], d["line"], d["odds"]) == ("AH", side, line, price)
    assert d["id"] == f"fav|{KEY}|AH"
    own = line if side == "home" else -line  # the reason shows the side's own line
    assert f"{side} {own + 0.0:+g} {price:.2f}" in d["reason"]


def test_ah_at_line_zero_the_favourite_is_the_lower_price_tie_home():
    for prices, fav in (((1.95, 1.90), "away"), ((1.90, 1.95), "home"), ((1.9, 1.9), "home")):
        m = match()
        m["handicap"] = [{"line": 0, "home": prices[0], "away": prices[1]}]
        [d] = decisions_of(sess(market="AH", selection="favourite"), m=m)
        assert (d["selection"], d["line"]) == (fav, 0)
        [d] = decisions_of(sess(market="AH", selection="underdog"), m=m)
        assert d["selection"] == ("home" if fav == "away" else "away")


@pytest.mark.parametrize("selection, line_bounds, line, price", [
    ("over", None, 2.5, 1.93), ("under", None, 2.5, 1.97),
    ("over", {"min": 2.75}, 2.75, 2.15),
    # 2.25 and 2.75 tie on |diff|: the lower line
    ("under", {"min": 2.25, "max": 2.25}, 2.25, 2.15),
])
def test_ou_sessions_take_the_main_line(selection, line_bounds, line, price):
    s = sess(market="OU", selection=selection, **({"line": line_bounds} if line_bounds else {}))
    [d] = decisions_of(s)
    assert (d["market"], d["selection"], d["line"], d["odds"]) == ("OU", selection, line, price)
    assert d["id"] == f"fav|{KEY}|OU"


def test_ou_main_line_tie_goes_to_the_lower_line():
    m = match()
    m["totals"] = TOTALS[:1] + TOTALS[2:]
    [d] = decisions_of(sess(market="OU", selection="over"), m=m)
    assert d["line"] == 2.25


def test_odds_bounds_apply_to_the_chosen_sides_price_and_no_line_no_bet():
    assert decisions_of(sess(market="AH", selection="home", odds={"min": 2.1})) == []
    [d] = decisions_of(sess(market="AH", selection="away", odds={"max": 1.9}))
    assert d["odds"] == 1.86 and d["min_odds"] == pytest.approx(1.82)
    assert decisions_of(sess(market="AH", selection="home", line={"min": 1, "max": 2})) == []
    assert decisions_of(sess(market="OU", selection="over"), m=match()) == []  # none offered


def test_sessions_of_three_markets_bet_the_same_match_once_each():
    ss = [sess(id="x"), sess(id="a", market="AH", selection="home"),
          sess(id="o", market="OU", selection="under")]
    got = {d["id"]: d for d in decisions_of(*ss)}
    assert set(got) == {f"x|{KEY}|1X2", f"a|{KEY}|AH", f"o|{KEY}|OU"}
    assert "line" not in got[f"x|{KEY}|1X2"]


def test_a_match_with_only_handicap_prices_is_bet_by_ah_sessions_only():
    m = market_match(odds=None)
    out = decisions_of(sess(id="x"), sess(id="a", market="AH", selection="away"), m=m)
    assert [d["id"] for d in out] == [f"a|{KEY}|AH"]


@pytest.mark.parametrize("session", [sess(), sess(market="AH", selection="home"),
                                     sess(market="OU", selection="over")])
@pytest.mark.parametrize("status", ["live", "finished", "postponed", "void"])
def test_a_match_not_scheduled_gets_no_decision_though_priced(session, status):
    # in-play prices are on sale (HKJC keeps them, status live): never bet on
    assert len(decisions_of(session, m=market_match())) == 1  # the same match, scheduled: bet
    assert decisions_of(session, m=market_match(status=status)) == []


def test_kelly_on_ah_normalises_the_two_sides_of_the_line():
    entry = {"line": -0.75, "home": 2.02, "away": 1.86}
    p = (1 / 2.02) / (1 / 2.02 + 1 / 1.86)
    assert staking.implied_probability(entry, "home") == pytest.approx(p)
    assert staking.implied_probability({"line": 2.5, "over": 1.9, "under": 1.9},
                                       "under") == pytest.approx(0.5)
    s = sess(market="AH", selection="home",
             staking={"plan": "kelly", "fraction": 0.5, "edge": 0.1})
    [d] = decisions_of(s)
    f = (p * 1.1 * 2.02 - 1) / (2.02 - 1)
    assert d["stake"] == staking.floor2(0.5 * f * 1000)


# -- odds-data's handicap and totals: checked by the programs and by decide ------------------

@pytest.mark.parametrize("field, entries, where", [
    ("handicap", [{"line": -0.3, "home": 2.0, "away": 1.8}], ".handicap[0].line"),
    ("handicap", [{"line": 0.5, "home": 2.0, "away": 1.8},
                  {"line": -0.5, "home": 2.0, "away": 1.8}], ".handicap[1].line"),
    ("handicap", [{"line": 0.5, "home": 2.0, "away": 1.8},
                  {"line": 0.5, "home": 2.1, "away": 1.7}], ".handicap[1].line"),
    ("handicap", [{"line": 0.5, "home": 1.0, "away": 1.8}], ".handicap[0].home"),
    ("totals", [{"line": -0.5, "over": 2.0, "under": 1.8}], ".totals[0].line"),
    ("totals", [{"line": 2.5, "over": 2.0, "under": "1.8"}], ".totals[0].under"),
    ("totals", [{"line": True, "over": 2.0, "under": 1.8}], ".totals[0].line"),
    ("totals", {"line": 2.5}, ".totals"),
])
def test_bad_handicap_or_totals_is_refused_naming_the_json_path(field, entries, where):
    m = match()
    m[field] = entries
    doc = {"version": 1, "written_at": "2024-10-05T13:55:00Z", "source": "sandbox",
           "fetched_at": "2024-10-05T13:55:00Z", "matches": [m]}
    with pytest.raises(ValueError, match=r"^\$\.matches\[0\]" + where.replace(".", r"\.")
                       .replace("[", r"\[").replace("]", r"\]")):
        check_snapshot(doc)
    with pytest.raises(BadFile) as err:
        check_odds(doc, Path("odds-data.json"))
    assert f"$.matches[0]{where}:" in str(err.value)


def test_good_handicap_and_totals_pass_both_checks():
    doc = snapshot(market_match())
    check_snapshot(doc)
    assert check_odds(doc, Path("odds-data.json")) is doc


@pytest.mark.parametrize("over, where", [
    ({"market": "AH", "selection": "draw", "line": -0.5}, "selection"),
    ({"market": "OU", "selection": "over"}, "line"),
    ({"market": "OU", "selection": "over", "line": 2.6}, "line"),
    ({"market": "1X2", "selection": "home", "line": 0.5}, "line"),
    ({"market": "BTTS", "selection": "home"}, "market"),
])
def test_execute_refuses_decisions_whose_market_selection_or_line_dont_fit(over, where):
    [d] = decisions_of(sess())
    doc = {"decisions": [{**d, **over}]}
    with pytest.raises(BadFile, match=rf"decisions\[0\]\.{where}"):
        check_decisions(doc, Path("decisions.json"))
    [d] = decisions_of(sess(market="OU", selection="over"))
    assert check_decisions({"decisions": [d]}, Path("decisions.json")) == [d]


def test_staking_plans_read_half_results_as_wins_and_losses():
    from pipeline.core.config import Config
    from pipeline.core.state import Bet
    session = Config.model_validate({"sessions": [sess(staking={
        "plan": "martingale", "stake": 1, "factor": 2})]}).sessions[0]

    def next_stake(*outcomes):
        sb = SessionBook("fav")
        for i, o in enumerate(outcomes, 1):
            b = Bet(f"d{i}", "fav", f"c{i}", f"b{i}", "k", "home", 2.0, 1.0, "t", i, o)
            sb.bets.append(b)
            sb.settled.append(b)
        return staking.stake_for(session, sb, None, None).stake

    assert next_stake("lost", "half_lost") == 4.0      # two losses
    assert next_stake("lost", "half_won") == 1.0       # a win resets
    assert next_stake("lost", "void", "void") == 2.0   # void changes nothing
