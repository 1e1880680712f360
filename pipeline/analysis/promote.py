"""`betpipe drill ... --promote GROUP --as SESSION_ID`: a drill group as a session (disabled).

Each factor of the group becomes session keys: competition -> competitions [code]; selection
(home | draw | away) or role (favourite | underdog | draw) -> selection; odds_band "1.5-2" ->
odds {min 1.5, max 1.99} (a band holds lo <= price < hi; session bounds are inclusive and prices
have two decimals); market -> market; line "-0.5" -> line {min -0.5, max -0.5} ("n/a": none). Factors a session cannot select on before a match (season, month, weekday,
drift, ou25_band) are refused with the reason. Keys the group does not fix come from the drilled
session (--session) or, for matches, the drilled --selection with a flat stake of 10.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from pipeline.analysis.drill import DrillError, Group

NOT_A_KEY = {
    "season": "a season is history; a session bets on the matches to come",
    "month": "a session has no calendar-month key",
    "weekday": "a session has no weekday key",
    "drift": "drift needs the closing price, known only after the bet",
    "ou25_band": "a 1X2 session has no over/under-2.5 price key",
}
DEFAULT_STAKE = 10.0
_BAND = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?)|\+)$")


def parse_group(text: str, by: Sequence[str]) -> dict[str, str]:
    """"competition=EPL,odds_band=1.5-2" -> {factor: label}; every --by factor, nothing else."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        factor, sep, label = part.partition("=")
        if not sep or not label:
            raise DrillError(f"--promote {text!r}: expected FACTOR=LABEL,… (e.g. "
                             f"competition=EPL,odds_band=1.5-2)")
        out[factor.strip()] = label.strip()
    if set(out) != set(by):
        raise DrillError(f"--promote {text!r}: name a label for each --by factor "
                         f"({', '.join(by)}), and only those")
    return out


def find_group(groups: Sequence[Group], wanted: Mapping[str, str]) -> Group:
    for g in groups:
        if all(g.values[f].casefold() == v.casefold() for f, v in wanted.items()):
            return g
    have = "; ".join(",".join(f"{k}={v}" for k, v in g.values.items()) for g in groups[:8])
    raise DrillError(f"--promote: no drill group {dict(wanted)} (groups: {have or 'none'})")


def session_for(values: Mapping[str, str], session_id: str, base: Mapping[str, Any] | None,
                selection: str) -> dict:
    """The session dict (disabled) that bets the group `values` (factor -> label)."""
    bad = [f for f in values if f in NOT_A_KEY]
    if bad:
        raise DrillError(f"--promote: factor {bad[0]!r} cannot be a session key: "
                         f"{NOT_A_KEY[bad[0]]}")
    s = dict(base) if base else {"selection": selection,
                                 "staking": {"plan": "flat", "stake": DEFAULT_STAKE}}
    s.pop("enabled", None)
    s = {"id": session_id, "enabled": False, **{k: v for k, v in s.items() if k != "id"}}
    if "selection" in values and "role" in values:
        if values["role"] != values["selection"]:
            raise DrillError(f"--promote: selection={values['selection']} with role="
                             f"{values['role']} cannot be one session selection (a session "
                             f"backs one of home, draw, away, favourite, underdog)")
    if "selection" in values:
        s["selection"] = values["selection"]
    elif "role" in values:
        s["selection"] = values["role"]
    if "competition" in values:
        s["competitions"] = [values["competition"]]
    if "odds_band" in values:
        s["odds"] = _bounds(values["odds_band"])
    if "market" in values:
        s["market"] = values["market"].upper()
    if values.get("line", "n/a") != "n/a":  # a line group: that one line, both bounds
        try:
            line = float(values["line"])
        except ValueError:
            raise DrillError(f"--promote: line {values['line']!r} is not a line like -0.5 or 2.5")
        s["line"] = {"min": line, "max": line}
    return s


def _bounds(label: str) -> dict:
    m = _BAND.match(label)
    if not m:
        raise DrillError(f"--promote: odds_band {label!r} is not a band like 1.5-2 or 10+")
    lo, hi = float(m.group(1)), m.group(2)
    out: dict[str, float | None] = {"min": lo if lo > 1 else None, "max": None}
    if hi is not None:
        out["max"] = round(float(hi) - 0.01, 2)
    return out
