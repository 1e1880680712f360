"""HKJC `foPools` → odds-data prices (pure; ../shared/data/README.md, hkjc; DESIGN: Markets).

- HAD → `odds` (1X2): the pool SELLINGSTARTED, its main (else only) line AVAILABLE, all three
  combinations AVAILABLE; combinations come H, A, D — mapped by `str` when present, else by
  position. `currentOdds` is a string.
- HDC → `handicap`, HIL → `totals`: every line of a SELLINGSTARTED pool whose line status and
  both combinations are AVAILABLE, one entry per line, sorted ascending. The line's `condition`
  is the HOME team's handicap (HDC) or the goals (HIL); a split line "a/b" (two halves 0.5
  apart, "+0.5/+1.0", "-4.0/-4.5", "2.5/3.0") is their mean, the quarter line (+0.75, -4.25,
  2.75). Combinations map by `str` only (the captures list a HIL line L before H): HDC H → home,
  A → away; HIL H (High, 大) → over, L (Low, 細) → under. Two lines giving the same quarter line:
  the main one is kept, else the first in the answer, with a problem.
- HHA (handicap 1X2, three-way) is no market of DESIGN's: ignored, as are all other pools.

A bad price (0, 1.0, text …) drops what it prices with a problem: the whole 1X2, or that one
handicap/totals line (the pool's other lines stand). A price "not on sale" (a dash) drops the
same silently.
"""
from __future__ import annotations

from typing import Any

from pipeline.core.files import line_ok
from pipeline.sources.sandbox import parse_price

HAD_ORDER = ("home", "away", "draw")  # combinations come H, A, D
HAD_STR = {"H": "home", "A": "away", "D": "draw"}
# pool code → (odds-data field, combination str → side)
LINE_POOLS = {"HDC": ("handicap", {"H": "home", "A": "away"}),
              "HIL": ("totals", {"H": "over", "L": "under"})}
ON_SALE, AVAILABLE = "SELLINGSTARTED", "AVAILABLE"


def pool_of(pools: Any, odds_type: str) -> dict | None:
    """The first pool of that `oddsType` (on sale or not), else None."""
    return next((p for p in pools or [] if isinstance(p, dict)
                 and p.get("oddsType") == odds_type), None)


def carried(pools: Any) -> set[str]:
    """The pool codes an answer's match carries (whatever their status)."""
    return {p.get("oddsType") for p in pools or [] if isinstance(p, dict)}


def had_odds(pools: Any, label: str, problems: list[str]) -> dict | None:
    """The 1X2 prices of a match's HAD pool when on sale, else None (a problem when bad)."""
    had = pool_of(pools, "HAD")
    if had is None or had.get("status") != ON_SALE:
        return None
    lines = [ln for ln in had.get("lines") or [] if isinstance(ln, dict)]
    line = next((ln for ln in lines if ln.get("main")), lines[0] if len(lines) == 1 else None)
    if line is None or line.get("status") != AVAILABLE:
        return None
    combos = [c for c in line.get("combinations") or [] if isinstance(c, dict)]
    if len(combos) != 3:
        problems.append(f"{label}: HAD line has {len(combos)} combinations, not 3; odds dropped")
        return None
    if any(c.get("status") != AVAILABLE for c in combos):
        return None
    by_str = {HAD_STR.get(c.get("str")) for c in combos}
    names = [HAD_STR[c["str"]] for c in combos] if by_str == set(HAD_ORDER) else list(HAD_ORDER)
    odds = {}
    for name, combo in zip(names, combos):
        value = parse_price(combo.get("currentOdds"))
        if not isinstance(value, float):
            why = value if isinstance(value, str) else "no price"
            problems.append(f"{label}: HAD {name} {why}; odds dropped")
            return None
        odds[name] = value
    return {sel: odds[sel] for sel in ("home", "draw", "away")}


def quarter_line(condition: Any) -> float | None:
    """'+0.5/+1.0' → 0.75, '-4.0/-4.5' → -4.25, '2.5' → 2.5; None when not a line or a split
    line of two halves 0.5 apart (a multiple of 0.25 either way)."""
    if not isinstance(condition, str):
        return None
    parts = condition.split("/")
    try:
        values = [float(p.strip()) for p in parts]
    except ValueError:
        return None
    if len(values) == 2:
        halves = all(line_ok(v) and v * 2 == int(v * 2) for v in values)
        if not halves or abs(values[0] - values[1]) != 0.5:
            return None
        value = (values[0] + values[1]) / 2
    elif len(values) == 1:
        value = values[0]
    else:
        return None
    return value + 0.0 if line_ok(value) else None  # + 0.0: never -0.0


def line_prices(pools: Any, code: str, label: str, problems: list[str]) -> list[dict]:
    """The `handicap` (code HDC) or `totals` (HIL) entries on sale, sorted by line; [] when
    none. Problems name the pool, the line's condition and what is wrong."""
    field, sides = LINE_POOLS[code]
    pool = pool_of(pools, code)
    if pool is None or pool.get("status") != ON_SALE:
        return []
    kept: dict[float, tuple[dict, dict]] = {}  # line → (entry, its HKJC line)
    for ln in pool.get("lines") or []:
        if not isinstance(ln, dict) or ln.get("status") != AVAILABLE:
            continue
        cond = ln.get("condition")
        where = f"{label}: {code} line {cond!r}"
        line = quarter_line(cond)
        if line is None or (field == "totals" and line < 0):
            problems.append(f"{where}: not a line nor a split line of halves 0.5 apart; "
                            "line dropped")
            continue
        combos = [c for c in ln.get("combinations") or [] if isinstance(c, dict)]
        strs = sorted(str(c.get("str")) for c in combos)
        if strs != sorted(sides):
            problems.append(f"{where}: combinations {', '.join(strs) or 'none'}, not "
                            f"{' and '.join(sides)}; line dropped")
            continue
        if any(c.get("status") != AVAILABLE for c in combos):
            continue
        entry: dict[str, Any] = {"line": line}
        for combo in combos:
            side = sides[combo["str"]]
            value = parse_price(combo.get("currentOdds"))
            if isinstance(value, str):
                problems.append(f"{where}: {side} {value}; line dropped")
            entry[side] = value
        if not all(isinstance(entry[s], float) for s in sides.values()):
            continue
        if line in kept:
            first = kept[line][1]
            main = ln if ln.get("main") and not first.get("main") else first
            problems.append(f"{label}: {code} lines {first.get('condition')!r} and {cond!r} "
                            f"are both line {line}; kept {main.get('condition')!r} "
                            f"({'the main one' if main.get('main') else 'the first'})")
            if main is first:
                continue
        kept[line] = (entry, ln)
    return [kept[line][0] for line in sorted(kept)]
