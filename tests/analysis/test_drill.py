"""Factor drilling on real CSVs against groups computed independently from the rows."""
from __future__ import annotations

from collections import defaultdict
from datetime import timezone

import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.analysis.drill import (FACTORS, DrillError, drill, parse_where, records_for,
                                     records_from_backtest)
from pipeline.core.config import Config
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA

E0_19 = FOOTBALL_DATA / "E0_2019-20.csv"
E0_18 = FOOTBALL_DATA / "E0_2018-19.csv"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def expected(files, source, rule, key) -> dict:
    """label(s) -> [count, won, profit] at 1 unit on `rule`'s side, from the rows alone."""
    out: dict = defaultdict(lambda: [0, 0, 0.0])
    for m in reference.matches(files, source):
        side = reference.side_for(rule, m["p"])
        won = m["ftr"] == side
        g = out[key(m, side)]
        g[0] += 1
        g[1] += won
        g[2] += round(m["p"][side] - 1, 2) if won else -1.0
    return {k: [c, w, round(p, 2)] for k, (c, w, p) in out.items()}


def got(groups) -> dict:
    return {tuple(g.values.values()) if len(g.values) > 1 else next(iter(g.values.values())):
            [g.count, g.won, g.profit] for g in groups}


def test_by_season_and_role_for_the_favourite():
    groups = drill(records_for([E0_18, E0_19], "b365", "favourite"), ["season", "role"])
    want = expected([E0_18, E0_19], "b365", "favourite",
                    lambda m, side: (("2018-19", "2019-20")[m["order"][0]], "favourite"))
    assert got(groups) == want
    assert [g.values["season"] for g in groups] == ["2018-19", "2019-20"]
    g = groups[1]
    assert g.hit_rate == pytest.approx(g.won / g.count) and g.roi == pytest.approx(g.profit / 380)


def test_home_backed_split_by_role_and_weekday_with_where():
    def key(m, side):
        role = "favourite" if m["p"]["H"] <= m["p"]["A"] else "underdog"
        return role, DAYS[m["ko"].astimezone(reference.LONDON).weekday()]

    records = records_for([E0_19], "pinnacle", "home")
    want = expected([E0_19], "pinnacle", "home", key)
    assert got(drill(records, ["role", "weekday"])) == want
    only = drill(records, ["role", "weekday"], where={"weekday": {"sat", "Sun"}})
    assert got(only) == {k: v for k, v in want.items() if k[1] in ("Sat", "Sun")}
    assert [g.values["weekday"] for g in only if g.values["role"] == "favourite"] == ["Sat", "Sun"]


def test_month_and_odds_band():
    def key(m, side):
        month = m["ko"].astimezone(reference.LONDON).strftime("%b")
        price = m["p"][side]
        band = next(f"{lo:g}-{hi:g}" for lo, hi in zip((1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0),
                                                       (1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0))
                    if lo <= price < hi) if price < 10 else "10+"
        return month, band

    want = expected([E0_19], "max", "underdog", key)
    assert got(drill(records_for([E0_19], "max", "underdog"), ["month", "odds_band"])) == want


def test_drift_from_pre_match_to_closing():
    """The backed side's closing price against its pre-match one, whichever end is --odds
    (the favourite is picked at the --odds end)."""
    rows = reference.read_rows(E0_19)
    edges = (-0.10, -0.05, -0.01, 0.01, 0.05, 0.10)
    labels = ("<-10%", "-10..-5%", "-5..-1%", "-1..+1%", "+1..+5%", "+5..+10%", ">+10%")
    for source, at in (("b365", "B365"), ("b365-closing", "B365C")):
        want: dict = defaultdict(int)
        for r in rows:
            side = "H" if float(r[f"{at}H"]) <= float(r[f"{at}A"]) else "A"
            drift = float(r[f"B365C{side}"]) / float(r[f"B365{side}"]) - 1
            want[labels[sum(drift > e for e in edges)]] += 1
        groups = drill(records_for([E0_19], source, "favourite"), ["drift"])
        assert {g.values["drift"]: g.count for g in groups} == dict(want), source
        assert [g.values["drift"] for g in groups] == [x for x in labels if x in want]
    no_closing = drill(records_for([E0_18], "b365", "favourite"), ["drift"])
    assert [(g.values["drift"], g.count) for g in no_closing] == [("n/a", 380)]


