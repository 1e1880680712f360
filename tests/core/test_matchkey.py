"""Season-aware match keys on real names and season boundaries (DESIGN: match keys)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from pipeline.core.matchkey import load_tables, season_of
from tests.kit.contracts import FOOTBALL_DATA

T = load_tables()
UTC = timezone.utc


def _names_in_shared_data() -> set[str]:
    names = set()
    for f in FOOTBALL_DATA.glob("*.csv"):
        rows = csv.DictReader(io.StringIO(f.read_bytes().decode("utf-8-sig", errors="replace")))
        for row in rows:
            for col in ("HomeTeam", "AwayTeam"):
                if row.get(col):
                    names.add(row[col])
    return names


def test_every_team_name_in_the_real_data_has_an_alias_entry():
    names = _names_in_shared_data()
    assert len(names) > 100
    unknown = sorted(n for n in names if n.casefold() not in T.aliases)
    assert unknown == []


@pytest.mark.parametrize("raw, canonical", [
    ("Man United", "Manchester United"), ("Manchester Utd", "Manchester United"),
    ("Nott'm Forest", "Nottingham Forest"), ("Man City", "Manchester City"),
    ("Middlesboro", "Middlesbrough"), ("  man   united ", "Manchester United"),
    ("Ath Madrid", "Atletico Madrid"), ("Arsenal", "Arsenal"),
    ("Some New Club", "Some New Club"),  # unknown: kept as the source writes it
])
def test_team_names_become_canonical(raw, canonical):
    assert T.team(raw) == canonical


@pytest.mark.parametrize("when, season", [
    ("2024-06-30T23:59:59", "2023-24"), ("2024-07-01T00:00:00", "2024-25"),
    ("2000-01-01T12:00:00", "1999-00"), ("2099-08-01T12:00:00", "2099-00"),
])
def test_season_boundary_is_first_of_july_utc(when, season):
    assert season_of(datetime.fromisoformat(when).replace(tzinfo=UTC)) == season


def test_league_key_has_no_competition_and_cup_key_has_its_code():
    ko = datetime(2024, 10, 5, 14, tzinfo=UTC)
    assert T.key("Southampton", "Arsenal", kickoff=ko, competition="EPL") == \
        "2024-25_Southampton v Arsenal"
    cup = T.key("Arsenal", "Southampton", kickoff=datetime(2025, 1, 12, 14, tzinfo=UTC),
                competition="EFA")
    assert cup == "2024-25_EFA_Arsenal v Southampton"
    assert T.key("Arsenal", "Southampton", kickoff=ko, competition="ZZZ").startswith("2024-25_ZZZ_")


def test_calendar_year_league_and_source_season_win():
    ko = datetime(2026, 2, 22, 3, 30, tzinfo=UTC)
    assert T.key("San Diego FC", "CF Montreal", kickoff=ko, competition="MLS") == \
        "2026_San Diego FC v CF Montreal"
    # a football-data file's season is the season of its first match: July 2020 is still 2019-20
    late = datetime(2020, 7, 26, 15, tzinfo=UTC)
    assert T.key("Man City", "Norwich", kickoff=late, competition="EPL", season="2019-20") == \
        "2019-20_Manchester City v Norwich"
    assert T.division("E0") == "EPL" and T.division("SP1") == "SFL"


def test_home_aliases_add_to_the_repository_tables(home):
    (home.config_dir / "teams.json").write_text('{"aliases": {"The Saints": "Southampton"}}')
    tables = load_tables(home)
    assert tables.team("the saints") == "Southampton"
    assert tables.team("Man United") == "Manchester United"


def test_cli_prints_the_key(capsys):
    from pipeline.cli import main
    assert main(["key", "Man United", "Nott'm Forest", "--kickoff", "2024-10-05T14:00:00Z"]) == 0
    assert capsys.readouterr().out.strip() == "2024-25_Manchester United v Nottingham Forest"
