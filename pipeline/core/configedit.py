"""Edits of system-config.json shared by the dashboard's toggle and `betpipe session …`.

Every edit goes through the same validation as a hand edit (`parse_config`), is written atomically,
and keeps the rest of the file as the user wrote it: only the `enabled` value of that session
changes in the text (or `"enabled": …` is inserted as its first key), with the user's spacing,
key order and everything else left alone. If the surgical edit ever disagreed with the intended
document, the file would be rewritten from the parsed JSON instead (same content, new spacing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipeline.core.audit import Audit
from pipeline.core.config import ConfigError, parse_config
from pipeline.core.errors import BetpipeError
from pipeline.core.filebus import atomic_write_bytes, dumps

_TOKEN = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|[{}\[\]:,])',
                    re.S)


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
    return set_key_text(text, ("sessions", index, "enabled"), enabled, first=True)


def _dump(value) -> str:
    return orjson.dumps(value).decode()


def _node(text: str, path: tuple) -> Node:
    node = parse_spans(text)
    for part in path:
        node = node.items[part] if isinstance(part, int) else node.items[part][1]
    return node


def set_key_text(text: str, path: tuple, value, first: bool = False) -> str:
    """`text` with the value at `path` (object keys, array indexes) replaced by `value`; a missing
    key is inserted as its object's last (or `first`) key with the user's spacing (missing parents
    with it)."""
    node = parse_spans(text)
    for i, part in enumerate(path):
        if isinstance(part, int):
            node = node.items[part]
        elif part in node.items:
            node = node.items[part][1]
        else:
            for key in reversed(path[i + 1:]):
                value = {key: value}
            return _insert_key(text, node, part, value, first)
    return text[:node.start] + _dump(value) + text[node.end:]


def _insert_key(text: str, obj: Node, key: str, value, first: bool) -> str:
    literal, brace = f"{_dump(key)}: {_dump(value)}", obj.start + 1
    if not obj.items:
        return f"{text[:brace]}{literal}{text[brace:]}"
    starts = sorted(key_start for key_start, _ in obj.items.values())
    gap = text[brace:starts[0]]  # the user's spacing before the first key
    sep = gap if "\n" in gap else " "
    if first:
        return f"{text[:brace]}{gap}{literal},{sep}{text[starts[0]:]}"
    end = max(node.end for _, node in obj.items.values())
    return f"{text[:end]},{sep}{literal}{text[end:]}"


def remove_item_text(text: str, path: tuple, index: int) -> str:
    """`text` without item `index` of the array at `path` (and its comma)."""
    items = _node(text, path).items
    item = items[index]
    if len(items) == 1:
        return text[:item.start] + text[item.end:]
    if index < len(items) - 1:
        return text[:item.start] + text[items[index + 1].start:]
    return text[:items[index - 1].end] + text[item.end:]


def append_item_text(text: str, path: tuple, value) -> str:
    """`text` with `value` after the last item of the array at `path` (the same spacing)."""
    array = _node(text, path)
    if not array.items:
        return text[:array.start + 1] + _dump(value) + text[array.start + 1:]
    last = array.items[-1]
    gap = (text[array.items[-2].end:last.start] if len(array.items) > 1
           else "," + text[array.start + 1:last.start])
    return text[:last.end] + gap + _dump(value) + text[last.end:]


class EditRefused(BetpipeError, ValueError):
    def __init__(self, status: int, reason: str):
        super().__init__(reason, reason=reason)
        self.status, self.reason = status, reason


def edit(data: bytes, path: Path, change, text_edit) -> bytes:
    """The new bytes of the config: `change(doc, config)` edits the parsed document (raising
    EditRefused for a missing session…), `text_edit(text)` makes the same edit in the text, which
    is kept when it parses to the same document (else the document is written whole). EditRefused
    when the file is invalid now (409) or the result would not validate (422)."""
    try:
        config = parse_config(data, path)
    except ConfigError as e:
        raise EditRefused(409, f"the config file is invalid now, fix it first: {e}") from None
    doc = orjson.loads(data)
    change(doc, config)
    try:
        new = text_edit(data.decode()).encode()
        if orjson.loads(new) != doc:
            raise ValueError("the edit changed more than intended")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        new = dumps(doc) + b"\n"
    try:
        parse_config(new, path)
    except ConfigError as e:
        raise EditRefused(422, str(e)) from None
    return new


def session_index(config, session_id: str, path: Path) -> int:
    index = next((i for i, s in enumerate(config.sessions) if s.id == session_id), None)
    if index is None:
        raise EditRefused(404, f"no session {session_id!r} in {path.name}")
    return index


def set_enabled(data: bytes, path: Path, session_id: str, enabled: bool) -> tuple[bytes, int]:
    """The new bytes of the config file and the session's index; EditRefused when the file is
    invalid now (409), has no such session (404) or the result would not validate (422)."""
    found = []

    def change(doc, config):
        found.append(session_index(config, session_id, path))
        doc["sessions"][found[0]]["enabled"] = enabled

    new = edit(data, path, change, lambda text: set_enabled_text(text, found[0], enabled))
    return new, found[0]


def write_edit(path: Path, audit: Audit, make, ts: str, by: str) -> dict | None:
    """Replace the config with `make(bytes) -> (new bytes, what changed)` under the audit lock,
    atomically, and record it. None when the edit changes no value (nothing written)."""
    def write():
        data = path.read_bytes()
        new, changed = make(data)
        if parse_config(new, path) == parse_config(data, path):
            return None
        atomic_write_bytes(path, new)
        return new, changed

    return audit.change_config(path, write, ts, by=by)


def toggle_session(path: Path, audit: Audit, session_id: str, enabled: bool, ts: str) -> dict | None:
    """Switch a session on/off in system-config.json and record it in the audit log (under the
    audit lock). None when the session was already in that state (nothing written)."""
    def make(data: bytes):
        new, index = set_enabled(data, path, session_id, enabled)
        return new, [f"$.sessions[{index}].enabled: {str(not enabled).lower()} -> "
                     f"{str(enabled).lower()}"]

    return write_edit(path, audit, make, ts, by="dashboard")
