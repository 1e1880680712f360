"""What the programs accept from the contract files they read (execute, track, the dashboard,
decide): decisions.json's decisions, odds-data.json's keys and prices, probabilities.json; below
the programs, so every reader uses the same check (DESIGN: Layout, core/files.py). A file that
fails is refused whole; BadFile names the file, the JSON path and the reason, and the watcher
keeps the last good version (core.watchloop.LastGood).
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
    """A number (not bool) above 1 and finite (no JSON holds inf, but a caller in Python may)."""
    return type(x) in _NUMBERS and 1 < x < float("inf")


def line_ok(x) -> bool:
    """A number (not bool) that is a finite multiple of 0.25."""
    return type(x) in _NUMBERS and x == x and abs(x) != float("inf") and (x * 4) == int(x * 4)


# odds-data's AH and OU lists: field -> the two sides each entry prices
LINE_MARKETS = {"handicap": MARKET_SIDES["AH"], "totals": MARKET_SIDES["OU"]}


def lines_problem(m: dict) -> str | None:
    """'.handicap[1].line: reason' of the first thing wrong with a match's `handicap` or
    `totals` (absent or null = not offered), else None. Per the schema: a list of objects,
    lines multiples of 0.25 (totals not negative), sorted ascending, one entry per line,
    both prices > 1."""
    for name, sides in LINE_MARKETS.items():
        entries = m.get(name)
        if entries is None:
            continue
        if type(entries) is not list:
            return f".{name}: not a list"
        last = None
        for j, e in enumerate(entries):
            where = f".{name}[{j}]"
            if type(e) is not dict:
                return f"{where}: not an object"
            ln = e.get("line")
            if not line_ok(ln) or (name == "totals" and ln < 0):
                return f"{where}.line: {ln!r} is not a multiple of 0.25" + (
                    " >= 0" if name == "totals" else "")
            if last is not None and ln <= last:
                return (f"{where}.line: {ln!r} " + ("appears twice" if ln == last else
                        f"comes after {last!r} (lines are sorted ascending)"))
            last = ln
            for side in sides:
                if not price_ok(e.get(side)):
                    return f"{where}.{side}: {e.get(side)!r} is not a price > 1"
    return None


def price_of(match: dict, market: str, selection: str, line: float | None) -> float | None:
    """The price on sale in an odds-data match for a market's side (and, AH and OU, a line):
    None when the market, the line or the price is not there. Status is the caller's."""
    if market == "1X2":
        odds = match.get("odds")
        price = odds.get(selection) if isinstance(odds, dict) else None
    else:
        entries = match.get("handicap" if market == "AH" else "totals")
        entry = next((e for e in entries if isinstance(e, dict) and e.get("line") == line),
                     None) if isinstance(entries, list) else None
        price = entry.get(selection) if entry is not None else None
    return float(price) if price_ok(price) else None


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
        market = d.get("market", "1X2")
        if market not in MARKET_SIDES:
            raise BadFile(path, f"decisions[{i}].market: {market!r} is not one of {MARKETS}")
        if d["selection"] not in MARKET_SIDES[market]:
            raise BadFile(path, f"decisions[{i}].selection: {d['selection']!r} is not one of "
                                f"{MARKET_SIDES[market]}")
        ln = d.get("line")
        if market == "1X2" and ln is not None:
            raise BadFile(path, f"decisions[{i}].line: market 1X2 has no line")
        if market != "1X2" and not line_ok(ln):
            raise BadFile(path, f"decisions[{i}].line: {ln!r} is not a multiple of 0.25")
    return items


def _keyed_matches(matches, path: Path, *, str_keys: bool = False):
    """(index, match) of each of a document's `matches` in order; BadFile at the first that is
    not an object with a key (a string key with `str_keys`) or whose key came before."""
    keys: set = set()
    for i, m in enumerate(matches):
        if not isinstance(m, dict) or "key" not in m or \
                (str_keys and not isinstance(m["key"], str)):
            raise BadFile(path, f"$.matches[{i}]: not an object with a key")
        if m["key"] in keys:
            raise BadFile(path, f"$.matches[{i}].key: {m['key']!r} appears twice")
        keys.add(m["key"])
        yield i, m


def check_odds(doc: dict | None, path: Path) -> dict | None:
    """The odds-data document if every match has a unique key and real prices (or null odds);
    BadFile names the first JSON path that is wrong."""
    if doc is not None and not isinstance(doc.get("matches"), list):
        raise BadFile(path, "field matches: missing or not a list")
    for i, m in _keyed_matches((doc or {}).get("matches", ()), path):
        problem = lines_problem(m)
        if problem:
            raise BadFile(path, f"$.matches[{i}]{problem}")
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


def _probability_ok(x) -> bool:
    return type(x) in _NUMBERS and 0 <= x <= 1


def check_probabilities(doc: dict | None, path: Path) -> dict | None:
    """The probabilities.json document (DESIGN: "Probabilities, models and value") if its model
    says when it was fitted and every match has a unique key and 1X2 probabilities in [0, 1]
    and/or goal parameters > 0; BadFile names the first JSON path that is wrong."""
    if doc is None:
        return None
    model = doc.get("model")
    if not isinstance(model, dict):
        raise BadFile(path, "$.model: missing or not an object")
    for name in ("name", "fitted_at", "trained_until"):
        if not isinstance(model.get(name), str):
            raise BadFile(path, f"$.model.{name}: missing or not a string")
    if not isinstance(doc.get("matches"), list):
        raise BadFile(path, "$.matches: missing or not a list")
    for i, m in _keyed_matches(doc["matches"], path, str_keys=True):
        p, goals = m.get("1X2"), m.get("goals")
        if p is None and goals is None:
            raise BadFile(path, f"$.matches[{i}]: neither 1X2 nor goals")
        if p is not None:
            if not isinstance(p, dict):
                raise BadFile(path, f"$.matches[{i}].1X2: not an object")
            for side in SIDES:
                if not _probability_ok(p.get(side)):
                    raise BadFile(path, f"$.matches[{i}].1X2.{side}: {p.get(side)!r} is not a "
                                        "probability in [0, 1]")
        if goals is not None:
            if not isinstance(goals, dict):
                raise BadFile(path, f"$.matches[{i}].goals: not an object")
            for side in ("home", "away"):
                g = goals.get(side)
                if not (type(g) in _NUMBERS and g > 0):
                    raise BadFile(path, f"$.matches[{i}].goals.{side}: {g!r} is not a number > 0")
            if "rho" in goals and type(goals["rho"]) not in _NUMBERS:
                raise BadFile(path, f"$.matches[{i}].goals.rho: {goals['rho']!r} is not a number")
    return doc
