"""The HKJC source: the real captures of ../shared/data/hkjc parsed (odds, kickoffs, statuses,
keys), the strict results parser, `betpipe sources parse`, and the real `betpipe monitor` in real
Chromium reading the site's GraphQL answers off the network from a local imitation of the site."""
from __future__ import annotations

import copy

import orjson
import pytest

from pipeline.core.clock import anchor
from pipeline.core.filebus import atomic_write_json
from pipeline.browser.launch import find_chromium
from pipeline.sources.hkjc import (STATUSES, ShapeError, had_odds, parse_odds_answers,
                                   parse_results)
from tests.kit.contracts import assert_contract, HKJC_DATA
from tests.kit.monitor import by_key, health, odds
from tests.kit.poll import poll
from tests.kit.hkjc import (fb4342, fb5022, entry, LEVANTE, NOW, parse, results_answer, run_cli,
                            SAN_DIEGO, SEEN, TABLES)
from tests.kit.hkjc_site import HkjcSite, load_capture
from tests.kit.programs import betpipe


def had_line(match: dict) -> dict:
    return next(p for p in match["foPools"] if p["oddsType"] == "HAD")["lines"][0]


# --------------------------------------------------------------------------- odds answers

def test_the_real_captures_parse_to_odds_data_matches():
    matches, problems = parse("single-match-preevent-FB5022.json",
                              "single-match-secondhalf-FB4342.json")
    assert problems == []
    got = {m["key"]: m for m in matches}
    assert set(got) == {LEVANTE, SAN_DIEGO}
    levante = got[LEVANTE]
    assert levante["kickoff"] == "2026-03-07T15:15:00Z"  # 23:15 +08:00
    assert (levante["status"], levante["competition"], levante["season"]) == \
        ("scheduled", "SFL", "2025-26")
    assert (levante["home"], levante["away"]) == ("Levante", "Girona")
    assert levante["odds"] == {"home": 2.57, "draw": 3.2, "away": 2.32}  # H, A, D in the answer
    assert levante["seen_at"] == SEEN
    assert levante["source_updated_at"] == "2026-03-05T11:30:02.332Z"  # updateAt: information
    assert levante["source_ref"] == "FB5022"
    mls = got[SAN_DIEGO]
    assert mls["kickoff"] == "2026-02-22T03:30:00Z" and mls["season"] == "2026"  # calendar year
    assert (mls["status"], mls["odds"], mls["result"]) == ("live", None, None)  # no HAD pool
    assert_contract("odds-data", {"version": 1, "written_at": SEEN, "source": "hkjc",
                                  "fetched_at": SEEN, "matches": matches})


def test_the_subset_capture_gives_the_same_prices_and_later_answers_win():
    subset, _ = parse("had_example_preevent_FB5022.json")
    full, _ = parse("single-match-preevent-FB5022.json")
    assert subset == full
    # an answer for the same match without the HAD pool does not lose the prices
    without_had = {"data": {"matches": [{**fb5022(), "foPools": []}]}}
    merged, _ = parse_odds_answers([load_capture("had_example_preevent_FB5022.json"),
                                    without_had], TABLES, SEEN, NOW)
    assert merged[0]["odds"] == {"home": 2.57, "draw": 3.2, "away": 2.32}


def test_combinations_map_by_str_else_by_position():
    match = fb5022()
    line = had_line(match)
    line["combinations"] = [line["combinations"][i] for i in (2, 0, 1)]  # D, H, A: by str
    assert had_odds(match["foPools"], "m", []) == {"home": 2.57, "draw": 3.2, "away": 2.32}
    match = fb5022()
    for combo in had_line(match)["combinations"]:
        del combo["str"]  # no str: the documented order H, A, D
    assert had_odds(match["foPools"], "m", []) == {"home": 2.57, "draw": 3.2, "away": 2.32}


@pytest.mark.parametrize("change, problem", [
    (lambda m: next(p for p in m["foPools"] if p["oddsType"] == "HAD").update(
        status="SUSPENDED"), None),
    (lambda m: had_line(m).update(status="SUSPENDED"), None),
    (lambda m: had_line(m)["combinations"][1].update(status="SUSPENDED"), None),
    (lambda m: had_line(m)["combinations"][0].update(currentOdds="LSE"), "not a number"),
    (lambda m: had_line(m)["combinations"].pop(), "2 combinations"),
    (lambda m: m.update(foPools=[p for p in m["foPools"] if p["oddsType"] != "HAD"]), None),
])
def test_odds_are_null_unless_pool_line_and_combinations_are_on_sale(change, problem):
    match = fb5022()
    change(match)
    matches, problems = parse_odds_answers([{"data": {"matches": [match]}}], TABLES, SEEN, NOW)
    assert matches[0]["odds"] is None and matches[0]["status"] == "scheduled"
    assert (problem is None and problems == []) or problem in problems[0]


