"""AH and OU value from a goals model (issue 18; DESIGN: "Probabilities, models and value",
"Markets"): outcome probabilities of λ, μ, ρ against a double sum over a Dixon–Coles score
matrix written here (its own Poisson, τ and quarter-line settlement), the expected value per unit
staked, the growth-optimal kelly stake against a numerical maximisation done here, and value
sessions in the decision engine on the main line. Figures are worked out here from the numbers."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from scipy.optimize import minimize_scalar

from pipeline.core.config import parse_config
from pipeline.core.state import Book
from pipeline.strategies import goals as g
from pipeline.strategies.engine import Tables, decide
from pipeline.strategies.staking import growth_kelly
from tests.kit.contracts import assert_contract
from tests.kit.engine import config, doc_of, KEY, match, NOW, snapshot
from tests.kit.goals import direct

GOALS = [(1.62, 1.05, -0.11), (0.85, 1.9, 0.07), (2.9, 0.4, 0.0)]


@pytest.mark.parametrize("goals", GOALS)
@pytest.mark.parametrize("market, side, line", [
    ("AH", "home", -1.75), ("AH", "home", -0.75), ("AH", "away", -0.75), ("AH", "home", -0.5),
    ("AH", "away", 0.0), ("AH", "home", 0.25), ("AH", "away", 1.0), ("AH", "home", 1.25),
    ("OU", "over", 2.5), ("OU", "under", 2.5), ("OU", "over", 2.25), ("OU", "under", 2.75),
    ("OU", "over", 3.0), ("OU", "under", 0.5)])
def test_outcome_probabilities_equal_a_double_sum_over_the_score_matrix(goals, market, side,
                                                                         line):
    got = g.outcome_probabilities(market, side, line, goals)
    want = direct(market, side, line, goals)
    assert got == pytest.approx(want, abs=1e-12)
    assert sum(got.values()) == pytest.approx(1, abs=1e-12)


def test_expected_value_is_the_payout_formula_averaged():
    q = {"won": 0.3, "half_won": 0.2, "void": 0.1, "half_lost": 0.15, "lost": 0.25}
    # won: 1.9; half_won: 0.5 × 1.9 + 0.5; void: 1; half_lost: 0.5; lost: 0
    want = 0.3 * 1.9 + 0.2 * 1.45 + 0.1 * 1 + 0.15 * 0.5 - 1
    assert g.expected_value(q, 1.9) == pytest.approx(want, abs=1e-15)


def growth(q: dict, price: float, f: float) -> float:
    r = {"won": price - 1, "half_won": (price - 1) / 2, "void": 0, "half_lost": -0.5, "lost": -1}
    return sum(p * math.log(1 + f * r[o]) for o, p in q.items() if p)


@pytest.mark.parametrize("q, price", [
    ({"won": 0.45, "half_won": 0.1, "void": 0.0, "half_lost": 0.0, "lost": 0.45}, 2.05),
    ({"won": 0.40, "half_won": 0.0, "void": 0.0, "half_lost": 0.25, "lost": 0.35}, 2.4),
    ({"won": 0.40, "half_won": 0.0, "void": 0.25, "half_lost": 0.0, "lost": 0.35}, 2.0),
    ({"won": 0.6, "half_won": 0.1, "void": 0.0, "half_lost": 0.1, "lost": 0.2}, 1.9)])
def test_kelly_of_a_quarter_or_whole_line_maximises_the_expected_log_growth(q, price):
    f = growth_kelly(q, price)
    best = minimize_scalar(lambda x: -growth(q, price, x), bounds=(0, 0.999),
                           method="bounded", options={"xatol": 1e-10})
    assert f == pytest.approx(best.x, abs=1e-6) and f > 0
    if not q["half_won"] and not q["half_lost"]:  # whole line: kelly of the non-void bet
        p = q["won"] / (q["won"] + q["lost"])
        assert f == pytest.approx((p * price - 1) / (price - 1), abs=1e-10)


def test_no_kelly_stake_without_a_positive_expected_value():
    assert growth_kelly({"won": 0.45, "lost": 0.55}, 2.2) == 0.0  # EV −0.01
    assert growth_kelly({"won": 0.5, "lost": 0.5}, 2.0) == 0.0


def test_bad_goal_parameters_are_refused():
    with pytest.raises(g.GoalsError, match="τ is negative"):
        g.score_matrix(3.0, 2.0, 0.3)  # 1 − λμρ = −0.8
    with pytest.raises(g.GoalsError, match="μ > 0"):
        g.score_matrix(1.0, 0.0, 0.0)


# --------------------------------------------------------------------------- the engine

HANDICAP = [{"line": -0.75, "home": 2.02, "away": 1.86},   # main line (|diff| 0.16)
            {"line": -0.5, "home": 1.80, "away": 2.08}]
TOTALS = [{"line": 2.5, "over": 2.10, "under": 1.80}, {"line": 3.0, "over": 2.9, "under": 1.4}]
BALL = (1.95, 0.95, -0.05)  # a strong home side: λ 1.95, μ 0.95


def line_match(**over):
    m = match(**over)
    m["handicap"], m["totals"] = HANDICAP, TOTALS
    return m


def value_session(market, **over):
    s = {"id": "v", "market": market, "selection": "value", "probability": {"from": "model"},
         "odds": {"min": 1.5, "max": 5.0}, "min_edge": 0.02,
         "staking": {"plan": "kelly", "fraction": 0.5}, "bankroll": 1000}
    return {**s, **over}


def goal_tables(goals=BALL, fitted_at=NOW - timedelta(hours=1)):
    return Tables(model={}, goals={KEY: goals}, fitted_at=fitted_at)


def floor2(x: float) -> float:
    return math.floor(round(x * 100, 6) + 1e-9) / 100


def best_side(market, line, sides, prices):
    """(side, ev, outcomes) with the largest EV from the double sum, ties the first side."""
    best = None
    for side, price in zip(sides, prices):
        q = direct(market, side, line, BALL)
        ev = sum(q[o] * r for o, r in (("won", price), ("half_won", (price + 1) / 2),
                                       ("void", 1), ("half_lost", 0.5))) - 1
        if best is None or ev > best[1]:
            best = (side, ev, q, price)
    return best


@pytest.mark.parametrize("market, line, sides, prices", [
    ("AH", -0.75, ("home", "away"), (2.02, 1.86)),
    ("OU", 2.5, ("over", "under"), (2.10, 1.80))])
def test_a_model_value_session_bets_the_main_lines_best_ev_with_growth_kelly(market, line, sides,
                                                                            prices):
    side, ev, q, price = best_side(market, line, sides, prices)
    assert ev > 0.02  # the fixture has value on this line
    best = minimize_scalar(lambda x: -growth(q, price, x), bounds=(0, 0.999), method="bounded",
                           options={"xatol": 1e-12})
    out = decide(snapshot(line_match()), config(value_session(market)), Book(), NOW,
                 tables=goal_tables())
    assert_contract("decisions", doc_of(out))
    assert len(out.decisions) == 1, out.notes
    d = out.decisions[0]
    assert (d["market"], d["selection"], d["line"], d["odds"]) == (market, side, line, price)
    assert d["id"] == f"v|{KEY}|{market}"
    assert d["stake"] == pytest.approx(floor2(0.5 * best.x * 1000), abs=0.011)
    assert f"edge {ev:+.4f}" in d["reason"]
    # flat: the same pick; min_edge above its EV: no bet, a note
    flat = value_session(market, staking={"plan": "flat", "stake": 10})
    out = decide(snapshot(line_match()), config(flat), Book(), NOW, tables=goal_tables())
    assert [(x["selection"], x["stake"]) for x in out.decisions] == [(side, 10.0)]
    high = value_session(market, min_edge=round(ev + 0.001, 4))
    out = decide(snapshot(line_match()), config(high), Book(), NOW, tables=goal_tables())
    assert out.decisions == [] and out.notes["v"] == [
        f"no side priced inside the odds bounds with edge >= {round(ev + 0.001, 4):g}"]


def test_line_bounds_choose_the_line_and_its_own_side_stakes_with_p():
    # bounds keep only −0.5 (a half line: won or lost); a side of its own (not value): kelly
    # on the model's p; home has value there, away none
    s = value_session("AH", selection="home", line={"min": -0.5, "max": 0})
    out = decide(snapshot(line_match()), config(s), Book(), NOW, tables=goal_tables())
    p = direct("AH", "home", -0.5, BALL)["won"]
    d = out.decisions[0]
    assert (d["selection"], d["line"], d["odds"]) == ("home", -0.5, 1.80)
    assert d["stake"] == pytest.approx(floor2(0.5 * (p * 1.8 - 1) / 0.8 * 1000), abs=0.011)
    s = value_session("AH", selection="away", line={"min": -0.5, "max": 0})
    out = decide(snapshot(line_match()), config(s), Book(), NOW, tables=goal_tables())
    assert out.decisions == [] and out.notes["v"][0].startswith("kelly stake <= 0")


def test_no_goals_stale_goals_and_a_missing_reference_line_make_no_bet_with_a_note():
    snap = snapshot(line_match())
    out = decide(snap, config(value_session("OU")), Book(), NOW,
                 tables=Tables(model={}, goals={}, fitted_at=NOW))
    assert out.decisions == [] and out.notes["v"] == ["no model goals"]
    old = goal_tables(fitted_at=NOW - timedelta(hours=30))
    out = decide(snap, config(value_session("OU")), Book(), NOW, tables=old)
    assert out.notes["v"] == [
        "model probability older than the odds by more than max_probability_age_h 24"]
    ref = value_session("AH", probability={"from": "reference", "odds": "pinnacle"})
    lines = {("pinnacle", "multiplicative"): {KEY: {("AH", -0.5): {"home": 0.5, "away": 0.5}}}}
    out = decide(snap, config(ref), Book(), NOW, tables=Tables(reference={}, lines=lines))
    assert out.notes["v"] == ["no pinnacle reference prices at AH line -0.75"]
    # the same line: p × odds − 1 (away 0.56 × 1.86 − 1 = 0.0416)
    lines[("pinnacle", "multiplicative")][KEY][("AH", -0.75)] = {"home": 0.44, "away": 0.56}
    out = decide(snap, config(ref), Book(), NOW, tables=Tables(reference={}, lines=lines))
    d = out.decisions[0]
    assert (d["selection"], d["line"]) == ("away", -0.75) and "edge +0.0416" in d["reason"]
    assert d["stake"] == floor2(0.5 * (0.56 * 1.86 - 1) / 0.86 * 1000)


def test_value_on_ah_and_ou_loads_and_probabilities_json_goals_are_read():
    c = parse_config(b'{"sessions": [{"id": "a", "market": "AH", "selection": "value", '
                     b'"probability": {"from": "model"}, "staking": {"plan": "flat", '
                     b'"stake": 1}}, {"id": "o", "market": "OU", "selection": "under", '
                     b'"probability": {"from": "reference", "odds": "pinnacle"}, "staking": '
                     b'{"plan": "flat", "stake": 1}}]}', "c.json")
    assert [s.selection for s in c.sessions] == ["value", "under"]
    doc = {"model": {"fitted_at": "2024-10-05T12:00:00Z"}, "matches": [
        {"key": "a", "goals": {"home": 1.2, "away": 0.9, "rho": -0.1}},
        {"key": "b", "1X2": {"home": 0.5, "draw": 0.3, "away": 0.2},
         "goals": {"home": 1.5, "away": 1.1}}]}
    t = Tables.of_document(doc)
    assert t.goals == {"a": (1.2, 0.9, -0.1), "b": (1.5, 1.1, 0.0)}  # no rho: independent
    assert t.model == {"b": (0.5, 0.3, 0.2)}


def test_a_probabilities_file_with_a_bad_rho_is_refused_naming_the_field(tmp_path):
    from pipeline.core.filebus import BadFile
    from pipeline.core.files import check_probabilities
    doc = {"model": {"name": "m", "fitted_at": "2024-10-05T12:00:00Z",
                     "trained_until": "2024-10-04T12:00:00Z"},
           "matches": [{"key": "a v b", "goals": {"home": 1.2, "away": 0.9, "rho": "-0.1"}}]}
    with pytest.raises(BadFile, match=r"\$\.matches\[0\]\.goals\.rho: '-0\.1' is not a number"):
        check_probabilities(doc, tmp_path / "probabilities.json")
    doc["matches"][0]["goals"]["rho"] = -0.1
    assert check_probabilities(doc, tmp_path / "probabilities.json") is doc


def test_the_decide_program_prices_an_ah_value_session_from_probabilities_json(home, tmp_path):
    from pipeline.core.filebus import atomic_write_json
    from pipeline.core.timefmt import iso
    from pipeline.programs.decide.program import once_document
    odds_path, cfg, ledger = tmp_path / "odds.json", tmp_path / "config.json", tmp_path / "l"
    atomic_write_json(odds_path, snapshot(line_match()))
    atomic_write_json(cfg, {"max_odds_age_s": 90, "sessions": [value_session("AH")]})
    ledger.write_bytes(b"")
    prob = {"version": 1, "written_at": iso(NOW), "model": {
        "name": "dixon-coles", "fitted_at": iso(NOW - timedelta(hours=2)),
        "trained_until": iso(NOW - timedelta(days=2))},
        "matches": [{"key": KEY, "1X2": {"home": 0.6, "draw": 0.2, "away": 0.2},
                     "goals": {"home": BALL[0], "away": BALL[1], "rho": BALL[2]}}]}
    assert_contract("probabilities", prob)
    atomic_write_json(home.probabilities, prob)
    doc = once_document(home, odds_path, cfg, ledger, NOW)
    assert_contract("decisions", doc)
    side, ev, _, price = best_side("AH", -0.75, ("home", "away"), (2.02, 1.86))
    assert [(d["market"], d["selection"], d["line"], d["odds"]) for d in doc["decisions"]] == [
        ("AH", side, -0.75, price)]
    assert f"edge {ev:+.4f}" in doc["decisions"][0]["reason"]
