"""Value sessions (issue 18): probability sources, the value pick (largest edge = p × odds − 1
inside the odds bounds, >= min_edge, ties home/draw/away), kelly on the session's p, and the
notes when there is no usable probability. Expected figures are worked out here from the
numbers, not by the code under test."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest

from pipeline.core.config import ConfigError, parse_config
from pipeline.core.filebus import atomic_write_json
from pipeline.core.state import Book
from pipeline.core.timefmt import iso
from pipeline.programs.decide.program import once_document
from pipeline.strategies import implied
from pipeline.strategies.engine import Tables, decide
from tests.kit.contracts import assert_contract
from tests.kit.engine import KEY, NOW, config, match, snapshot

ODDS = (3.10, 3.40, 2.10)


def value(**over) -> dict:
    s = {"id": "val", "selection": "value", "probability": {"from": "model"},
         "odds": {"min": 1.5, "max": 5.0}, "window": {"from_minutes": 10},
         "staking": {"plan": "kelly", "fraction": 0.5}, "bankroll": 1000}
    return {**s, **over}


def model_tables(p, fitted_at=NOW - timedelta(hours=1), key=KEY) -> Tables:
    return Tables(model={key: p}, fitted_at=fitted_at)


def floor2(x: float) -> float:
    return math.floor(round(x * 100, 6) + 1e-9) / 100


def kelly_stake(p: float, odds: float, fraction: float, bankroll: float) -> float:
    return floor2(fraction * (p * odds - 1) / (odds - 1) * bankroll)


def test_value_needs_a_probability_and_reference_needs_its_odds():
    ok = b'{"sessions": [%s]}'
    with pytest.raises(ConfigError, match="selection 'value' needs 'probability'"):
        parse_config(ok % b'{"id": "v", "selection": "value", "staking": {"plan": "flat", '
                          b'"stake": 1}}', "c.json")
    with pytest.raises(ConfigError, match="needs 'odds'"):
        parse_config(ok % b'{"id": "v", "selection": "value", "probability": {"from": '
                          b'"reference"}, "staking": {"plan": "flat", "stake": 1}}', "c.json")
    c = parse_config(ok % b'{"id": "v", "selection": "value", "probability": {"from": '
                          b'"market", "method": "shin"}, "staking": {"plan": "flat", '
                          b'"stake": 1}}', "c.json")
    s = c.sessions[0]
    assert (s.probability.source, s.probability.method, s.min_edge,
            s.max_probability_age_h) == ("market", "shin", 0.02, 24)


def test_the_config_method_names_are_the_implied_methods():
    from typing import get_args

    from pipeline.core.config import ImpliedMethod
    assert set(get_args(ImpliedMethod)) == set(implied.METHODS)


def test_value_bets_the_largest_edge_inside_the_bounds_with_kelly_on_p():
    p = (0.36, 0.27, 0.37)  # edges: 0.116, -0.082, -0.223
    out = decide(snapshot(match(odds=ODDS)), config(value()), Book(), NOW,
                 tables=model_tables(p))
    assert len(out.decisions) == 1, out.notes
    d = out.decisions[0]
    assert (d["selection"], d["odds"]) == ("home", 3.10)
    assert d["stake"] == kelly_stake(0.36, 3.10, 0.5, 1000) == 27.61
    assert "edge +0.1160" in d["reason"]
    # the same p with home priced out of the bounds: draw and away have no edge -> no bet
    out = decide(snapshot(match(odds=ODDS)), config(value(odds={"max": 3.0})), Book(), NOW,
                 tables=model_tables(p))
    assert out.decisions == [] and out.notes["val"] == [
        "no side priced inside the odds bounds with edge >= 0.02"]


def test_min_edge_is_inclusive_and_ties_go_home_draw_away():
    # edges: home 0.40 × 2.5 − 1 = 0, draw 0.25 × 4 − 1 = 0, away 0.35 × 2.0 − 1 = −0.3
    odds, p = (2.5, 4.0, 2.0), (0.40, 0.25, 0.35)
    out = decide(snapshot(match(odds=odds)), config(value(min_edge=0, staking={
        "plan": "flat", "stake": 10})), Book(), NOW, tables=model_tables(p))
    assert [d["selection"] for d in out.decisions] == ["home"]
    out = decide(snapshot(match(odds=odds)), config(value(min_edge=0.001)), Book(), NOW,
                 tables=model_tables(p))
    assert out.decisions == []


def test_from_market_uses_the_margin_free_price_and_kelly_its_edge_key():
    p = implied.shin(ODDS).probabilities[2]  # away, the favourite
    s = value(selection="favourite", probability={"from": "market", "method": "shin"},
              staking={"plan": "kelly", "fraction": 1.0, "edge": 0.1})
    out = decide(snapshot(match(odds=ODDS)), config(s), Book(), NOW)  # no tables needed
    d = out.decisions[0]
    assert d["selection"] == "away"
    assert d["stake"] == kelly_stake(p * 1.1, 2.10, 1.0, 1000)
    # from model, the edge key is ignored: p is the model's
    s = value(selection="favourite", staking={"plan": "kelly", "fraction": 1.0, "edge": 0.5})
    out = decide(snapshot(match(odds=ODDS)), config(s), Book(), NOW,
                 tables=model_tables((0.2, 0.2, 0.6)))
    assert out.decisions[0]["stake"] == kelly_stake(0.6, 2.10, 1.0, 1000)


def test_from_market_with_a_flat_stake_bets_the_margin_free_edge_unscaled():
    # flat has no `edge` key: p is the margin-free price itself (this crashed decide before)
    book = sum(1 / o for o in ODDS)
    p = [1 / o / book for o in ODDS]  # multiplicative, the default method
    edges = [q * o - 1 for q, o in zip(p, ODDS)]  # all < 0: the margin is gone, not beaten
    best = max(range(3), key=lambda i: edges[i])
    s = value(probability={"from": "market"}, min_edge=edges[best] - 1e-9,
              staking={"plan": "flat", "stake": 10})
    out = decide(snapshot(match(odds=ODDS)), config(s), Book(), NOW)
    assert [(d["selection"], d["stake"]) for d in out.decisions] == [
        (("home", "draw", "away")[best], 10)]
    out = decide(snapshot(match(odds=ODDS)), config(value(
        probability={"from": "market"}, staking={"plan": "flat", "stake": 10})), Book(), NOW)
    assert out.decisions == []  # default min_edge 0.02: no side has it


def test_no_usable_probability_makes_no_bet_with_a_note():
    snap = snapshot(match(odds=ODDS, seen_at=iso(NOW)))
    out = decide(snap, config(value()), Book(), NOW, tables=Tables(problem="probabilities.json:"
                                                                          " not JSON"))
    assert out.decisions == [] and out.notes["val"] == ["no bet: probabilities.json: not JSON"]
    out = decide(snap, config(value()), Book(), NOW,
                 tables=model_tables((0.5, 0.3, 0.2), key="another key"))
    assert out.notes["val"] == ["no model probability"]
    old = NOW - timedelta(hours=24, seconds=1)  # fitted more than 24 h before the odds
    out = decide(snap, config(value()), Book(), NOW, tables=model_tables((0.5, 0.3, 0.2), old))
    assert out.decisions == [] and out.notes["val"] == [
        "model probability older than the odds by more than max_probability_age_h 24"]
    out = decide(snap, config(value()), Book(), NOW,
                 tables=model_tables((0.5, 0.3, 0.2), NOW - timedelta(hours=24)))
    assert len(out.decisions) == 1
    ref = value(probability={"from": "reference", "odds": "pinnacle"})
    out = decide(snap, config(ref), Book(), NOW)
    assert out.decisions == [] and "CSV backtests only" in out.notes["val"][0]


def test_decide_reads_probabilities_json_and_says_why_a_bad_one_makes_no_bet(home, tmp_path):
    odds_path = tmp_path / "odds.json"
    atomic_write_json(odds_path, snapshot(match(odds=ODDS)))
    cfg = tmp_path / "config.json"
    atomic_write_json(cfg, {"max_odds_age_s": 90, "sessions": [value()]})
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes(b"")

    def run() -> dict:
        doc = once_document(home, odds_path, cfg, ledger, NOW)
        assert_contract("decisions", doc)
        return doc

    assert run()["notes"]["val"][0].startswith("no bet: no data/probabilities.json")
    home.probabilities.write_bytes(b'{"version": 1, "written_at": "2024-10-05T13:00:00Z", "mo')
    assert run()["notes"]["val"][0].startswith("no bet: probabilities.json: ")
    prob = {"version": 2, "written_at": iso(NOW), "model": {
        "name": "dixon-coles", "fitted_at": iso(NOW - timedelta(hours=2)),
        "trained_until": iso(NOW - timedelta(days=2))},
        "matches": [{"key": KEY, "1X2": {"home": 0.36, "draw": 0.27, "away": 1.37}}]}
    atomic_write_json(home.probabilities, prob)
    notes = run()["notes"]["val"]
    assert "$.matches[0].1X2.away" in notes[0] and "not a probability" in notes[0]
    prob["matches"][0]["1X2"]["away"] = 0.37
    assert_contract("probabilities", prob)
    atomic_write_json(home.probabilities, prob)
    doc = run()
    assert [(d["selection"], d["stake"]) for d in doc["decisions"]] == [
        ("home", kelly_stake(0.36, 3.10, 0.5, 1000))]
