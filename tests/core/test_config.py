"""Config: frozen, validated, unknown keys rejected, a bad edit keeps the last good config."""
from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from pipeline.core.config import Config, ConfigError, ConfigHolder, default_config, load_config

SESSION = {"id": "fav", "selection": "favourite", "staking": {"plan": "flat", "stake": 10}}


def write(path, doc):
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc))


def test_default_config_is_valid_and_frozen():
    cfg = Config.model_validate(default_config())
    assert cfg.mode == "paper" and cfg.clock.speed == 60 and len(cfg.sessions) == 2
    with pytest.raises(ValidationError):
        cfg.sessions[0].bankroll = 5


@pytest.mark.parametrize("doc, path, reason", [
    ({"sessions": [{**SESSION, "oods": {}}]}, "$.sessions[0].oods", "unknown key"),
    ({"sessions": [{**SESSION, "staking": {"plan": "flat", "stake": 0}}]},
     "$.sessions[0].staking.stake", "greater than 0"),
    ({"sessions": [{**SESSION, "odds": {"min": 3, "max": 2}}]}, "$.sessions[0].odds",
     "greater than max"),
    ({"sessions": [{**SESSION, "bankroll": "lots"}]}, "$.sessions[0].bankroll", "number"),
    ({"mode": "yolo"}, "$.mode", "'paper' or 'live'"),
    ({"sessions": [SESSION, SESSION]}, "$.sessions", "appears twice"),
])
def test_bad_configs_name_file_path_and_reason(tmp_path, doc, path, reason):
    f = tmp_path / "system-config.json"
    write(f, doc)
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert err.value.json_path == path
    assert reason in err.value.reason
    assert str(f) in str(err.value)


def test_not_json_is_named(tmp_path):
    f = tmp_path / "system-config.json"
    write(f, b'{"mode": "paper",')
    with pytest.raises(ConfigError, match=r"system-config.json: \$: not JSON"):
        load_config(f)


def test_holder_keeps_last_good_config_on_a_bad_edit(tmp_path):
    f = tmp_path / "system-config.json"
    write(f, {"sessions": [SESSION]})
    holder = ConfigHolder(f)
    assert holder.reload() and holder.version == 1
    write(f, {"sessions": [{**SESSION, "stake": 5}]})  # typo: stake outside staking
    assert holder.reload() is False
    assert holder.config.sessions[0].staking.stake == 10 and holder.version == 1
    assert holder.error.json_path == "$.sessions[0].stake"
    write(f, {"sessions": [{**SESSION, "enabled": False}]})
    assert holder.reload() and holder.version == 2 and holder.error is None
    assert holder.config.sessions[0].enabled is False
    assert holder.reload() is False  # unchanged file: nothing new


def test_a_config_removed_then_restored_as_it_was_clears_the_error(tmp_path):
    f = tmp_path / "system-config.json"
    write(f, {"sessions": [SESSION]})
    holder = ConfigHolder(f)
    assert holder.reload() and holder.version == 1
    f.unlink()
    assert holder.reload() is False and holder.error.reason == "file not found"
    assert holder.config.sessions[0].id == "fav"  # the last good config runs on
    write(f, {"sessions": [SESSION]})  # the same bytes as before it went
    assert holder.reload() is False and holder.error is None and holder.version == 1


# -- markets (DESIGN: markets → session keys) -------------------------------------------------

@pytest.mark.parametrize("doc, path, reason", [
    ({**SESSION, "market": "OU", "selection": "favourite"}, "$.sessions[0].selection",
     "does not fit market 'OU'"),
    ({**SESSION, "market": "AH", "selection": "draw"}, "$.sessions[0].selection",
     "does not fit market 'AH'"),
    ({**SESSION, "selection": "over"}, "$.sessions[0].selection", "does not fit market '1X2'"),
    ({**SESSION, "market": "BTTS"}, "$.sessions[0].market", "'1X2', 'AH' or 'OU'"),
    ({**SESSION, "line": {"min": -1}}, "$.sessions[0].line", "1X2' has no line"),
    ({**SESSION, "market": "AH", "line": {"min": 0, "max": -1}}, "$.sessions[0].line",
     "greater than max"),
    ({**SESSION, "market": "OU", "selection": "over", "line": {"mni": 2}},
     "$.sessions[0].line.mni", "unknown key"),
])
def test_a_selection_or_line_that_does_not_fit_the_market_is_refused(tmp_path, doc, path, reason):
    f = tmp_path / "system-config.json"
    write(f, {"sessions": [doc]})
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert err.value.json_path == path
    assert reason in err.value.reason


@pytest.mark.parametrize("market, selections", [
    ("AH", ("home", "away", "favourite", "underdog")), ("OU", ("over", "under")),
    ("1X2", ("home", "draw", "away", "favourite", "underdog"))])
def test_each_market_takes_its_selections_and_line_bounds(market, selections):
    for sel in selections:
        doc = {**SESSION, "market": market, "selection": sel}
        if market != "1X2":
            doc["line"] = {"min": -1.0, "max": 0}
        s = Config.model_validate({"sessions": [doc]}).sessions[0]
        assert (s.market, s.selection) == (market, sel)
        assert s.line is None if market == "1X2" else (s.line.min, s.line.max) == (-1.0, 0)
    assert Config.model_validate({"sessions": [SESSION]}).sessions[0].market == "1X2"


@pytest.mark.parametrize("staking, path, reason", [
    ({"plan": "flat"}, "$.sessions[0].staking", "plan 'flat' needs 'stake'"),
    ({"plan": "kelly", "edge": 0.1}, "$.sessions[0].staking", "plan 'kelly' needs 'fraction'"),
    ({"plan": "ladder", "stake": 5}, "$.sessions[0].staking", "plan 'ladder' needs 'target'"),
    ({"plan": "percent", "percent": 101}, "$.sessions[0].staking.percent", "less than or equal"),
    ({"plan": "martingale", "stake": 5, "max_steps": 0}, "$.sessions[0].staking.max_steps",
     "greater than or equal to 1"),
    ({"plan": "flat", "stake": 5, "target": 9}, "$.sessions[0].staking.target", "unknown key"),
    ({"plan": "double", "stake": 5}, "$.sessions[0].staking.plan", "'flat', 'percent'"),
])
def test_each_staking_plan_is_its_own_class_with_the_old_messages(tmp_path, staking, path, reason):
    f = tmp_path / "system-config.json"
    write(f, {"sessions": [{**SESSION, "staking": staking}]})
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert (err.value.json_path, reason in err.value.reason) == (path, True), err.value.reason


def test_a_staking_plan_is_flat_when_left_out_and_every_plan_has_its_function():
    from pipeline.core.config import Flat
    from pipeline.core.plans import PLAN_CLASSES
    from pipeline.strategies import staking
    s = Config.model_validate({"sessions": [{**SESSION, "staking": {"stake": 3}}]}).sessions[0]
    assert isinstance(s.staking, Flat) and s.staking.stake == 3
    assert set(staking.STAKES) == set(PLAN_CLASSES)
