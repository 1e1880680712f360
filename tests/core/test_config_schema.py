"""The config's JSON Schema (issue 20): a description on every field, and it agrees with the
models on the cookbook examples and the default demo config (checked with jsonschema)."""
from __future__ import annotations

import functools
from pathlib import Path

import jsonschema
import orjson
import pytest

from pipeline.core.config import ConfigError, Session, default_config, parse_config
from pipeline.core.confighelp import HELP
from pipeline.core.configschema import config_schema, undescribed
from pipeline.core.paths import REPO

EXAMPLES = sorted((REPO / "config" / "examples").glob("*.json"))
# example -> a session key it needs that other branches are adding (markets2, model)
NEEDS = {"asian-handicap": ("market", "line"), "value-model": ("probability", "min_edge")}


@functools.cache
def schema_validator():
    """jsonschema.validate's validator for the config schema, the schema checked, made once
    for the module (validate() checks the schema again on every call)."""
    schema = config_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(doc) -> None:
    schema_validator().validate(doc)


def test_every_field_has_a_description_and_every_description_a_field():
    schema = config_schema()
    assert undescribed(schema) == []
    models = {"Config": schema, **schema["$defs"]}
    stale = [f"{m}.{f}" for m, fields in HELP.items() for f in fields
             if f not in models.get(m, {}).get("properties", {})]
    assert stale == []


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(config_schema())


def test_the_cookbook_has_the_four_examples():
    assert {p.stem for p in EXAMPLES} == {"flat-favourite", "ladder", "asian-handicap",
                                         "value-model"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_betting_on_the_model_runs_the_model_program(path: Path):
    doc = orjson.loads(path.read_bytes())
    wants = [s["id"] for s in doc["sessions"] if s.get("probability", {}).get("from") == "model"]
    assert not wants or doc.get("model", {}).get("enabled") is True, wants


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_loads_and_matches_the_schema(path: Path):
    missing = [k for k in NEEDS.get(path.stem, ()) if k not in Session.model_fields]
    if missing:
        pytest.skip(f"the config model has no session key {', '.join(missing)} yet")
    doc = orjson.loads(path.read_bytes())
    validate(doc)
    cfg = parse_config(path.read_bytes(), path)
    assert [s.id for s in cfg.sessions] == [s["id"] for s in doc["sessions"]]


def test_the_default_demo_config_matches_the_schema_with_and_without_schema_key():
    validate(default_config())
    doc = {"$schema": "system-config.schema.json", **default_config()}
    validate(doc)
    assert parse_config(orjson.dumps(doc), Path("c.json")) == parse_config(
        orjson.dumps(default_config()), Path("c.json"))


def test_schema_and_models_refuse_the_same_bad_values():
    for bad in ({"sessions": [{"id": "x", "selection": "home"}]},  # no staking
                {"mode": "dream"}, {"nope": 1}, {"$schema": 5},
                {"sessions": [{"id": "x", "selection": "home", "staking": {"plan": "flat",
                                                                         "stake": -1}}]}):
        with pytest.raises(jsonschema.ValidationError):
            validate(bad)
        with pytest.raises(ConfigError):
            parse_config(orjson.dumps(bad), Path("c.json"))
