"""Switching a session on or off from the dashboard: the token check and the config edit.

The edit goes through the same validation as a hand edit (`parse_config`), is written atomically,
and keeps the rest of the file as the user wrote it: only the `enabled` value of that session
changes in the text (or `"enabled": …` is inserted as its first key), with the user's spacing,
key order and everything else left alone. If the surgical edit ever disagreed with the intended
document, the file would be rewritten from the parsed JSON instead (same content, new spacing).
"""
from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipeline.core.audit import Audit
from pipeline.core.config import ConfigError, parse_config
from pipeline.core.filebus import atomic_write_bytes, dumps

TOKEN_ENV = "BETPIPE_DASHBOARD_TOKEN"
_TOKEN = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|[{}\[\]:,])',
                    re.S)


def check_token(given: str | None, env=os.environ) -> str:
    """ok | disabled (no token set: writes off) | forbidden (missing or wrong; constant time)."""
    want = env.get(TOKEN_ENV)
    if not want:
        return "disabled"
    if given is None:
        return "forbidden"
    return "ok" if hmac.compare_digest(given.encode(), want.encode()) else "forbidden"


@dataclass
class Node:
    start: int  # first character of the value
    end: int  # one past its last character
    items: list | dict | None = None  # array items or object {key: (key_start, Node)}


def _tokens(text: str):
    pos = 0
    while True:
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip():
                raise ValueError(f"unexpected text at character {pos}")
            return
        tok = m.group().lstrip()
        yield tok, m.end() - len(tok)
        pos = m.end()


def parse_spans(text: str) -> Node:
    """The JSON document's values with their character spans (objects and arrays nested)."""
    toks = list(_tokens(text))
    node, i = _value(toks, 0)
    if i != len(toks):
        raise ValueError("trailing data after the document")
    return node


def _value(toks, i):
    tok, start = toks[i]
    if tok not in "{[":
        return Node(start, start + len(tok)), i + 1
    close, i = ("}" if tok == "{" else "]"), i + 1
    items: list | dict = {} if tok == "{" else []
    while toks[i][0] != close:
        if isinstance(items, dict):
            key, key_start = orjson.loads(toks[i][0]), toks[i][1]
            value, i = _value(toks, i + 2)  # skip the key and the colon
            items[key] = (key_start, value)
        else:
            value, i = _value(toks, i)
            items.append(value)
        if toks[i][0] == ",":
            i += 1
    return Node(start, toks[i][1] + 1, items), i + 1


def set_enabled_text(text: str, index: int, enabled: bool) -> str:
    """`text` with sessions[index].enabled set, touching nothing else."""
    session = parse_spans(text).items["sessions"][1].items[index]
    literal = "true" if enabled else "false"
    if "enabled" in session.items:
        value = session.items["enabled"][1]
        return text[:value.start] + literal + text[value.end:]
    brace = session.start + 1
    if not session.items:
        return f'{text[:brace]}"enabled": {literal}{text[brace:]}'
    first = min(key_start for key_start, _ in session.items.values())
    gap = text[brace:first]  # the user's spacing before the first key
    sep = gap if "\n" in gap else " "
    return f'{text[:brace]}{gap}"enabled": {literal},{sep}{text[first:]}'


class EditRefused(ValueError):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def set_enabled(data: bytes, path: Path, session_id: str, enabled: bool) -> tuple[bytes, int]:
    """The new bytes of the config file and the session's index; EditRefused when the file is
    invalid now (409), has no such session (404) or the result would not validate (422)."""
    try:
        config = parse_config(data, path)
    except ConfigError as e:
        raise EditRefused(409, f"the config file is invalid now, fix it first: {e}") from None
    index = next((i for i, s in enumerate(config.sessions) if s.id == session_id), None)
    if index is None:
        raise EditRefused(404, f"no session {session_id!r} in {path.name}")
    doc = orjson.loads(data)
    doc["sessions"][index]["enabled"] = enabled
    try:
        new = set_enabled_text(data.decode(), index, enabled).encode()
        if orjson.loads(new) != doc:
            raise ValueError("the edit changed more than intended")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        new = dumps(doc) + b"\n"
    try:
        parse_config(new, path)
    except ConfigError as e:
        raise EditRefused(422, str(e)) from None
    return new, index


def toggle_session(path: Path, audit: Audit, session_id: str, enabled: bool, ts: str) -> dict | None:
    """Switch a session on/off in system-config.json and record it in the audit log (under the
    audit lock). None when the session was already in that state (nothing written)."""
    def write():
        data = path.read_bytes()
        new, index = set_enabled(data, path, session_id, enabled)
        if parse_config(new, path) == parse_config(data, path):
            return None
        atomic_write_bytes(path, new)
        return new, [f"$.sessions[{index}].enabled: {str(not enabled).lower()} -> "
                     f"{str(enabled).lower()}"]

    return audit.change_config(path, write, ts)
