"""parse_rows: the sandbox page's raw rows as odds-data matches; bad input never poisons them."""
from __future__ import annotations

import pytest

from pipeline.core.matchkey import load_tables
from pipeline.sources.sandbox import parse_price, parse_rows
from tests.kit.contracts import assert_contract

SEEN = "2019-08-09T18:30:00Z"


@pytest.fixture(scope="module")
def tables():
    return load_tables()


def row(home="Man United", away="Chelsea", prices=("1.80", "3.60", "4.50"), **attrs) -> dict:
    base = {"id": "E0_2019-20.csv:1", "competition": "EPL", "season": "2019-20",
            "kickoff": "2019-08-11T15:30:00Z", "status": "scheduled", "home": home, "away": away,
            "prices": dict(zip(("home", "draw", "away"), prices)), "score": ""}
    base.update(attrs)
    return base


def snapshot(matches: list[dict]) -> dict:
    return {"version": 1, "written_at": SEEN, "source": "sandbox", "fetched_at": SEEN,
            "matches": matches}


def test_canonical_names_key_and_prices(tables):
    matches, problems = parse_rows([row()], tables, SEEN)
    assert problems == []
    assert matches == [{
        "key": "2019-20_Manchester United v Chelsea", "season": "2019-20", "competition": "EPL",
        "home": "Manchester United", "away": "Chelsea", "kickoff": "2019-08-11T15:30:00Z",
        "status": "scheduled", "odds": {"home": 1.8, "draw": 3.6, "away": 4.5},
        "seen_at": SEEN, "result": None}]
    assert_contract("odds-data", snapshot(matches))


def test_nottm_forest_and_season_from_the_row_not_the_date(tables):
    # a 2019-20 file's late matches are played in July 2020: the row's season wins
    late = row("Nott'm Forest", "Man City", kickoff="2020-07-22T18:00:00Z")
    matches, _ = parse_rows([late], tables, SEEN)
    assert matches[0]["key"] == "2019-20_Nottingham Forest v Manchester City"
    assert matches[0]["season"] == "2019-20"


def test_season_missing_comes_from_the_kickoff(tables):
    matches, problems = parse_rows([row(season=None, kickoff="2024-10-05T14:00:00Z")], tables, SEEN)
    assert matches[0]["season"] == "2024-25" and problems == []


def test_cup_key_carries_its_code(tables):
    matches, _ = parse_rows([row("Arsenal", "Southampton", competition="EFA",
                                 season="2024-25", kickoff="2025-01-12T14:00:00Z")], tables, SEEN)
    assert matches[0]["key"] == "2024-25_EFA_Arsenal v Southampton"


@pytest.mark.parametrize("bad", ["NaN", "nan", "-1", "0.9", "1", "1.00", "abc", "inf", "1.5x"])
def test_bad_price_nulls_the_odds_keeps_the_match_and_says_why(tables, bad):
    good = row("Liverpool", "Norwich", id="E0_2019-20.csv:0")
    matches, problems = parse_rows([row(prices=("2.10", bad, "3.30")), good], tables, SEEN)
    assert [m["key"] for m in matches] == ["2019-20_Manchester United v Chelsea",
                                           "2019-20_Liverpool v Norwich"]
    assert matches[0]["odds"] is None
    assert matches[1]["odds"] == {"home": 1.8, "draw": 3.6, "away": 4.5}
    assert len(problems) == 1 and "E0_2019-20.csv:1" in problems[0] and "draw" in problems[0]
    assert_contract("odds-data", snapshot(matches))


@pytest.mark.parametrize("dash", ["\u2013", "\u2014", "-", ""])
def test_not_on_sale_is_null_odds_without_a_problem(tables, dash):
    matches, problems = parse_rows([row(prices=(dash, dash, dash))], tables, SEEN)
    assert matches[0]["odds"] is None and problems == []


def test_partly_on_sale_is_null_odds_with_a_problem(tables):
    matches, problems = parse_rows([row(prices=("2.10", "\u2013", "3.30"))], tables, SEEN)
    assert matches[0]["odds"] is None and len(problems) == 1 and "draw" in problems[0]


def test_float_nan_price_from_a_page_is_refused():
    assert isinstance(parse_price(float("nan")), str)
    assert isinstance(parse_price(0.5), str)
    assert parse_price(1.01) == 1.01


@pytest.mark.parametrize("missing", ["competition", "kickoff", "status", "home", "away"])
def test_row_missing_a_required_attribute_is_skipped(tables, missing):
    broken = row(**{missing: None})
    good = row("Liverpool", "Norwich", id="E0_2019-20.csv:0")
    matches, problems = parse_rows([broken, good], tables, SEEN)
    assert [m["home"] for m in matches] == ["Liverpool"]
    assert len(problems) == 1 and missing in problems[0] and "skipped" in problems[0]


