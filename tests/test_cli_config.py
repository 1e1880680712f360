"""`betpipe config schema | check | new` and init-home's schema (issue 20), as subprocesses."""
from __future__ import annotations

import jsonschema
import orjson

from pipeline.core.config import load_config
from pipeline.core.configschema import config_schema
from tests.kit.programs import betpipe


def test_schema_prints_the_models_schema():
    out = betpipe(None, "config", "schema")
    assert out.returncode == 0
    assert orjson.loads(out.stdout) == orjson.loads(orjson.dumps(config_schema()))


def test_init_home_writes_the_schema_beside_a_config_that_names_it(home):
    out = betpipe(home, "init-home")
    assert out.returncode == 0, out.stderr
    schema_file = home.config_dir / "system-config.schema.json"
    doc = orjson.loads(home.system_config.read_bytes())
    assert doc["$schema"] == "system-config.schema.json"
    assert (home.config_dir / doc["$schema"]).resolve() == schema_file.resolve()
    jsonschema.validate(doc, orjson.loads(schema_file.read_bytes()))
    assert load_config(home.system_config).sessions  # betpipe loads it, "$schema" and all
    assert betpipe(home, "config", "check").returncode == 0


def test_check_names_file_path_and_reason_on_stderr(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"sessions": [{"id": "a", "selection": "home", '
                   '"staking": {"plan": "flat", "stake": "10"}}]}')
    out = betpipe(None, "config", "check", str(bad))
    assert out.returncode == 2
    assert out.stdout == ""
    assert f"{bad}: $.sessions[0].staking.stake:" in out.stderr
    missing = betpipe(None, "config", "check", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_new_writes_each_template_as_a_config_that_checks(tmp_path):
    names = betpipe(None, "config", "new", "--list").stdout.split()
    assert "flat-favourite" in names and "ladder" in names
    for name in ("flat-favourite", "ladder"):
        out = tmp_path / f"{name}.json"
        r = betpipe(None, "config", "new", "--template", name, "--out", str(out))
        assert r.returncode == 0, r.stderr
        assert orjson.loads(out.read_bytes())["$schema"] == "system-config.schema.json"
        assert betpipe(None, "config", "check", str(out)).returncode == 0
    again = betpipe(None, "config", "new", "--out", str(tmp_path / "ladder.json"),
                    "--template", "ladder")
    assert again.returncode == 2 and "exists" in again.stderr
    unknown = betpipe(None, "config", "new", "--template", "martian")
    assert unknown.returncode == 2 and "flat-favourite" in unknown.stderr


def test_version_and_errors_of_clock_anchor_and_preflight_go_to_stderr(home):
    v = betpipe(None, "--version")
    assert v.returncode == 0 and v.stdout.startswith("betpipe ")
    home.system_config.write_text('{"mode": "dream"}')
    for args in (("clock", "anchor"), ("preflight",)):
        r = betpipe(home, *args)
        assert r.returncode == 2 and r.stdout == "", args
        assert "$.mode" in r.stderr, args
