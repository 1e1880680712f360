"""football-data's Asian handicap and over/under 2.5 columns as odds-data `handicap` / `totals`
(DESIGN: markets → backtest columns), checked against the raw cells of real files."""
from __future__ import annotations

import csv

import pytest

from pipeline.core.matchkey import load_tables
from pipeline.history.football_data import parse_file, parse_text
from tests.kit.contracts import FOOTBALL_DATA

TABLES = load_tables()


def raw_rows(name: str) -> list[dict[str, str]]:
    with (FOOTBALL_DATA / name).open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name,source,cols", [
    ("E0_2019-20.csv", "b365", ("AHh", "B365AHH", "B365AHA", "B365>2.5", "B365<2.5")),
    ("E0_2019-20.csv", "pinnacle-closing", ("AHCh", "PCAHH", "PCAHA", "PC>2.5", "PC<2.5")),
    ("SP1_2019-20.csv", "b365", ("AHh", "B365AHH", "B365AHA", "B365>2.5", "B365<2.5")),
    ("E0_2015-16.csv", "avg", ("BbAHh", "BbAvAHH", "BbAvAHA", "BbAv>2.5", "BbAv<2.5")),
    ("E0_2013-14.csv", "max", ("BbAHh", "BbMxAHH", "BbMxAHA", "BbMx>2.5", "BbMx<2.5")),
])
def test_every_row_carries_its_cells(name, source, cols):
    fixtures, rows = parse_file(FOOTBALL_DATA / name, TABLES), raw_rows(name)
    assert len(fixtures) == len(rows)
    ah_rows = ou_rows = 0
    for f, r in zip(fixtures, rows):
        line, home, away, over, under = (r[c] for c in cols)
        if line and home and away:
            ah_rows += 1
            assert f.handicap(source) == [{"line": float(line), "home": float(home),
                                           "away": float(away)}]
        else:  # a missing cell leaves AH out of this row, not OU
            assert f.handicap(source) == []
        if over and under:
            ou_rows += 1
            assert f.totals(source) == [{"line": 2.5, "over": float(over),
                                         "under": float(under)}]
        else:
            assert f.totals(source) == []
    assert ah_rows >= len(rows) - 10 and ou_rows >= len(rows) - 10


def test_real_rows_missing_a_price_leave_only_that_market_out():
    fixtures = parse_file(FOOTBALL_DATA / "SP1_2019-20.csv", TABLES)
    no_ah = [f for f in fixtures if not f.handicap("b365")]
    assert len(no_ah) == 10 and all(f.totals("b365") for f in no_ah)
    assert all(f.handicap("avg") for f in no_ah)  # the average columns are still there
    blank_line = [f for f in parse_file(FOOTBALL_DATA / "E0_2013-14.csv", TABLES)
                  if not f.handicap("avg")]
    assert blank_line and all(f.get("BbAHh") == "" and f.totals("avg") for f in blank_line)


def _first_row_with(cells: dict[str, str]) -> str:
    """E0 2019-20's header and first match with some cells replaced."""
    text = (FOOTBALL_DATA / "E0_2019-20.csv").read_text(encoding="utf-8-sig").splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    for col, value in cells.items():
        row[header.index(col)] = value
    return "\n".join([text[0], ",".join(row)]) + "\n"


@pytest.mark.parametrize("cells,ah,ou", [
    ({}, True, True),
    ({"AHh": "-0.3"}, False, True),            # not a quarter line
    ({"AHh": "nan"}, False, True),
    ({"AHh": "abc"}, False, True),
    ({"B365AHH": "1.0"}, False, True),         # a price must exceed 1
    ({"B365AHA": ""}, False, True),
    ({"B365>2.5": "x"}, True, False),
    ({"B365<2.5": "inf"}, True, False),
])
def test_a_bad_cell_leaves_its_market_out_of_the_row(cells, ah, ou):
    f = parse_text(_first_row_with(cells), "E0_2019-20.csv", TABLES)[0]
    assert bool(f.handicap("b365")) is ah and bool(f.totals("b365")) is ou
    assert f.odds("b365") is not None  # 1X2 untouched


def test_minus_zero_line_reads_as_zero_and_unknown_sources_are_named():
    f = parse_text(_first_row_with({"AHh": "-0"}), "E0_2019-20.csv", TABLES)[0]
    assert repr(f.handicap("b365")[0]["line"]) == "0.0"
    with pytest.raises(KeyError, match="handicap source 'bet365'"):
        f.handicap("bet365")
    with pytest.raises(KeyError, match="totals source 'bet365'"):
        f.totals("bet365")
