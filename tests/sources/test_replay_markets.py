"""The replay source's Asian handicap and over/under 2.5 (DESIGN: markets): the same timeline and
pricing as 1X2, from the CSV columns read here with the csv module, not through the project."""
from __future__ import annotations

import csv
from datetime import timedelta

import pytest

from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history.football_data import parse_file
from pipeline.sources.replay import Replay
from tests.kit.contracts import assert_contract, FOOTBALL_DATA

TABLES = load_tables()
E0_2019 = FOOTBALL_DATA / "E0_2019-20.csv"
E0_2006 = FOOTBALL_DATA / "E0_2006-07.csv"

pytestmark = pytest.mark.skipif(not E0_2019.exists(), reason=f"no CSVs in {FOOTBALL_DATA}")


def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def snapshot(replay: Replay, now) -> dict:
    matches, _ = replay.matches_at(now, iso(now))
    assert_contract("odds-data", {"version": 1, "written_at": iso(now), "source": "replay",
                                  "fetched_at": iso(now), "matches": matches})
    return {m["key"]: m for m in matches}


def linear(opening: float, closing: float, frac: float) -> float:
    return max(1.02, round(opening + (closing - opening) * frac, 2))


@pytest.fixture(scope="module")
def replay():
    return Replay(parse_file(E0_2019, TABLES), TABLES, grid_s=3600)


def test_a_line_that_holds_moves_its_prices_from_pre_match_to_closing(replay):
    row = rows(E0_2019)[0]  # Liverpool v Norwich, 09/08/2019 20:00 UK = 19:00Z
    assert (row["HomeTeam"], row["AHh"], row["AHCh"]) == ("Liverpool", "-2.25", "-2.25")
    key, kickoff = "2019-20_Liverpool v Norwich", parse_iso("2019-08-09T19:00:00Z")
    opening = snapshot(replay, kickoff - timedelta(days=7))[key]
    assert opening["handicap"] == [{"line": -2.25, "home": float(row["B365AHH"]),
                                    "away": float(row["B365AHA"])}]
    assert opening["totals"] == [{"line": 2.5, "over": float(row["B365>2.5"]),
                                  "under": float(row["B365<2.5"])}]
    at = kickoff - timedelta(days=2)
    frac = 5 / 7
    mid = snapshot(replay, at)[key]
    assert mid["handicap"] == [{"line": -2.25,
                                "home": linear(float(row["B365AHH"]), float(row["B365CAHH"]), frac),
                                "away": linear(float(row["B365AHA"]), float(row["B365CAHA"]), frac)}]
    assert mid["totals"] == [{"line": 2.5,
                              "over": linear(float(row["B365>2.5"]), float(row["B365C>2.5"]), frac),
                              "under": linear(float(row["B365<2.5"]), float(row["B365C<2.5"]),
                                              frac)}]
    live = snapshot(replay, kickoff)[key]
    assert "handicap" not in live and "totals" not in live and live["status"] == "live"


def test_a_moved_line_changes_once_half_way_and_the_step_clock_sees_it(replay):
    row = rows(E0_2019)[8]
    assert (row["HomeTeam"], row["AwayTeam"], row["Date"], row["Time"]) == \
        ("Newcastle", "Arsenal", "11/08/2019", "14:00")
    assert (row["AHh"], row["AHCh"]) == ("0.75", "0.25")
    key, kickoff = "2019-20_Newcastle v Arsenal", parse_iso("2019-08-11T13:00:00Z")
    pre = [{"line": 0.75, "home": float(row["B365AHH"]), "away": float(row["B365AHA"])}]
    close = [{"line": 0.25, "home": float(row["B365CAHH"]), "away": float(row["B365CAHA"])}]
    half = kickoff - timedelta(days=3, hours=12)
    assert snapshot(replay, kickoff - timedelta(days=7))[key]["handicap"] == pre
    assert snapshot(replay, half - timedelta(milliseconds=1))[key]["handicap"] == pre
    assert snapshot(replay, half)[key]["handicap"] == close
    assert snapshot(replay, kickoff - timedelta(milliseconds=1))[key]["handicap"] == close
    # the step clock stops at the change (a grid instant at or after it), never past it
    after = half - timedelta(hours=2)
    nxt = replay.next_change(after)
    assert nxt <= half + timedelta(hours=1)
    assert snapshot(replay, after)[key]["handicap"] == pre


def test_bookmaker_columns_and_old_files_with_the_bb_average():
    fixtures = parse_file(E0_2019, TABLES)
    row = rows(E0_2019)[0]
    pinnacle = Replay(fixtures, TABLES, odds="pinnacle")
    kickoff = parse_iso("2019-08-09T19:00:00Z")
    last = snapshot(pinnacle, kickoff - timedelta(milliseconds=1))["2019-20_Liverpool v Norwich"]
    assert last["handicap"] == [{"line": float(row["AHCh"]), "home": float(row["PCAHH"]),
                                 "away": float(row["PCAHA"])}]
    assert last["totals"] == [{"line": 2.5, "over": float(row["PC>2.5"]),
                               "under": float(row["PC<2.5"])}]
    if not E0_2006.exists():
        pytest.skip(f"no {E0_2006}")
    # 2006-07 has no B365 AH/OU columns and no closing ones: the Bb average, flat
    old = rows(E0_2006)
    assert "B365AHH" not in old[0] and "BbAvAHH" in old[0]
    replay = Replay(parse_file(E0_2006, TABLES), TABLES)
    f = replay.fixtures[0]
    raw = next(r for r in old if (r["HomeTeam"], r["AwayTeam"]) == (f.home, f.away))
    for at in (f.kickoff - timedelta(days=7), f.kickoff - timedelta(hours=1)):
        m = snapshot(replay, at)[f.key]
        assert m["handicap"] == [{"line": float(raw["BbAHh"]), "home": float(raw["BbAvAHH"]),
                                  "away": float(raw["BbAvAHA"])}]
        assert m["totals"] == [{"line": 2.5, "over": float(raw["BbAv>2.5"]),
                                "under": float(raw["BbAv<2.5"])}]
