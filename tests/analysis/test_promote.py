"""betpipe drill --promote GROUP --as ID: the group as a disabled session in the home's config,
through the hand edit's validation, atomic write and audit record."""
from __future__ import annotations

import json

import pytest

from pipeline.cli import main
from pipeline.core.config import load_config
from pipeline.core.paths import Home
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA

FILE = FOOTBALL_DATA / "E0_2019-20.csv"
EXISTING = {"id": "keep", "selection": "home", "staking": {"plan": "flat", "stake": 5}}


@pytest.fixture
def home(tmp_path):
    h = Home(tmp_path / "home").ensure()
    h.system_config.write_text(json.dumps({"sessions": [EXISTING]}, indent=2) + "\n")
    return h


def drill(home, *more) -> list[str]:
    return ["--home", str(home.root), "drill", "--data", str(FILE), "--odds", "b365",
            "--by", "competition,odds_band", *more]


def test_a_promoted_group_is_a_disabled_session_that_bets_that_group(home, capsys):
    assert main(drill(home, "--json")) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    group = next(g for g in groups if g["odds_band"] == "1.5-2")
    assert main(drill(home, "--promote", "competition=EPL,odds_band=1.5-2", "--as",
                      "fav-mid", "--json")) == 0
    capsys.readouterr()
    cfg = load_config(home.system_config)
    assert [s.id for s in cfg.sessions] == ["keep", "fav-mid"]
    s = cfg.session("fav-mid")
    assert (s.enabled, s.selection, s.competitions) == (False, "favourite", ["EPL"])
    assert (s.odds.min, s.odds.max) == (1.5, 1.99)
    assert cfg.session("keep") == load_config(home.system_config).session("keep")
    # enabled, it bets exactly the group's matches (the drill backs 1 unit, the session 10)
    written = json.loads(home.system_config.read_text())["sessions"][1]
    assert written["staking"] == {"plan": "flat", "stake": 10.0} and written["enabled"] is False
    on = {**written, "enabled": True}
    ref = reference.backtest([FILE], "b365", [on])["fav-mid"]
    assert ref["bets"] == group["count"] > 0
    assert ref["profit"] == pytest.approx(10 * group["profit"], abs=0.06)
    audit = [json.loads(x) for x in home.audit.read_text().splitlines()]
    assert audit[-1]["by"] == "cli" and "fav-mid" in json.dumps(audit[-1])


def test_factors_that_cannot_be_session_keys_and_duplicates_are_refused(home, capsys):
    before = home.system_config.read_bytes()
    argv = ["--home", str(home.root), "drill", "--data", str(FILE), "--odds", "b365", "--by",
            "season,role", "--promote", "season=2019-20,role=favourite", "--as", "x"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "factor 'season' cannot be a session key" in err
    assert main(drill(home, "--promote", "competition=EPL,odds_band=1.5-2", "--as",
                      "keep")) == 2
    assert "'keep' exists" in capsys.readouterr().err
    assert main(drill(home, "--promote", "competition=EPL,odds_band=7-8", "--as", "y")) == 2
    assert "no drill group" in capsys.readouterr().err
    assert home.system_config.read_bytes() == before
