"""Switching a session from the dashboard: the token, the surgical edit, its refusals, the audit."""
from __future__ import annotations

import orjson
import pytest

from pipeline.core.audit import Audit
from pipeline.core.config import default_config, parse_config
from pipeline.core.configedit import (EditRefused, parse_spans, set_enabled, set_enabled_text,
                                      toggle_session)
from pipeline.programs.dashboard.configedit import check_token

HAND_WRITTEN = """{
  "mode": "paper",   "halt": false,
  "sessions": [
    {"id": "a", "selection": "home", "staking": {"plan": "flat", "stake": 1.50}},
    {
        "id": "b \\"quoted\\" [x]",
        "selection": "draw",
        "enabled": true,
        "staking": {"plan": "flat", "stake": 1e1}
    }
  ]
}
"""


def test_token_disabled_forbidden_ok():
    assert check_token("x", env={}) == "disabled"
    assert check_token(None, env={"BETPIPE_DASHBOARD_TOKEN": "s3cret"}) == "forbidden"
    assert check_token("s3cre", env={"BETPIPE_DASHBOARD_TOKEN": "s3cret"}) == "forbidden"
    assert check_token("s3cret", env={"BETPIPE_DASHBOARD_TOKEN": "s3cret"}) == "ok"


def test_spans_find_values_in_hand_written_json():
    root = parse_spans(HAND_WRITTEN)
    second = root.items["sessions"][1].items[1]
    key_start, enabled = second.items["enabled"]
    assert HAND_WRITTEN[enabled.start:enabled.end] == "true"
    assert HAND_WRITTEN[key_start:key_start + 9] == '"enabled"'
    with pytest.raises(ValueError):
        parse_spans('{"a": 1} trailing')


def test_edit_changes_only_the_enabled_value():
    off = set_enabled_text(HAND_WRITTEN, 1, False)
    assert off == HAND_WRITTEN.replace('"enabled": true', '"enabled": false')
    inserted = set_enabled_text(HAND_WRITTEN, 0, False)
    assert '{"enabled": false, "id": "a", "selection": "home", "staking": {"plan": "flat", "stake": 1.50}}' in inserted
    assert inserted.replace('"enabled": false, ', "", 1) == HAND_WRITTEN  # nothing else moved
    doc = orjson.loads(inserted)
    assert doc["sessions"][0]["enabled"] is False and doc["sessions"][1]["enabled"] is True


def test_insert_keeps_the_users_indentation():
    text = '{\n  "sessions": [\n    {\n      "id": "a",\n      "selection": "home",\n' \
           '      "staking": {"plan": "flat", "stake": 1}\n    }\n  ]\n}\n'
    out = set_enabled_text(text, 0, False)
    assert '    {\n      "enabled": false,\n      "id": "a",' in out


def test_set_enabled_refuses_a_bad_file_and_an_unknown_session(tmp_path):
    path = tmp_path / "system-config.json"
    with pytest.raises(EditRefused) as e:
        set_enabled(b'{"sessions": [{"id": "a"}]}', path, "a", False)
    assert e.value.status == 409 and "$.sessions[0].selection" in e.value.reason
    with pytest.raises(EditRefused) as e:
        set_enabled(HAND_WRITTEN.encode(), path, "nope", False)
    assert e.value.status == 404


def test_toggle_writes_validated_config_and_audits_it(tmp_path):
    path = tmp_path / "config" / "system-config.json"
    path.parent.mkdir()
    path.write_text(HAND_WRITTEN)
    audit = Audit(tmp_path / "audit.jsonl")
    rec = toggle_session(path, audit, 'b "quoted" [x]', False, "2019-08-09T18:30:00Z")
    assert rec["by"] == "dashboard" and rec["valid"] and rec["changes"] == [
        "$.sessions[1].enabled: true -> false"]
    assert path.read_text() == HAND_WRITTEN.replace('"enabled": true', '"enabled": false')
    assert parse_config(path.read_bytes(), path).sessions[1].enabled is False
    assert toggle_session(path, audit, 'b "quoted" [x]', False, "2019-08-09T18:31:00Z") is None
    assert toggle_session(path, audit, "a", True, "2019-08-09T18:31:00Z") is None  # default on
    assert [r["sha256"] for r in audit.read()] == [rec["sha256"]]
    assert list((path.parent / ".tmp").iterdir()) == []  # the atomic write left no temp file


def test_toggle_of_the_default_config_round_trips(tmp_path):
    path = tmp_path / "system-config.json"
    path.write_bytes(orjson.dumps(default_config(), option=orjson.OPT_INDENT_2))
    before = path.read_text()
    audit = Audit(tmp_path / "audit.jsonl")
    toggle_session(path, audit, "dog-late", False, "2019-08-09T18:30:00Z")
    toggle_session(path, audit, "dog-late", True, "2019-08-09T18:31:00Z")
    after = orjson.loads(path.read_bytes())
    assert after["sessions"][1]["enabled"] is True
    assert path.read_text() == before.replace('      "id": "dog-late",',
                                              '      "enabled": true,\n      "id": "dog-late",')
