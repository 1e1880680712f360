"""`betpipe session add | set | enable | disable | remove` as edits of the config's bytes: each
through configedit.edit (the dashboard toggle's validation, the user's text kept), returning the
new bytes and what changed (for the audit log). EditRefused says why an edit cannot be made."""
from __future__ import annotations

from pathlib import Path

import orjson

from pipeline.core.configedit import (EditRefused, append_item_text, edit, remove_item_text,
                                      session_index, set_key_text)

Edit = tuple[bytes, list[str]]


def _json(value) -> str:
    return orjson.dumps(value).decode()


def add(data: bytes, path: Path, session: dict) -> Edit:
    if not isinstance(session, dict) or not isinstance(session.get("id"), str):
        raise EditRefused(422, "a session is a JSON object with an \"id\" text")

    def change(doc, config):
        if config.session(session["id"]) is not None:
            raise EditRefused(409, f"session {session['id']!r} exists in {path.name}")
        doc.setdefault("sessions", []).append(session)

    def text_edit(text):
        has = "sessions" in orjson.loads(text)
        return (append_item_text(text, ("sessions",), session) if has
                else set_key_text(text, ("sessions",), [session]))

    new = edit(data, path, change, text_edit)
    return new, [f"$.sessions: + {session['id']}"]


def parse_assignment(text: str) -> tuple[tuple[str, ...], object]:
    """`staking.stake=20` -> (("staking", "stake"), 20); a value that is not JSON is a text."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not k for k in key.split(".")):
        raise EditRefused(422, f"{text!r}: expected KEY=VALUE, e.g. staking.stake=20")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return tuple(key.split(".")), value


def set_keys(data: bytes, path: Path, session_id: str, assignments: list[str]) -> Edit:
    pairs = [parse_assignment(a) for a in assignments]
    if any(keys == ("id",) for keys, _ in pairs):
        raise EditRefused(422, "a session's id cannot be changed (remove it and add it again)")
    found: list[int] = []

    def change(doc, config):
        found.append(session_index(config, session_id, path))
        for keys, value in pairs:
            node = doc["sessions"][found[0]]
            for k in keys[:-1]:
                if not isinstance(node.setdefault(k, {}), dict):
                    raise EditRefused(422, f"{'.'.join(keys)}: {k} is not an object")
                node = node[k]
            node[keys[-1]] = value

    def text_edit(text):
        for keys, value in pairs:
            text = set_key_text(text, ("sessions", found[0], *keys), value)
        return text

    new = edit(data, path, change, text_edit)
    return new, [f"$.sessions[{found[0]}].{'.'.join(k)}: {_json(v)}" for k, v in pairs]


def set_enabled_many(data: bytes, path: Path, enabled: bool, session_id: str | None = None,
                     category: str | None = None) -> Edit:
    """One session by id, or every session of a category, switched on or off."""
    found: list[int] = []

    def change(doc, config):
        if category is None:
            found.append(session_index(config, session_id, path))
        else:
            found.extend(i for i, s in enumerate(config.sessions) if s.category == category)
            if not found:
                raise EditRefused(404, f"no session of category {category!r} in {path.name}")
        for i in found:
            doc["sessions"][i]["enabled"] = enabled

    def text_edit(text):
        for i in found:
            text = set_key_text(text, ("sessions", i, "enabled"), enabled)
        return text

    new = edit(data, path, change, text_edit)
    return new, [f"$.sessions[{i}].enabled: {_json(enabled)}" for i in found]


def remove(data: bytes, path: Path, session_id: str) -> Edit:
    found: list[int] = []

    def change(doc, config):
        found.append(session_index(config, session_id, path))
        del doc["sessions"][found[0]]

    new = edit(data, path, change, lambda text: remove_item_text(text, ("sessions",), found[0]))
    return new, [f"$.sessions: - {session_id}"]