@pytest.mark.parametrize("hkjc, ours", [("PREEVENT", "scheduled"), ("FIRSTHALF", "live"),
                                        ("HALFTIME", "live"), ("SECONDHALF", "live"),
                                        ("FULLTIME", "finished"), ("RESULT", "finished"),
                                        ("POSTPONED", "postponed"), ("CANCELLED", "void"),
                                        ("VOID", "void")])
def test_statuses(hkjc, ours):
    assert STATUSES[hkjc] == ours
    matches, _ = parse_odds_answers([{"data": {"matches": [{**fb5022(), "status": hkjc}]}}],
                                    TABLES, SEEN, NOW)
    assert matches[0]["status"] == ours
    # prices pre-match and in play (decide bets only scheduled matches), never after
    priced = ours in ("scheduled", "live")
    assert (matches[0]["odds"] is not None) == priced
    assert ("handicap" in matches[0], "totals" in matches[0]) == (priced, priced)


def test_an_unknown_status_keeps_the_match_without_odds_and_says_so():
    matches, problems = parse_odds_answers([{"data": {"matches": [{**fb5022(),
                                                                   "status": "WEIRDSTATE"}]}}],
                                           TABLES, SEEN, NOW)
    assert matches[0]["key"] == LEVANTE and matches[0]["odds"] is None
    assert matches[0]["status"] == "scheduled"  # before its kickoff
    assert "WEIRDSTATE" in problems[0]


def test_bad_matches_are_skipped_and_bad_answers_refused():
    broken = {**fb4342(), "kickOffTime": "soon"}
    nameless = copy.deepcopy(fb4342())
    del nameless["homeTeam"]["name_en"]
    matches, problems = parse_odds_answers([{"data": {"matches": [broken, nameless, fb5022()]}}],
                                           TABLES, SEEN, NOW)
    assert [m["key"] for m in matches] == [LEVANTE]
    assert "kickOffTime" in problems[0] and "homeTeam.name_en" in problems[1]
    for doc, field in [([], "$"), ({"errors": [{"message": "no"}]}, "data"),
                       (load_capture("tournament-list.json"), "data.matches")]:
        with pytest.raises(ShapeError) as e:
            parse_odds_answers([doc], TABLES, SEEN, NOW)
        assert e.value.field == field


# --------------------------------------------------------------------------- results answers

FULLTIME = (5, 1)  # what public integrations in production read (README: HKJC results)


def test_results_of_the_documented_shape():
    doc = results_answer(entry(1, 0, 3), entry(4, 1, 5))
    matches, problems = parse_results(doc, FULLTIME, TABLES, SEEN, NOW)
    assert problems == [] and len(matches) == 1
    m = matches[0]
    assert (m["key"], m["status"], m["odds"]) == (SAN_DIEGO, "finished", None)
    assert m["result"] == {"home_goals": 4, "away_goals": 1}
    # not yet confirmed: no result; only the configured full-time entry counts
    pending, _ = parse_results(results_answer(entry(4, 1, 5, confirmed=False)), FULLTIME,
                               TABLES, SEEN, NOW)
    assert pending[0]["result"] is None
    with pytest.raises(ShapeError):  # only another stage's entry: refused, never guessed
        parse_results(results_answer(entry(1, 0, 3)), FULLTIME, TABLES, SEEN, NOW)
    # digits as strings are counts too; a void match stays void
    void, _ = parse_results(results_answer(entry("2", "2", 5), status="VOID"), FULLTIME,
                            TABLES, SEEN, NOW)
    assert (void[0]["status"], void[0]["result"]) == ("void", None)


