"""The corpus against every parse function a program reads its input with (pure and fast):
each bad input is refused with the file, the field (JSON path or column) and the reason, or
dropped with a problem saying so; a valid but odd input (kickoff in 2100, hostile names) is
taken as it is."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.analysis.backtest import BacktestError, load_matches
from pipeline.analysis.drill import records_for
from pipeline.core.config import Config, ConfigError, ReplayConfig, load_config, parse_config
from pipeline.core.filebus import MAX_FILE_BYTES, BadFile, read_snapshot
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home
from pipeline.core.state import Book
from pipeline.programs.decide.program import load_odds
from pipeline.core.files import check_decisions, check_odds
from pipeline.history.football_data import FootballDataError, parse_text, uk_kickoff
from pipeline.sources.hkjc import had_odds, parse_odds_answers
from pipeline.sources.replay import load_fixtures, quote
from pipeline.sources.sandbox import parse_rows
from pipeline.strategies.engine import decide
from tests.badinput import corpus
from tests.kit.builders import decision, decisions_doc, match, odds_doc
from tests.kit.contracts import assert_contract
from tests.kit.hkjc_site import load_capture

TABLES = load_tables()
NOW = datetime(2024, 10, 5, 12, tzinfo=timezone.utc)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- JSON snapshots

@pytest.mark.parametrize("name,data,reason", corpus.unreadable(odds_doc()),
                         ids=[c[0] for c in corpus.unreadable(odds_doc())])
def test_unreadable_snapshot_bytes_are_refused_naming_file_and_reason(tmp_path, name, data,
                                                                      reason):
    path = write(tmp_path, "odds-data.json", data)
    for read in (read_snapshot, load_odds):
        with pytest.raises(BadFile) as e:
            read(path)
        assert e.value.path == path and reason in e.value.reason and str(path) in str(e.value)


def test_an_oversized_snapshot_is_refused_from_its_size_without_reading_it(tmp_path):
    path = corpus.write_huge(tmp_path / "odds-data.json", MAX_FILE_BYTES + 10)
    try:
        with pytest.raises(BadFile) as e:
            read_snapshot(path)
    finally:
        path.unlink()  # pytest keeps the last runs' folders: leave no 32 MB behind
    assert f"file size {MAX_FILE_BYTES + 10} bytes is over the limit" in e.value.reason
    assert str(path) in str(e.value)


@pytest.mark.parametrize("name,mutate,where", corpus.BAD_ODDS_VALUES,
                         ids=[c[0] for c in corpus.BAD_ODDS_VALUES])
def test_bad_odds_values_are_refused_by_decide_naming_the_json_path(tmp_path, name, mutate,
                                                                    where):
    doc = odds_doc(match())
    mutate(doc)
    path = write(tmp_path, "odds-data.json", corpus.dumps(doc))
    with pytest.raises(BadFile) as e:
        load_odds(path)
    assert where in e.value.reason and e.value.path == path
    if name in corpus.FOR_EXECUTE:  # execute and track read the same file with check_odds
        with pytest.raises(BadFile) as e:
            check_odds(read_snapshot(path), path)
        assert where in e.value.reason


def _sessions(window: dict | None = None) -> Config:
    s = {"id": "s1", "selection": "away", "staking": {"plan": "flat", "stake": 10}}
    if window:
        s["window"] = window
    return Config.model_validate({"max_odds_age_s": 1e9, "sessions": [s]})


def test_kickoffs_in_the_past_or_in_2100_are_read_and_bet_only_inside_a_window(tmp_path):
    doc = odds_doc(match("2024-25_A v B", kickoff="2000-01-01T00:00:00Z"),
                   match("2100-01_C v D", kickoff="2100-01-01T15:00:00Z"),
                   match("2024-25_E v F"))
    assert_contract("odds-data", doc)
    index = load_odds(write(tmp_path, "odds-data.json", corpus.dumps(doc)))
    no_window = decide(index, _sessions(), Book(), NOW, {})
    assert [d["match_key"] for d in no_window.decisions] == ["2024-25_E v F", "2100-01_C v D"]
    week = decide(index, _sessions({"from_minutes": 10080, "to_minutes": 0}), Book(), NOW, {})
    assert [d["match_key"] for d in week.decisions] == ["2024-25_E v F"]  # 2100 is too far


def test_unicode_and_html_team_names_pass_through_untouched(tmp_path):
    key = f"2024-25_{corpus.HOSTILE_TEAM} v Arsenal"
    doc = odds_doc(match(key))
    index = load_odds(write(tmp_path, "odds-data.json", corpus.dumps(doc)))
    out = decide(index, _sessions(), Book(), NOW, {})
    assert [d["match_key"] for d in out.decisions] == [key]
    assert_contract("decisions", {"version": 1, "written_at": "2024-10-05T12:00:00Z",
                                  "odds_version": 1, "config_version": 1,
                                  "decisions": out.decisions})


@pytest.mark.parametrize("name,mutate,where", corpus.BAD_DECISION_VALUES,
                         ids=[c[0] for c in corpus.BAD_DECISION_VALUES])
def test_bad_decisions_are_refused_by_execute_naming_the_field(tmp_path, name, mutate, where):
    doc = decisions_doc(decision())
    mutate(doc)
    path = write(tmp_path, "decisions.json", corpus.dumps(doc))
    with pytest.raises(BadFile) as e:
        check_decisions(read_snapshot(path), path)
    assert where in e.value.reason and str(path) in str(e.value)


# --------------------------------------------------------------------------- system-config

@pytest.mark.parametrize("name,make,json_path,reason", corpus.BAD_CONFIGS,
                         ids=[c[0] for c in corpus.BAD_CONFIGS])
def test_bad_configs_are_refused_naming_file_json_path_and_reason(tmp_path, name, make,
                                                                  json_path, reason):
    path = write(tmp_path, "system-config.json", make())
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert (e.value.file, e.value.json_path) == (str(path), json_path)
    assert reason in e.value.reason, e.value.reason


def test_the_good_config_of_the_corpus_is_good(tmp_path):
    assert parse_config(corpus.dumps(corpus.good_config()), tmp_path / "c.json").sessions


def test_an_oversized_config_is_refused_unread(tmp_path):
    path = corpus.write_huge(tmp_path / "system-config.json", 5 * 2**20)
    try:
        with pytest.raises(ConfigError) as e:
            load_config(path)
    finally:
        path.unlink()
    assert e.value.json_path == "$" and "over the limit" in e.value.reason


# --------------------------------------------------------------------------- CSVs

def fixtures(text: str, name: str = "E0_2019-20.csv"):
    return parse_text(text, name, TABLES)


def test_shuffled_columns_read_the_same_as_the_original():
    a, b = fixtures(corpus.csv_text()), fixtures(corpus.shuffled_csv())
    assert [(f.key, f.kickoff, f.odds("b365"), f.result) for f in a] == \
           [(f.key, f.kickoff, f.odds("b365"), f.result) for f in b]
    assert len(a) == 2 and a[0].odds("b365") == (1.14, 10.0, 19.0)


@pytest.mark.parametrize("column", ["Date", "HomeTeam", "AwayTeam"])
def test_a_missing_required_column_is_named(column):
    with pytest.raises(FootballDataError, match=f"E0_2019-20.csv: no '{column}' column"):
        fixtures(corpus.without_column(column))


def test_a_missing_odds_column_leaves_the_matches_without_those_odds():
    got = fixtures(corpus.without_column("B365D"))
    assert len(got) == 2 and all(f.odds("b365") is None for f in got)


@pytest.mark.parametrize("text", ["", "\n\n", corpus.CSV_HEADER + "\n"])
def test_an_empty_csv_has_no_matches(text):
    assert fixtures(text) == []


@pytest.mark.parametrize("cell", ["0", "1.0", "-2.5", "NaN", "inf", "-inf", "abc", ""])
def test_bad_odds_cells_drop_the_odds_of_that_row_only(cell):
    got = fixtures(corpus.with_cell(0, "B365A", cell))
    assert got[0].odds("b365") is None and got[1].odds("b365") == (12.0, 6.5, 1.22)
    assert quote(got[0], "b365") is None  # the replay source skips it too


@pytest.mark.parametrize("column,cell,says", [
    ("Time", "25:00", "row 0: time '25:00' is out of range"),
    ("Time", "7pm", "row 0: time '7pm' is not HH:MM"),
    ("Date", "31/02/2020", "row 0: date '31/02/2020' is out of range"),
    ("Date", "2020-02-01", "row 0: date '2020-02-01' is not dd/mm/yy"),
    ("HomeTeam", "", "row 0: Date, HomeTeam or AwayTeam is empty"),
])
def test_bad_cells_are_refused_naming_file_row_and_field(column, cell, says):
    with pytest.raises(FootballDataError) as e:
        fixtures(corpus.with_cell(0, column, cell))
    assert str(e.value).startswith("E0_2019-20.csv ") and says in str(e.value)


def test_hostile_team_names_and_kickoffs_far_off_are_kept_as_written():
    got = fixtures(corpus.with_cell(0, "HomeTeam", "<b>Ünïcödé</b> & \"FC\""))
    assert got[0].home == "<b>Ünïcödé</b> & \"FC\"" and "<b>Ünïcödé</b>" in got[0].key
    assert uk_kickoff("01/01/2100", "15:00").year == 2100


def test_backtest_and_drill_name_the_file_of_a_bad_csv(tmp_path):
    empty = write(tmp_path, "E0_2019-20.csv", b"")
    assert load_matches([empty], "b365").matches == [] and records_for([empty], "b365") == []
    broken = write(tmp_path, "E1_2019-20.csv", corpus.without_column("HomeTeam").encode())
    for run in (lambda: load_matches([broken], "b365"), lambda: records_for([broken], "b365")):
        with pytest.raises(BacktestError, match=f"{broken}: no 'HomeTeam' column"):
            run()
    late = write(tmp_path, "E2_2019-20.csv", corpus.with_cell(1, "Time", "25:00").encode())
    with pytest.raises(BacktestError, match=f"{late} row 1: time '25:00' is out of range"):
        load_matches([late], "b365")


def test_replay_names_what_it_lacks(tmp_path):
    home = Home(tmp_path / "home").ensure()
    (home.root / "empty.csv").write_bytes(b"")
    with pytest.raises(ValueError, match="source.replay: no football-data fixtures"):
        load_fixtures(home, ReplayConfig(files=["empty.csv"]), None, TABLES)
    with pytest.raises(ValueError, match="source.replay.files: no such file"):
        load_fixtures(home, ReplayConfig(files=["gone.csv"]), None, TABLES)


# --------------------------------------------------------------------------- scraped pages

def row(prices=("1.80", "3.60", "4.50"), **attrs) -> dict:
    base = {"id": "E0_2019-20.csv:1", "competition": "EPL", "season": "2019-20",
            "kickoff": "2019-08-11T15:30:00Z", "status": "scheduled", "home": "Man United",
            "away": "Chelsea", "prices": dict(zip(("home", "draw", "away"), prices)), "score": ""}
    return {**base, **attrs}


@pytest.mark.parametrize("price", ["0", "1.0", "1", "-2.5", "NaN", "inf", "Infinity", "abc", 0,
                                   -1.5, float("nan"), float("inf")])
def test_sandbox_page_prices_that_are_not_prices_drop_the_odds_with_a_problem(price):
    matches, problems = parse_rows([row(("1.80", "3.60", price))], TABLES, "2019-08-09T18:30:00Z")
    assert matches[0]["odds"] is None
    assert problems and "price away" in problems[0] and "odds dropped" in problems[0]


def test_sandbox_page_duplicates_hostile_names_and_kickoffs():
    rows = [row(), row(id="E0_2019-20.csv:2"),  # the same key twice
            row(id="x:3", home="<img src=x onerror=alert(1)>", away="Ünïcödé ⚽"),
            row(id="x:4", home="A", away="B", kickoff="2100-01-01T15:00:00Z"),
            row(id="x:5", home="C", away="D", kickoff="2000-01-01T15:00:00Z"),
            row(id="x:6", home="E", away="F", kickoff="soon")]
    matches, problems = parse_rows(rows, TABLES, "2019-08-09T18:30:00Z")
    assert [m["home"] for m in matches] == ["Manchester United", "<img src=x onerror=alert(1)>",
                                             "A", "C"]
    assert any("appears twice; the later row skipped" in p for p in problems)
    assert any("row x:6" in p and "kickoff 'soon' is not a timestamp" in p for p in problems)
    assert_contract("odds-data", {"version": 1, "written_at": "2019-08-09T18:30:00Z",
                                  "source": "sandbox", "fetched_at": "2019-08-09T18:30:00Z",
                                  "matches": matches})


@pytest.mark.parametrize("odds", ["0", "1.00", "-1.5", "NaN", "Infinity", "abc", None])
def test_hkjc_answers_with_bad_prices_drop_the_odds_with_a_problem(odds):
    doc = load_capture("single-match-preevent-FB5022.json")
    raw = doc["data"]["matches"][0]
    pools = copy.deepcopy(raw["foPools"])
    had = next(p for p in pools if p.get("oddsType") == "HAD")
    line = next(ln for ln in had["lines"] if ln.get("main")) if len(had["lines"]) > 1 \
        else had["lines"][0]
    line["combinations"][1]["currentOdds"] = odds
    problems: list[str] = []
    assert had_odds(pools, "match FB5022", problems) is None
    assert problems and problems[0].startswith("match FB5022: HAD")
    raw["foPools"] = pools
    matches, problems = parse_odds_answers([doc], TABLES, "2026-02-22T04:45:00Z",
                                           datetime(2026, 2, 22, 4, 45, tzinfo=timezone.utc))
    assert matches[0]["odds"] is None and any("odds dropped" in p for p in problems)
