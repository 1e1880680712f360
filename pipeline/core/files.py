"""What the programs accept from the contract files they read (execute, track, the dashboard):
decisions.json's decisions and odds-data.json's keys and prices; below the programs, so every
reader uses the same check (DESIGN: Layout, core/files.py). A file that fails is refused whole;
BadFile names the file, the JSON path and the reason, and the watcher keeps the last good
version (core.watchloop.LastGood).
"""
from __future__ import annotations

from pathlib import Path

from pipeline.core.filebus import BadFile

# the contract's markets and their sides (DESIGN: markets); strategies.markets builds on these
MARKETS = ("1X2", "AH", "OU")
MARKET_SIDES: dict[str, tuple[str, ...]] = {
    "1X2": ("home", "draw", "away"),
    "AH": ("home", "away"),
    "OU": ("over", "under"),
}
SIDES = MARKET_SIDES["1X2"]  # the 1X2 selections of odds-data and decisions
_NUMBERS = (float, int)  # by type: bool is not a price

_DECISION_FIELDS = {"id": str, "session": str, "match_key": str, "selection": str,
                    "min_odds": (int, float), "stake": (int, float), "expires_at": str}


def price_ok(x) -> bool:
    return type(x) in _NUMBERS and x > 1


def check_decisions(doc: dict | None, path: Path) -> list[dict]:
    """The decisions of a decisions.json document, in order; BadFile names what is wrong."""
    if doc is None:
        return []
    items = doc.get("decisions")
    if not isinstance(items, list):
        raise BadFile(path, "field decisions: missing or not a list")
    for i, d in enumerate(items):
        if not isinstance(d, dict):
            raise BadFile(path, f"decisions[{i}]: not an object")
        for key, kind in _DECISION_FIELDS.items():
            if not isinstance(d.get(key), kind) or isinstance(d.get(key), bool):
                raise BadFile(path, f"decisions[{i}].{key}: missing or of the wrong type")
        if d["selection"] not in SIDES:
            raise BadFile(path, f"decisions[{i}].selection: {d['selection']!r} is not one of {SIDES}")
    return items


def check_odds(doc: dict | None, path: Path) -> dict | None:
    """The odds-data document if every match has a unique key and real prices (or null odds);
    BadFile names the first JSON path that is wrong."""
    if doc is not None and not isinstance(doc.get("matches"), list):
        raise BadFile(path, "field matches: missing or not a list")
    keys: set = set()
    for i, m in enumerate((doc or {}).get("matches", ())):
        if not isinstance(m, dict) or "key" not in m:
            raise BadFile(path, f"$.matches[{i}]: not an object with a key")
        if m["key"] in keys:
            raise BadFile(path, f"$.matches[{i}].key: {m['key']!r} appears twice")
        keys.add(m["key"])
        odds = m.get("odds")
        if odds is None:
            continue
        if not isinstance(odds, dict):
            raise BadFile(path, f"$.matches[{i}].odds: not an object or null")
        for side in SIDES:
            if not price_ok(odds.get(side)):
                raise BadFile(path, f"$.matches[{i}].odds.{side}: {odds.get(side)!r} "
                                    "is not a price > 1")
    return doc
