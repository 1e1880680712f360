"""football-data CSVs: every real file parses; kickoffs, seasons, keys and prices are right."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipeline.core.matchkey import load_tables
from pipeline.history.football_data import (PRICE_SOURCES, FootballDataError, decode,
                                            load_folder, parse_file, parse_text, price)
from tests.kit.contracts import FOOTBALL_DATA

TABLES = load_tables()
FILES = sorted(FOOTBALL_DATA.glob("*.csv"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def e0_2019():
    return parse_file(FOOTBALL_DATA / "E0_2019-20.csv", TABLES)


def test_the_real_data_is_there():
    assert len(FILES) >= 24, f"expected the football-data CSVs in {FOOTBALL_DATA}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_real_file_parses(path):
    fixtures = parse_file(path, TABLES)
    assert fixtures, path
    if path.name.startswith("E0_"):
        assert len(fixtures) == 380
    assert [f.row for f in fixtures] == sorted({f.row for f in fixtures})
    assert len({f.season for f in fixtures}) == 1
    for f in fixtures:
        assert f.kickoff.tzinfo is not None and f.kickoff.utcoffset().total_seconds() == 0
        assert f.home and f.away and f.ftr in ("H", "D", "A")
        assert f.result is not None
        assert f.key.startswith(f"{f.season}_")


def test_load_folder_reads_every_file_in_name_order():
    fixtures = load_folder(FOOTBALL_DATA, TABLES)
    assert len(fixtures) == sum(len(parse_file(p, TABLES)) for p in FILES)
    names = [f.file for f in fixtures]
    assert names == sorted(names)
    assert len({f.id for f in fixtures}) == len(fixtures)


def test_first_epl_match_of_2019_20(e0_2019):
    f = e0_2019[0]
    assert (f.id, f.div, f.competition, f.season) == ("E0_2019-20.csv:0", "E0", "EPL", "2019-20")
    assert (f.home, f.away) == ("Liverpool", "Norwich")
    assert f.kickoff == utc(2019, 8, 9, 19, 0)  # 20:00 BST
    assert f.key == "2019-20_Liverpool v Norwich"
    assert (f.fthg, f.ftag, f.ftr, f.result) == (4, 1, "H", (4, 1))


def test_winter_kickoff_is_gmt(e0_2019):
    f = e0_2019[138]  # 01/12/2019 16:30 UK, Leicester v Everton
    assert (f.home, f.away) == ("Leicester", "Everton")
    assert f.kickoff == utc(2019, 12, 1, 16, 30)


def test_file_without_time_kicks_off_at_1500_uk():
    summer = parse_file(FOOTBALL_DATA / "E0_2018-19.csv", TABLES)[0]  # 10/08/2018, no Time
    assert summer.kickoff == utc(2018, 8, 10, 14, 0)  # 15:00 BST
    winter = parse_file(FOOTBALL_DATA / "E0_2003-04.csv", TABLES)[140]  # 06/12/03
    assert (winter.home, winter.away) == ("Birmingham", "Blackburn")
    assert winter.kickoff == utc(2003, 12, 6, 15, 0)  # 15:00 GMT, two-digit year


def test_two_digit_years():
    f = parse_file(FOOTBALL_DATA / "E0_2000-01.csv", TABLES)[0]  # 19/08/00
    assert f.kickoff == utc(2000, 8, 19, 14, 0)
    assert f.season == "2000-01"


def test_season_is_the_files_first_match_season(e0_2019):
    july = [f for f in e0_2019 if f.kickoff.year == 2020 and f.kickoff.month == 7]
    assert july, "the 2019-20 file runs into July 2020"
    assert {f.season for f in july} == {"2019-20"}
    assert july[0].key.startswith("2019-20_")


def test_latin1_file_parses():
    fixtures = parse_file(FOOTBALL_DATA / "E0_2004-05.csv", TABLES)
    assert len(fixtures) == 380
    f = fixtures[335]
    assert (f.home, f.away) == ("Aston Villa", "Bolton")
    assert f.get("Referee") == "U Rennie"  # the cell starts with a latin-1 no-break space
    assert decode(b"caf\xe9") == "caf\xe9"


def test_old_rows_with_more_fields_than_the_header(tmp_path):
    fixtures = parse_file(FOOTBALL_DATA / "E0_2003-04.csv", TABLES)
    assert len(fixtures) == 380
    assert all(len(f.cells) <= len(f.columns) for f in fixtures)


BOM_CSV = ("\ufeffDiv,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A,AvgH,AvgD,AvgA\r\n"
           "E0,16/08/2024,20:00,Man United,Fulham,1,0,H,1.6,4.2,5.5,1.62,4.1,5.3,extra,fields\r\n"
           ",,,,,,,,,,,,,\r\n"
           "\r\n"
           "E0,17/08/2024,12:30,Ipswich,Liverpool,0,2,A,,4.5,x,8.0,5.0,1.4\r\n")


def test_bom_crlf_blank_rows_and_extras(tmp_path):
    path = tmp_path / "new_2024-25.csv"  # a name that does not give the Div away
    path.write_bytes(BOM_CSV.encode("utf-8"))
    a, b = parse_file(path, TABLES)
    assert (a.div, a.competition, a.season) == ("E0", "EPL", "2024-25")
    assert a.key == "2024-25_Manchester United v Fulham"
    assert a.home == "Man United"  # as written in the CSV
    assert a.kickoff == utc(2024, 8, 16, 19, 0)
    assert (a.row, b.row) == (0, 3)  # blank records skipped but counted
    assert a.odds("b365") == (1.6, 4.2, 5.5)
    assert b.odds("b365") is None  # empty and non-numeric cells
    assert b.odds("avg") == (8.0, 5.0, 1.4)
    assert b.odds(("B365D", "AvgD", "AvgA")) == (4.5, 5.0, 1.4)
    assert (b.fthg, b.ftag, b.ftr) == (0, 2, "A")


def test_price_sources_fall_back_in_old_files(e0_2019):
    old = parse_file(FOOTBALL_DATA / "E0_2010-11.csv", TABLES)[0]
    assert old.get("AvgH") is None
    expected = tuple(float(old.get(c)) for c in ("BbAvH", "BbAvD", "BbAvA"))
    assert old.odds("avg") == expected
    assert old.odds("max") == tuple(float(old.get(c)) for c in ("BbMxH", "BbMxD", "BbMxA"))
    assert old.odds("pinnacle") is None  # PSH from 2012-13
    new = e0_2019[0]
    assert new.odds("avg") == tuple(float(new.get(c)) for c in ("AvgH", "AvgD", "AvgA"))
    assert new.odds("b365") == (1.14, 10.0, 19.0)
    assert new.odds("b365-closing") == (1.14, 9.5, 21.0)
    for name in ("b365", "b365-closing", "avg", "max", "pinnacle", "pinnacle-closing"):
        assert name in PRICE_SOURCES and new.odds(name) is not None
    with pytest.raises(KeyError):
        new.odds("nope")


@pytest.mark.parametrize("cell,expected", [("2.5", 2.5), ("", None), ("abc", None), ("1", None),
                                           ("0.9", None), ("nan", None), ("inf", None),
                                           (None, None), ("1.01", 1.01)])
def test_invalid_price_cells(cell, expected):
    assert price(cell) == expected


def test_a_bad_date_names_file_and_row():
    text = "Div,Date,HomeTeam,AwayTeam\nE0,2019-08-09,A,B\n"
    with pytest.raises(FootballDataError, match=r"x\.csv row 0"):
        parse_text(text, "x.csv", TABLES)