@pytest.mark.parametrize("attrs", [{"kickoff": "tomorrow"}, {"status": "abandoned"},
                                   {"home": "   "}])
def test_unusable_attributes_skip_the_row(tables, attrs):
    matches, problems = parse_rows([row(**attrs)], tables, SEEN)
    assert matches == [] and len(problems) == 1


def test_not_a_row_at_all_is_skipped(tables):
    matches, problems = parse_rows(["<tr>", row()], tables, SEEN)
    assert len(matches) == 1 and len(problems) == 1


def test_finished_row_has_the_result(tables):
    done = row("Liverpool", "Norwich", status="finished", score="4-1",
               prices=("\u2013",) * 3, kickoff="2019-08-09T19:00:00Z")
    matches, problems = parse_rows([done], tables, SEEN)
    assert problems == []
    assert matches[0]["key"] == "2019-20_Liverpool v Norwich"
    assert matches[0]["result"] == {"home_goals": 4, "away_goals": 1}
    assert matches[0]["odds"] is None
    assert_contract("odds-data", snapshot(matches))


def test_score_counts_only_once_finished(tables):
    matches, _ = parse_rows([row(status="live", score="1-0")], tables, SEEN)
    assert matches[0]["result"] is None


def test_unreadable_score_of_a_finished_match_is_a_problem(tables):
    matches, problems = parse_rows([row(status="finished", score="4:x")], tables, SEEN)
    assert matches[0]["result"] is None and len(problems) == 1


def test_duplicate_key_keeps_the_first_row(tables):
    matches, problems = parse_rows([row(), row("Manchester Utd", prices=("9", "9", "9"))],
                                   tables, SEEN)
    assert len(matches) == 1 and matches[0]["odds"]["home"] == 1.8
    assert len(problems) == 1 and "twice" in problems[0]


def test_kickoff_with_an_offset_is_written_in_utc(tables):
    matches, _ = parse_rows([row(kickoff="2019-08-11T16:30:00+01:00")], tables, SEEN)
    assert matches[0]["kickoff"] == "2019-08-11T15:30:00Z"


def lines(ah=("-0.75", "1.92", "1.98"), ou=("2.5", "1.85", "2.05")) -> dict:
    return {"AH": {"line": ah[0], "prices": {"home": ah[1], "away": ah[2]}},
            "OU": {"line": ou[0], "prices": {"over": ou[1], "under": ou[2]}}}


def test_handicap_and_totals_from_the_line_cells_pass_the_contract_check(tables, tmp_path):
    from pipeline.core.files import check_odds
    matches, problems = parse_rows([row(lines=lines())], tables, SEEN)
    assert problems == []
    [m] = matches
    assert m["handicap"] == [{"line": -0.75, "home": 1.92, "away": 1.98}]
    assert m["totals"] == [{"line": 2.5, "over": 1.85, "under": 2.05}]
    assert check_odds(snapshot(matches), tmp_path / "odds-data.json") is not None
    assert_contract("odds-data", snapshot(matches))


@pytest.mark.parametrize("bad, field, problem", [
    (lines(ah=("-0.7", "1.92", "1.98")), "handicap", "AH line '-0.7' is not a multiple of 0.25"),
    (lines(ah=("x", "1.92", "1.98")), "handicap", "AH line 'x'"),
    (lines(ou=("-0.5", "1.9", "1.9")), "totals", "OU line '-0.5'"),
    (lines(ou=("2.5", "1.0", "1.9")), "totals", "OU price over '1.0' is not above 1"),
    (lines(ah=("0", "1.92", "\u2013")), "handicap", "AH price away missing"),
])
def test_a_bad_line_or_price_drops_that_market_alone(tables, tmp_path, bad, field, problem):
    from pipeline.core.files import check_odds
    matches, problems = parse_rows([row(lines=bad)], tables, SEEN)
    [m] = matches
    assert field not in m and m["odds"] == {"home": 1.8, "draw": 3.6, "away": 4.5}
    assert len(problems) == 1 and problem in problems[0] and field in problems[0]
    other = {"handicap": "totals", "totals": "handicap"}[field]
    assert len(m[other]) == 1  # the other market stands
    check_odds(snapshot(matches), tmp_path / "odds-data.json")


def test_not_on_sale_lines_are_absent(tables):
    off = {"AH": {"line": "", "prices": {"home": "\u2013", "away": "\u2013"}},
           "OU": {"line": "", "prices": {"over": "\u2013", "under": "\u2013"}}}
    matches, problems = parse_rows([row(lines=off, status="live", prices=("\u2013",) * 3)],
                                   tables, SEEN)
    assert problems == [] and "handicap" not in matches[0] and "totals" not in matches[0]
