"""The audit log `data/audit.jsonl`: every bet event and every config change, append-only.

Two writers, both through `JsonlFile` (one lock, one write + fsync per append):
- the notify program copies each ledger event by its `seq` (the highest seq already copied is
  read under the lock, so a restart copies none twice and skips none) and notices edits of
  system-config.json by the hash of its bytes;
- the dashboard records the change it makes itself, writing the config file under the same lock,
  so the notifier never mistakes a dashboard change for a hand edit.

Records: `{"ts", "kind": "bet", "ledger_seq", "event"}` and
`{"ts", "kind": "config", "by": "dashboard" | "file", "sha256", "valid", "error", "changes"}`.
Values of keys that may hold a secret (url, token, secret, password) never reach a record.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline.core.config import MAX_CONFIG_BYTES, ConfigError, parse_config
from pipeline.core.filebus import BadFile, read_capped
from pipeline.core.jsonl import JsonlFile

SECRET_KEYS = ("url", "token", "secret", "password")
MAX_CHANGES = 20
_MISSING = object()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _show(key: str, value: Any) -> str:
    if any(s in key.lower() for s in SECRET_KEYS) and value is not None:
        return "***"
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def changes(old: Any, new: Any, path: str = "$", key: str = "") -> list[str]:
    """`$.json.path: old -> new` for every leaf that differs (secrets masked, at most 20)."""
    out: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for k in [*old, *(k for k in new if k not in old)]:
            out += changes(old.get(k, _MISSING), new.get(k, _MISSING), f"{path}.{k}", k)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            out += changes(a, b, f"{path}[{i}]", key)
    elif old != new:
        a = "(none)" if old is _MISSING else _show(key, old)
        b = "(removed)" if new is _MISSING else _show(key, new)
        out.append(f"{path}: {a} -> {b}")
    return out[:MAX_CHANGES]


def _sha(data: bytes | BadFile | None) -> str | None:
    """What a config record's sha256 is: of the bytes; of the refusal for a file too big to
    read (so it is recorded once per size); None for no file."""
    if isinstance(data, BadFile):
        return digest(str(data).encode())
    return None if data is None else digest(data)


def config_record(data: bytes | BadFile | None, file: Path, *, by: str, ts: str,
                  previous: Any = None, changed: list[str] | None = None) -> dict:
    """The record of a config file's new content (None: the file is gone; BadFile: too big to
    read, refused unread)."""
    error = None
    if data is None:
        error = f"{file}: $: file not found"
    elif isinstance(data, BadFile):
        error, previous = str(data), None
    else:
        try:
            parse_config(data, file)
        except ConfigError as e:
            error = str(e)
    if changed is None and previous is not None and data is not None:
        try:
            changed = changes(previous, orjson.loads(data))
        except orjson.JSONDecodeError:
            changed = None
    return {"ts": ts, "kind": "config", "by": by, "sha256": _sha(data),
            "valid": error is None, "error": error, "changes": changed}


def last_ledger_seq(records: list[dict]) -> int:
    return max((r["ledger_seq"] for r in records if r.get("kind") == "bet"), default=0)


def last_config_sha(records: list[dict]) -> str | None:
    return next((r.get("sha256") for r in reversed(records) if r.get("kind") == "config"), None)


def _read(path: Path) -> bytes | BadFile | None:
    """The config file's bytes; None when it is gone; BadFile when it is too big to read."""
    try:
        return read_capped(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except BadFile as e:
        return e


class Audit:
    def __init__(self, path: Path):
        self.file = JsonlFile(path)

    def read(self) -> list[dict]:
        return self.file.read()

    def sync(self, ledger_events: list[dict], config_path: Path, ts: str,
             previous_config: Any = None) -> list[dict]:
        """Append the ledger events not copied yet and, when system-config.json's bytes differ
        from the last config record, a hand edit. Returns what was appended."""
        def decide(records: list[dict]) -> list[dict]:
            after = last_ledger_seq(records)
            new = [{"ts": ev.get("ts", ts), "kind": "bet", "ledger_seq": ev["seq"], "event": ev}
                   for ev in ledger_events if ev.get("seq", 0) > after]
            data = _read(config_path)
            if _sha(data) != last_config_sha(records):
                new.append(config_record(data, config_path, by="file", ts=ts,
                                         previous=previous_config))
            return new

        return self.file.transact(decide)

    def change_config(self, config_path: Path,
                      write: Callable[[], tuple[bytes, list[str]] | None],
                      ts: str, by: str = "dashboard") -> dict | None:
        """Run `write` (which replaces the config file and returns its new bytes and what changed,
        or None when it changed nothing) under the audit lock, and record it. An exception from
        `write` records nothing."""
        done: list[dict] = []

        def decide(_records: list[dict]) -> list[dict]:
            written = write()
            if written is not None:
                done.append(config_record(written[0], config_path, by=by, ts=ts,
                                          changed=written[1]))
            return done

        self.file.transact(decide)
        return done[0] if done else None
