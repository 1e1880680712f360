"""HKJC's handicap (HDC) and hi-lo (HIL) pools as odds-data `handicap` and `totals`, and in-play
prices kept (DESIGN: Markets). Expected lines and prices are read by hand from the capture files
(../shared/data/hkjc), never from the parser."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from pipeline.core.config import HkjcConfig
from pipeline.core.files import check_odds
from pipeline.sources.hkjc import parse_odds_answers
from pipeline.sources.hkjc_pools import quarter_line
from pipeline.sources.hkjc_site import HkjcSource
from tests.kit.contracts import assert_contract, HKJC_DATA
from tests.kit.hkjc_site import load_capture
from tests.kit.hkjc import (entry, fb4342, fb5022, LEVANTE, NOW, parse, results_answer, run_cli,
                            SAN_DIEGO, SEEN, TABLES)

# single-match-preevent-FB5022.json, Levante v Girona (PREEVENT): HDC one line "0.0" (main)
# H 2.02 / A 1.81; HIL "2.5" (main) H 1.82 / L 1.88, "2.5/3.0" H 2.02 / L 1.70,
# "3.5" H 2.98 / L 1.33. HHA (+1.0 H 1.47 ..., -1.0 H 5.30 ...) is not read.
LEVANTE_HANDICAP = [{"line": 0.0, "home": 2.02, "away": 1.81}]
LEVANTE_TOTALS = [{"line": 2.5, "over": 1.82, "under": 1.88},
                  {"line": 2.75, "over": 2.02, "under": 1.70},
                  {"line": 3.5, "over": 2.98, "under": 1.33}]
# single-match-secondhalf-FB4342.json, San Diego FC v CF Montreal (SECONDHALF, runningResult
# 4-0): HDC AVAILABLE only "-4.0/-4.5" (main) H 1.65 / A 2.13 (8 other lines SUSPENDED); HIL
# AVAILABLE "5.5" (main) H 4.05 / L 1.18, "4.5/5.0" H 1.94 / L 1.76, "5.0/5.5" H 3.55 / L 1.24
# (2.0/2.5 … 3.5 PAYOUTSTARTED with H WIN, 3.5/4.0, 4.0/4.5, 4.5, 6.5 SUSPENDED). No HAD pool.
SAN_DIEGO_HANDICAP = [{"line": -4.25, "home": 1.65, "away": 2.13}]
SAN_DIEGO_TOTALS = [{"line": 4.75, "over": 1.94, "under": 1.76},
                    {"line": 5.25, "over": 3.55, "under": 1.24},
                    {"line": 5.5, "over": 4.05, "under": 1.18}]


def pool(match: dict, code: str) -> dict:
    return next(p for p in match["foPools"] if p["oddsType"] == code)


def line_of(match: dict, code: str, condition: str) -> dict:
    return next(ln for ln in pool(match, code)["lines"] if ln["condition"] == condition)


def one(match: dict) -> tuple[dict, list[str]]:
    matches, problems = parse_odds_answers([{"data": {"matches": [match]}}], TABLES, SEEN, NOW)
    return matches[0], problems


def test_the_captures_handicap_and_totals_lines_split_lines_as_quarter_lines():
    matches, problems = parse("single-match-preevent-FB5022.json",
                              "single-match-secondhalf-FB4342.json")
    assert problems == []
    got = {m["key"]: m for m in matches}
    assert got[LEVANTE]["handicap"] == LEVANTE_HANDICAP
    assert got[LEVANTE]["totals"] == LEVANTE_TOTALS  # "2.5/3.0" → 2.75
    assert got[SAN_DIEGO]["handicap"] == SAN_DIEGO_HANDICAP  # "-4.0/-4.5" → -4.25 for home
    assert got[SAN_DIEGO]["totals"] == SAN_DIEGO_TOTALS
    # the subset capture carries the same pools
    subset, _ = parse("had_example_preevent_FB5022.json")
    assert (subset[0]["handicap"], subset[0]["totals"]) == (LEVANTE_HANDICAP, LEVANTE_TOTALS)


def test_the_hdc_condition_is_the_home_teams_handicap():
    # FB4342: home leads 4-0 and HDC says "-4.0/-4.5" with home at 1.65, HHA "-5.0" home 6.50:
    # home GIVES goals — the away side of a 4-0 down match giving 4.25 would be absurd.
    m = fb4342()
    assert m["runningResult"]["homeScore"] - m["runningResult"]["awayScore"] == 4
    assert line_of(m, "HDC", "-4.0/-4.5")["combinations"][0]["selections"][0]["name_en"] == "Home"
    assert line_of(m, "HIL", "5.5")["combinations"][0]["selections"][0]["name_en"] == "High"
    # "+0.5/+1.0" for home → +0.75 (DESIGN's example), by str H = home, A = away
    m = fb5022()
    line_of(m, "HDC", "0.0")["condition"] = "+0.5/+1.0"
    got, problems = one(m)
    assert problems == [] and got["handicap"] == [{"line": 0.75, "home": 2.02, "away": 1.81}]


@pytest.mark.parametrize("condition, line", [
    ("+0.5/+1.0", 0.75), ("-4.0/-4.5", -4.25), ("2.5/3.0", 2.75), ("0.0/-0.5", -0.25),
    ("0.0/+0.5", 0.25), ("-0.5/-1.0", -0.75), ("0.0", 0.0), ("-0.0", 0.0), ("5.5", 5.5),
    ("+1.0", 1.0), ("2.5/3.5", None), ("2.5/2.5", None), ("2.25/2.75", None), ("2.3", None),
    ("abc", None), ("2.5/", None), ("1.0/1.5/2.0", None), ("", None), (None, None),
    ("nan", None), ("inf/inf", None),
])
def test_quarter_lines(condition, line):
    got = quarter_line(condition)
    assert got == line and (line is None or str(got) == str(line))  # never "-0.0"


def test_combinations_map_by_str_whatever_their_order():
    m = fb5022()
    for ln in pool(m, "HIL")["lines"] + pool(m, "HDC")["lines"]:
        ln["combinations"].reverse()  # L before H, A before H (the captures have one: 3.5/4.0)
    got, problems = one(m)
    assert problems == []
    assert (got["handicap"], got["totals"]) == (LEVANTE_HANDICAP, LEVANTE_TOTALS)
    m = fb5022()
    line_of(m, "HIL", "3.5")["combinations"][1]["str"] = "X"
    got, problems = one(m)
    assert got["totals"] == LEVANTE_TOTALS[:2]
    assert problems == ["match FB5022: HIL line '3.5': combinations H, X, not H and L; "
                        "line dropped"]


def test_in_play_prices_are_kept_with_status_live():
    # the real in-play capture: handicap and totals on sale, kept (no HAD pool: odds null)
    (got,), problems = parse_odds_answers([load_capture("single-match-secondhalf-FB4342.json")],
                                          TABLES, SEEN, NOW)
    assert (got["status"], got["source_status"], got["odds"]) == ("live", "SECONDHALF", None)
    assert (got["handicap"], got["totals"]) == (SAN_DIEGO_HANDICAP, SAN_DIEGO_TOTALS)
    # FB5022 in its first half: all three markets kept, live
    got, problems = one({**fb5022(), "status": "FIRSTHALF"})
    assert got["status"] == "live" and problems == []
    assert got["odds"] == {"home": 2.57, "draw": 3.2, "away": 2.32}
    assert (got["handicap"], got["totals"]) == (LEVANTE_HANDICAP, LEVANTE_TOTALS)


@pytest.mark.parametrize("code, field", [("HDC", "handicap"), ("HIL", "totals")])
@pytest.mark.parametrize("status", ["SUSPENDED", "PAYOUTSTARTED", "SELLINGSTOPPED", None])
def test_a_pool_not_sellingstarted_gives_no_lines(code, field, status):
    m = fb5022()
    pool(m, code)["status"] = status
    got, problems = one(m)
    assert field not in got and problems == []
    other = {"handicap": ("totals", LEVANTE_TOTALS), "totals": ("handicap", LEVANTE_HANDICAP)}
    assert got[other[field][0]] == other[field][1]  # the other pool stands
    assert got["odds"] == {"home": 2.57, "draw": 3.2, "away": 2.32}


def test_lines_and_combinations_not_available_are_left_out():
    m = fb5022()
    line_of(m, "HIL", "2.5/3.0")["status"] = "SUSPENDED"
    line_of(m, "HIL", "3.5")["combinations"][0]["status"] = "SUSPENDED"
    got, problems = one(m)
    assert got["totals"] == LEVANTE_TOTALS[:1] and problems == []


@pytest.mark.parametrize("price, why", [("0", "'0' is not above 1"), ("1.0", "'1.0' is not above 1"),
                                        ("LSE", "'LSE' is not a number"),
                                        ("-1.5", "'-1.5' is not above 1")])
def test_a_bad_price_drops_that_line_with_a_problem(price, why):
    m = fb5022()
    line_of(m, "HIL", "2.5/3.0")["combinations"][1]["currentOdds"] = price  # L: under
    line_of(m, "HDC", "0.0")["combinations"][0]["currentOdds"] = price  # H: home
    got, problems = one(m)
    assert got["totals"] == [LEVANTE_TOTALS[0], LEVANTE_TOTALS[2]]  # the others stand
    assert "handicap" not in got  # its only line
    assert got["odds"] == {"home": 2.57, "draw": 3.2, "away": 2.32}
    assert problems == [f"match FB5022: HDC line '0.0': home {why}; line dropped",
                        f"match FB5022: HIL line '2.5/3.0': under {why}; line dropped"]
    # a dash: not on sale, dropped without a problem
    m = fb5022()
    line_of(m, "HIL", "3.5")["combinations"][0]["currentOdds"] = "-"
    got, problems = one(m)
    assert got["totals"] == LEVANTE_TOTALS[:2] and problems == []


def test_a_bad_condition_drops_that_line_with_a_problem():
    m = fb5022()
    line_of(m, "HIL", "3.5")["condition"] = "3.5/4.5"
    line_of(m, "HDC", "0.0")["condition"] = "level"
    got, problems = one(m)
    assert got["totals"] == LEVANTE_TOTALS[:2] and "handicap" not in got
    assert problems == [
        "match FB5022: HDC line 'level': not a line nor a split line of halves 0.5 apart; "
        "line dropped",
        "match FB5022: HIL line '3.5/4.5': not a line nor a split line of halves 0.5 apart; "
        "line dropped"]


@pytest.mark.parametrize("main_copy, kept", [(False, 2.02), (True, 2.10)])
def test_a_duplicated_line_keeps_the_main_one_else_the_first(main_copy, kept):
    m = fb5022()
    hil = pool(m, "HIL")
    copy = {**line_of(m, "HIL", "2.5/3.0"), "main": main_copy, "condition": "3.0/2.5",
            "combinations": [{"str": "H", "status": "AVAILABLE", "currentOdds": "2.10"},
                             {"str": "L", "status": "AVAILABLE", "currentOdds": "1.66"}]}
    for ln in hil["lines"]:
        ln["main"] = False
    hil["lines"].append(copy)
    got, problems = one(m)
    assert [e["line"] for e in got["totals"]] == [2.5, 2.75, 3.5]  # one entry per line
    assert got["totals"][1]["over"] == kept
    which = "'3.0/2.5' (the main one)" if main_copy else "'2.5/3.0' (the first)"
    assert problems == [f"match FB5022: HIL lines '2.5/3.0' and '3.0/2.5' are both line 2.75; "
                        f"kept {which}"]


def test_later_answers_keep_lines_only_when_they_do_not_carry_the_pool():
    full = load_capture("single-match-preevent-FB5022.json")
    without = {"data": {"matches": [{**fb5022(), "foPools": [pool(fb5022(), "HAD")]}]}}
    (got,), _ = parse_odds_answers([full, without], TABLES, SEEN, NOW)
    assert (got["handicap"], got["totals"]) == (LEVANTE_HANDICAP, LEVANTE_TOTALS)
    suspended = fb5022()
    pool(suspended, "HDC")["status"] = "SUSPENDED"
    pool(suspended, "HAD")["status"] = "SUSPENDED"
    (got,), _ = parse_odds_answers([full, {"data": {"matches": [suspended]}}], TABLES, SEEN, NOW)
    assert "handicap" not in got and got["odds"] is None  # carried, not on sale: gone
    assert got["totals"] == LEVANTE_TOTALS


def test_the_sources_odds_data_passes_check_odds_and_the_contract():
    matches, problems = parse("single-match-preevent-FB5022.json",
                              "single-match-secondhalf-FB4342.json")
    assert problems == [] and all(m.get("handicap") and m.get("totals") for m in matches)
    doc = {"version": 1, "written_at": SEEN, "source": "hkjc", "fetched_at": SEEN,
           "matches": matches}
    assert check_odds(doc, Path("odds-data.json")) is doc
    assert_contract("odds-data", doc)


def test_cli_prints_the_handicap_and_totals_lines_in_json_and_as_a_table(home, capsys):
    files = [str(HKJC_DATA / n) for n in ("single-match-preevent-FB5022.json",
                                          "single-match-secondhalf-FB4342.json")]
    code, out, err = run_cli(capsys, home, "--kind", "hkjc", *files, "--now", SEEN)
    assert code == 0 and err == ""
    got = {m["key"]: m for m in orjson.loads(out)}
    assert (got[LEVANTE]["handicap"], got[LEVANTE]["totals"]) == (LEVANTE_HANDICAP,
                                                                  LEVANTE_TOTALS)
    assert (got[SAN_DIEGO]["handicap"], got[SAN_DIEGO]["totals"]) == (SAN_DIEGO_HANDICAP,
                                                                      SAN_DIEGO_TOTALS)
    code, out, err = run_cli(capsys, home, "--kind", "hkjc", "--table", *files, "--now", SEEN)
    assert code == 0 and err == ""
    rows = [r.split() for r in out.splitlines()]
    assert rows[1] == ["2026_San", "Diego", "FC", "v", "CF", "Montreal", "live",
                       "2026-02-22T03:30:00Z", "FB4342"]
    assert rows[2:6] == [["AH", "-4.25", "home", "1.65", "away", "2.13"],
                         ["OU", "4.75", "over", "1.94", "under", "1.76"],
                         ["OU", "5.25", "over", "3.55", "under", "1.24"],
                         ["OU", "5.50", "over", "4.05", "under", "1.18"]]
    assert rows[6][-3:] == ["scheduled", "2026-03-07T15:15:00Z", "FB5022"]
    assert rows[7:] == [["1X2", "home", "2.57", "draw", "3.20", "away", "2.32"],
                        ["AH", "+0.00", "home", "2.02", "away", "1.81"],
                        ["OU", "2.50", "over", "1.82", "under", "1.88"],
                        ["OU", "2.75", "over", "2.02", "under", "1.70"],
                        ["OU", "3.50", "over", "2.98", "under", "1.33"]]


def test_the_source_drops_prices_no_longer_on_sale_and_of_a_finished_match():
    source = HkjcSource(None, HkjcConfig(), TABLES)  # no browser: answers handed in below
    matches, _ = parse("single-match-secondhalf-FB4342.json")
    source._remember(matches, NOW)
    assert source.known[matches[0]["source_id"]]["handicap"] == SAN_DIEGO_HANDICAP
    source._remember([], NOW + timedelta(minutes=1))  # not in the next answer: not on sale
    gone = source.known[matches[0]["source_id"]]
    assert (gone["status"], gone["odds"]) == ("live", None)
    assert "handicap" not in gone and "totals" not in gone
    # in play with prices, then the results page says finished: the prices go
    source._remember(parse("single-match-secondhalf-FB4342.json")[0], NOW)
    source.capture = lambda url, want: ([results_answer(entry(4, 1, 5))], [])
    assert source.load_results(SEEN, NOW) == []
    done = source.known[matches[0]["source_id"]]
    assert (done["status"], done["result"]) == ("finished", {"home_goals": 4, "away_goals": 1})
    assert "handicap" not in done and "totals" not in done and done["odds"] is None