@pytest.mark.parametrize("doc, fulltime, field", [
    (results_answer(entry(4, 1, 5)), None, "data.matches[0].results[0].stageId"),
    (results_answer(), None, None),  # nothing to refuse: no entries
    ({"data": {"matchResult": []}}, FULLTIME, "data.matches"),
    ({"data": {"matches": [fb4342()]}}, FULLTIME, "data.matches[0].results"),
    (results_answer({**entry(4, 1, 5), "homeResult": "four"}), FULLTIME,
     "data.matches[0].results[0].homeResult"),
    (results_answer({k: v for k, v in entry(4, 1, 5).items() if k != "stageId"}), FULLTIME,
     "data.matches[0].results[0].stageId"),
    (results_answer({**entry(4, 1, 5), "payoutConfirmed": "yes"}), FULLTIME,
     "data.matches[0].results[0].payoutConfirmed"),
    (results_answer(["4-1"]), FULLTIME, "data.matches[0].results[0]"),
    (results_answer(entry(4, 1, 5), kickOffTime=None), FULLTIME, "data.matches[0]"),
])
def test_results_of_unknown_shapes_are_refused_naming_the_field(doc, fulltime, field):
    if field is None:
        assert parse_results(doc, fulltime, TABLES, SEEN, NOW)[0][0]["result"] is None
        return
    with pytest.raises(ShapeError) as e:
        parse_results(doc, fulltime, TABLES, SEEN, NOW)
    assert e.value.field == field, str(e.value)
    assert field in str(e.value)


def test_the_full_time_entry_defaults_to_stage_5_goals_as_public_integrations_read_it():
    from pipeline.core.config import Config

    ft = Config().source.hkjc.fulltime
    assert (ft.stage_id, ft.result_type) == (5, 1)
    assert Config.model_validate({"source": {"hkjc": {"fulltime": None}}}).source.hkjc.fulltime \
        is None


@pytest.mark.parametrize("status", ["MATCHENDED", "INPLAYMATCHENDED"])
def test_ended_statuses_map_to_finished_with_the_final_goals(status):
    # half time (2), normal time (4), final (5); goals (1), corners (2)
    doc = results_answer(entry(1, 0, 2), entry(2, 1, 4), entry(2, 2, 5), entry(6, 3, 5, kind=2),
                         status=status)
    (m,), problems = parse_results(doc, FULLTIME, TABLES, SEEN, NOW)
    assert problems == [] and m["source_status"] == status
    assert (m["status"], m["result"]) == ("finished", {"home_goals": 2, "away_goals": 2})
    odds, _ = parse_odds_answers([results_answer(status=status)], TABLES, SEEN, NOW)
    assert odds[0]["status"] == "finished" and odds[0]["odds"] is None


def test_a_corrected_full_time_entry_counts_by_its_highest_confirmed_sequence():
    doc = results_answer({**entry(1, 2, 5), "sequence": 1}, {**entry(1, 3, 5), "sequence": 3},
                         {**entry(9, 9, 5, confirmed=False), "sequence": 4}, status="MATCHENDED")
    (m,), _ = parse_results(doc, FULLTIME, TABLES, SEEN, NOW)
    assert m["result"] == {"home_goals": 1, "away_goals": 3}


def test_an_answer_without_the_full_time_entry_is_refused_never_guessed():
    only_half = results_answer(entry(1, 0, 2), entry(3, 1, 4), status="MATCHENDED")
    with pytest.raises(ShapeError) as e:
        parse_results(only_half, FULLTIME, TABLES, SEEN, NOW)
    assert "none with stageId 5 and resultType 1" in str(e.value)
    # in an answer that has it, a finished match without it: no result, a problem
    other = results_answer(entry(2, 0, 5), status="MATCHENDED")["data"]["matches"][0]
    lacking = {**other, "id": "x2", "frontEndId": "FB1", "homeTeam": {"name_en": "Levante"},
               "results": [entry(1, 0, 2)]}
    matches, problems = parse_results({"data": {"matches": [other, lacking]}}, FULLTIME,
                                      TABLES, SEEN, NOW)
    assert {m["key"]: m["result"] for m in matches}[other_key(matches, "x2")] is None
    assert problems == ["data.matches[1].results: no confirmed stageId 5 / resultType 1 entry "
                        "(source.hkjc.fulltime): no result taken"]


def other_key(matches: list[dict], source_id: str) -> str:
    return next(m["key"] for m in matches if m["source_id"] == source_id)


# --------------------------------------------------------------------------- the CLI

