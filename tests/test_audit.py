"""The audit log: ledger events copied once by seq, hand edits by hash, dashboard edits under the
same lock (never mistaken for hand edits), secrets masked."""
from __future__ import annotations

import orjson

from pipeline.core.audit import Audit, changes
from pipeline.core.config import default_config


def test_changes_lists_paths_and_masks_secret_values():
    old = {"notify": {"url": "https://discord.com/api/webhooks/1/SECRET"}, "halt": False,
           "sessions": [{"id": "a", "enabled": True}]}
    new = {"notify": {"url": "https://discord.com/api/webhooks/2/OTHER"}, "halt": True,
           "sessions": [{"id": "a", "enabled": False}], "mode": "paper"}
    out = changes(old, new)
    assert out == ["$.notify.url: *** -> ***", "$.halt: false -> true",
                   "$.sessions[0].enabled: true -> false", '$.mode: (none) -> "paper"']
    assert "SECRET" not in str(out)


def test_sync_copies_each_event_once_and_notices_hand_edits(tmp_path):
    config = tmp_path / "system-config.json"
    config.write_bytes(orjson.dumps(default_config()))
    audit = Audit(tmp_path / "audit.jsonl")
    events = [{"seq": 1, "ts": "2019-08-09T18:31:00Z", "type": "BET_INTENDED", "session": "s"},
              {"seq": 2, "ts": "2019-08-09T18:31:00Z", "type": "BET_PLACED", "session": "s"}]
    first = audit.sync(events[:1], config, "2019-08-09T18:31:00Z")
    assert [r["kind"] for r in first] == ["bet", "config"] and first[1]["by"] == "file"
    assert audit.sync(events, config, "2019-08-09T18:32:00Z") == [
        {"ts": "2019-08-09T18:31:00Z", "kind": "bet", "ledger_seq": 2, "event": events[1]}]
    assert audit.sync(events, config, "2019-08-09T18:33:00Z") == []  # a restart repeats nothing
    doc = default_config()
    previous = orjson.loads(config.read_bytes())
    doc["halt"] = True
    config.write_bytes(orjson.dumps(doc))
    (rec,) = audit.sync(events, config, "2019-08-09T18:34:00Z", previous)
    assert rec["by"] == "file" and rec["valid"] and rec["changes"] == ["$.halt: false -> true"]
    config.write_text("{broken")
    (bad,) = audit.sync(events, config, "2019-08-09T18:35:00Z")
    assert not bad["valid"] and "not JSON" in bad["error"]


def test_a_dashboard_change_is_not_recorded_again_as_a_hand_edit(tmp_path):
    config = tmp_path / "system-config.json"
    config.write_bytes(orjson.dumps(default_config()))
    audit = Audit(tmp_path / "audit.jsonl")
    audit.sync([], config, "2019-08-09T18:30:00Z")

    def write():
        doc = default_config()
        doc["sessions"][0]["enabled"] = False
        config.write_bytes(orjson.dumps(doc))
        return config.read_bytes(), ["$.sessions[0].enabled: true -> false"]

    rec = audit.change_config(config, write, "2019-08-09T18:31:00Z")
    assert rec["by"] == "dashboard"
    assert audit.sync([], config, "2019-08-09T18:32:00Z") == []
    assert [r["by"] for r in audit.read()] == ["file", "dashboard"]


def test_a_config_too_big_to_read_is_recorded_once_unread(tmp_path):
    from pipeline.core.config import MAX_CONFIG_BYTES
    config = tmp_path / "system-config.json"
    with open(config, "wb") as f:  # sparse: its size says it all, nothing of it is read
        f.truncate(MAX_CONFIG_BYTES + 1)
    audit = Audit(tmp_path / "audit.jsonl")
    (rec,) = audit.sync([], config, "2019-08-09T18:31:00Z")
    assert rec["kind"] == "config" and rec["valid"] is False
    assert str(config) in rec["error"] and "over the limit" in rec["error"]
    assert audit.sync([], config, "2019-08-09T18:32:00Z") == []  # once, not at every pass
    config.write_bytes(orjson.dumps(default_config()))
    (good,) = audit.sync([], config, "2019-08-09T18:33:00Z")
    assert good["valid"] is True
