"""`betpipe backtest` and `betpipe drill` as a user runs them (real subprocesses)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import orjson
import pytest

from pipeline.cli import analysis as cli
from pipeline.analysis.drill import FACTORS
from pipeline.analysis.fetch import BASE_URL, URL_ENV
from pipeline.history import football_data
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.programs import betpipe

FILES = [str(FOOTBALL_DATA / "E0_2018-19.csv"), str(FOOTBALL_DATA / "E0_2019-20.csv")]
SESSIONS = [
    {"id": "fav-flat", "selection": "favourite", "odds": {"min": 1.4, "max": 2.4},
     "window": {"from_minutes": 60, "to_minutes": 5},
     "staking": {"plan": "flat", "stake": 10}, "limits": {"max_stake": 50}},
    {"id": "dog-pct", "selection": "underdog", "odds": {"min": 2.5, "max": 9},
     "staking": {"plan": "percent", "percent": 2}, "bankroll": 500,
     "limits": {"stop_loss": 200}},
]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "system-config.json"
    path.write_bytes(orjson.dumps({"mode": "paper", "sessions": SESSIONS}))
    return str(path)


def test_backtest_json_equals_the_independent_figures(config, tmp_path):
    plot = tmp_path / "plots" / "equity.svg"
    r = betpipe(None, "backtest", "--data", *FILES, "--config", config, "--odds", "pinnacle",
                "--json", "--plot", str(plot))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress bar with --json
    got = orjson.loads(r.stdout)
    want = reference.backtest([FOOTBALL_DATA / "E0_2018-19.csv", FOOTBALL_DATA / "E0_2019-20.csv"],
                              "pinnacle", SESSIONS)
    assert list(got) == ["fav-flat", "dog-pct"]
    for sid, w in want.items():
        g = got[sid]
        assert set(g) >= {"bets", "staked", "profit", "roi", "hit_rate", "max_drawdown"}
        assert (g["bets"], g["won"]) == (w["bets"], w["won"]) and g["bets"] > 50
        for k in ("staked", "profit", "max_drawdown", "bankroll"):
            assert g[k] == pytest.approx(w[k], abs=0.006), (sid, k)
        assert g["roi"] == pytest.approx(w["roi"], abs=1e-5)
        assert g["hit_rate"] == pytest.approx(w["hit_rate"], abs=1e-5)
    # the equity curves: one panel per session, one point per settled bet (+ the start)
    svg = ET.parse(plot).getroot()
    lines = svg.findall(".//{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2
    assert [len(p.get("points").split()) for p in lines] == [got[s]["bets"] + 1 for s in got]
    titles = [t.text for t in svg.findall(".//{http://www.w3.org/2000/svg}text")]
    assert any(t.startswith("fav-flat") for t in titles)


def test_backtest_table_for_people(config):
    r = betpipe(None, "backtest", "--data", *FILES, "--config", config, "--odds", "avg")
    assert r.returncode == 0, r.stderr
    assert "760 matches with avg prices" in r.stdout
    for word in ("fav-flat", "dog-pct", "max drawdown", "football-data.co.uk"):
        assert word in r.stdout


def test_backtest_errors_name_file_row_and_field(config, tmp_path):
    bad = tmp_path / "E0_bad.csv"
    lines = (FOOTBALL_DATA / "E0_2019-20.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[2] = "7pm"  # Time
    bad.write_text("\n".join(lines[:3] + [",".join(cells)]))
    r = betpipe(None, "backtest", "--data", FILES[1], str(bad), "--config", config,
                "--odds", "b365")
    assert r.returncode == 2 and r.stdout == ""
    assert f"{bad} row 2: time '7pm' is not HH:MM" in r.stderr
    bad_cfg = tmp_path / "bad.json"
    bad_cfg.write_bytes(orjson.dumps({"sessions": [{**SESSIONS[0], "staking": {"plan": "flat"}}]}))
    r = betpipe(None, "backtest", "--data", FILES[1], "--config", str(bad_cfg), "--odds", "b365")
    assert r.returncode == 2
    assert "bad.json: $.sessions[0].staking: plan 'flat' needs 'stake'" in r.stderr
    r = betpipe(None, "backtest", "--data", FILES[1], "--config", config, "--odds", "b365",
                "--plot", str(tmp_path / "x.png"))
    assert r.returncode == 2 and "write an .svg file" in r.stderr


def test_drill_json_down_to_the_records(config):
    r = betpipe(None, "drill", "--data", *FILES, "--odds", "b365", "--by", "season,selection",
                "--session", "dog-pct", "--config", config, "--where", "season=2018-19",
                "--records", "--json")
    assert r.returncode == 0, r.stderr
    doc = orjson.loads(r.stdout)
    assert doc["records"] == "session dog-pct" and doc["by"] == ["season", "selection"]
    groups = doc["groups"]
    assert {g["season"] for g in groups} == {"2018-19"}
    assert [g["selection"] for g in groups] == ["home", "away"]
    for g in groups:
        assert len(g["records"]) == g["count"] and g["count"] > 0
        assert g["profit"] == pytest.approx(sum(x["profit"] for x in g["records"]), abs=0.006)
        assert all(x["season"] == "2018-19" and x["selection"] == g["selection"]
                   for x in g["records"])
    first = groups[0]["records"][0]
    assert set(first) >= {"key", "kickoff", "home", "away", "odds", "stake", "profit", "ftr"}


def test_drill_table_and_errors():
    r = betpipe(None, "drill", "--data", FILES[1], "--odds", "max", "--by", "weekday",
                "--where", "weekday=Fri", "--records")
    assert r.returncode == 0, r.stderr
    assert "Fri" in r.stdout and "Sat" not in r.stdout and "kickoff (UK)" in r.stdout
    r = betpipe(None, "drill", "--data", FILES[1], "--odds", "max", "--by", "colour")
    assert r.returncode == 2 and "unknown factor 'colour'" in r.stderr
    r = betpipe(None, "drill", "--data", FILES[1], "--odds", "max", "--by", "role",
                "--session", "x")
    assert r.returncode == 2 and "--session needs --config" in r.stderr


def test_the_cli_names_agree_with_the_modules():
    assert cli.FACTOR_NAMES == tuple(FACTORS)
    assert cli.BACKTEST_SOURCES == football_data.BACKTEST_SOURCES
    assert cli.PRICE_SOURCES == tuple(sorted(football_data.PRICE_SOURCES))
    assert (cli.DATA_URL, cli.URL_ENV) == (BASE_URL, URL_ENV)