def test_cli_prints_the_matches_and_refuses_files_of_the_wrong_shape(home, tmp_path, capsys):
    code, out, err = run_cli(capsys, home, "--kind", "hkjc",
                             str(HKJC_DATA / "single-match-preevent-FB5022.json"),
                             str(HKJC_DATA / "single-match-secondhalf-FB4342.json"), "--now", SEEN)
    assert code == 0, err
    assert {m["key"]: m["status"] for m in orjson.loads(out)} == \
        {LEVANTE: "scheduled", SAN_DIEGO: "live"}
    results = tmp_path / "results.json"
    results.write_bytes(orjson.dumps(results_answer(entry(4, 1, 5))))
    code, out, err = run_cli(capsys, home, "--kind", "hkjc-results", str(results))  # default 5,1
    assert code == 0, err
    assert orjson.loads(out)[0]["result"] == {"home_goals": 4, "away_goals": 1}
    code, out, err = run_cli(capsys, home, "--kind", "hkjc-results", str(results),
                             "--fulltime", "4,1")  # an answer without that entry: refused
    assert code == 2 and "stageId 4 and resultType 1" in err and "never guessed" in err
    atomic_write_json(home.system_config, {"source": {"hkjc": {"fulltime": None}}})
    code, out, err = run_cli(capsys, home, "--kind", "hkjc-results", str(results))  # set null
    assert code == 2 and "stageId" in err and "fulltime" in err
    # the real command: a file of the wrong shape, named with its field, exit 2
    wrong = HKJC_DATA / "tournament-list.json"
    done = betpipe(home, "sources", "parse", "--kind", "hkjc",
                   str(HKJC_DATA / "had_example_preevent_FB5022.json"), str(wrong))
    assert done.returncode == 2 and done.stdout == ""
    assert str(wrong) in done.stderr and "data.matches" in done.stderr


# --------------------------------------------------------------------------- in Chromium

@pytest.fixture
def site():
    imitation = HkjcSite()
    yield imitation
    imitation.close()


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_monitor_reads_the_sites_own_answers_off_the_network(home, site, start_monitor):
    anchor(home.clock, start=NOW, speed=1)  # the hkjc source needs speed 1
    atomic_write_json(home.system_config, {"source": {
        "kind": "hkjc", "interval_s": 1, "timeout_s": 15,
        "hkjc": site.config(results_every_s=1, fulltime={"stage_id": 5, "result_type": 1})}})
    unknown = results_answer({k: v for k, v in entry(4, 1, 5).items() if k != "stageId"})
    site.set_results(unknown)
    program = start_monitor()

    doc = poll(lambda: odds(home), 90, "the first odds-data.json", program)
    assert_contract("odds-data", doc)
    assert doc["source"] == "hkjc"
    got = by_key(doc)
    assert set(got) == {LEVANTE, SAN_DIEGO}
    assert got[LEVANTE]["odds"] == {"home": 2.57, "draw": 3.2, "away": 2.32}
    assert got[LEVANTE]["kickoff"] == "2026-03-07T15:15:00Z"
    assert got[LEVANTE]["seen_at"] == doc["fetched_at"]
    assert (got[SAN_DIEGO]["status"], got[SAN_DIEGO]["odds"]) == ("live", None)  # no HAD pool
    # in play, HDC "-4.0/-4.5" H 1.65 / A 2.13 (single-match-secondhalf-FB4342.json): kept
    assert got[SAN_DIEGO]["handicap"] == [{"line": -4.25, "home": 1.65, "away": 2.13}]
    # the results answer of an unknown shape: refused, reported, the odds still written
    problems = poll(lambda: [p for e in program.events("odds.problems")
                                 for p in e["problems"] if "results page" in p], 30,
                        "the refused results answer reported", program)
    assert "data.matches[0].results[0].stageId" in problems[0]
    poll(lambda: health(home)["counters"].get("problems", 0) >= 1, 10, "health counting it",
             program)
    assert by_key(odds(home))[SAN_DIEGO]["result"] is None

    # prices change on the site: the next poll shows them
    changed = fb5022()
    had_line(changed)["combinations"][0]["currentOdds"] = "2.61"
    site.set_matches([changed, fb4342()])
    poll(lambda: by_key(odds(home))[LEVANTE]["odds"]["home"] == 2.61, 30,
             "the new price", program)
    # the results page answers with the final score: the live match is finished
    site.set_results(results_answer(entry(1, 0, 3), entry(4, 1, 5)))
    done = poll(lambda: (d := odds(home)) and by_key(d)[SAN_DIEGO]["result"] and d, 30,
                    "the result from the results page", program)
    assert_contract("odds-data", done)
    assert by_key(done)[SAN_DIEGO]["status"] == "finished"
    assert by_key(done)[SAN_DIEGO]["result"] == {"home_goals": 4, "away_goals": 1}
    # the page asked, the monitor only listened: every query was one the site knows
    assert site.refused == []
    assert site.answered["matchList"] >= 2 and site.answered["matchResult"] >= 2
    assert program.stop() == 0