def test_over_under_band_uses_the_sources_own_over_price():
    groups = drill(records_for([E0_19], "b365", "draw"), ["ou25_band"])
    want: dict = defaultdict(int)
    for r in reference.read_rows(E0_19):
        o = float(r["B365>2.5"])
        want[next(f"{lo:g}-{hi:g}" for lo, hi in zip((1.0, 1.6, 1.8, 2.0, 2.2),
                                                     (1.6, 1.8, 2.0, 2.2, 2.5)) if lo <= o < hi)
             if o < 2.5 else "2.5+"] += 1
    assert {g.values["ou25_band"]: g.count for g in groups} == dict(want)


def test_a_sessions_backtest_bets_drilled_down_to_records():
    cfg = Config.model_validate({"sessions": [
        {"id": "dog", "selection": "underdog", "odds": {"min": 2.2, "max": 6},
         "staking": {"plan": "percent", "percent": 2}}]})
    bt = run(load_matches([E0_19], "avg").matches, cfg)
    records = records_from_backtest(bt, "dog", "avg")
    fig = bt.report()["dog"]
    whole = drill(records, [])
    assert len(whole) == 1 and whole[0].values == {}
    assert (whole[0].count, whole[0].won) == (fig["bets"], fig["won"])
    assert whole[0].profit == pytest.approx(fig["profit"], abs=0.006)
    assert whole[0].staked == pytest.approx(fig["staked"], abs=0.006)
    by_sel = drill(records, ["selection"], where={"selection": "away"})
    assert [g.values for g in by_sel] == [{"selection": "away"}]
    assert all(r.selection == "away" and r.role == "underdog" for r in by_sel[0].records)
    first = by_sel[0].records[0]
    assert first.kickoff.tzinfo == timezone.utc and first.stake > 0
    for r in records:
        won = r.ftr == {"home": "H", "draw": "D", "away": "A"}[r.selection]
        assert r.outcome == ("won" if won else "lost")
        assert r.profit == (round(round(r.stake * r.odds, 2) - r.stake, 2) if won else -r.stake)


def test_where_and_factor_errors():
    assert parse_where("season=2019-20,role=favourite|underdog") == {
        "season": {"2019-20"}, "role": {"favourite", "underdog"}}
    with pytest.raises(DrillError, match="unknown factor 'colour'"):
        parse_where("colour=red")
    with pytest.raises(DrillError, match="expected factor=value"):
        parse_where("season")
    with pytest.raises(DrillError, match="unknown factor 'bogus'; known: competition"):
        drill([], ["bogus"])
    assert set(FACTORS) >= {"competition", "season", "month", "weekday", "selection", "role",
                            "odds_band", "drift", "ou25_band"}


def test_clv_band_and_drift_to_the_close_from_the_rows():
    """The favourite at Pinnacle's pre-match price against Pinnacle's close: clv = odds / close
    - 1 in [lo, hi) bands, drift_close = close / odds - 1 in (lo, hi] bands, profit per band."""
    clv_edges = (-0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10)
    clv_labels = ("<-10%", "-10..-5%", "-5..-2%", "-2..0%", "0..+2%", "+2..+5%", "+5..+10%",
                  ">=+10%")
    d_edges = (-0.10, -0.05, -0.01, 0.01, 0.05, 0.10)
    d_labels = ("<-10%", "-10..-5%", "-5..-1%", "-1..+1%", "+1..+5%", "+5..+10%", ">+10%")
    want_clv: dict = defaultdict(lambda: [0, 0.0])
    want_drift: dict = defaultdict(int)
    for r in reference.read_rows(E0_19):
        side = "H" if float(r["PSH"]) <= float(r["PSA"]) else "A"
        odds, close = float(r[f"PS{side}"]), float(r[f"PSC{side}"])
        c = round(odds / close - 1, 6)
        g = want_clv[clv_labels[sum(c >= e for e in clv_edges)]]
        g[0] += 1
        g[1] += round(odds - 1, 2) if r["FTR"] == side else -1.0
        want_drift[d_labels[sum(close / odds - 1 > e for e in d_edges)]] += 1
    records = records_for([E0_19], "pinnacle", "favourite")
    groups = drill(records, ["clv_band"])
    assert {g.values["clv_band"]: [g.count, g.profit] for g in groups} == \
        {k: [n, pytest.approx(p, abs=0.006)] for k, (n, p) in want_clv.items()}
    assert [g.values["clv_band"] for g in groups] == [x for x in clv_labels if x in want_clv]
    assert len(groups) >= 4  # the bands are used
    groups = drill(records, ["drift_close"])
    assert {g.values["drift_close"]: g.count for g in groups} == dict(want_drift)
    # closing prices as --odds: no close to compare with
    none = drill(records_for([E0_19], "pinnacle-closing", "favourite"), ["clv_band", "drift_close"])
    assert [(tuple(g.values.values()), g.count) for g in none] == [(("n/a", "n/a"), 380)]
