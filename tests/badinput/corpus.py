"""The bad-input corpus as data: functions that make each kind of bad file, with the words the
program reading it must say about it.

A case is `(name, payload, expect)`: `payload` is the file's bytes (or a function of a good
document giving them), `expect` is a fragment every report of it must contain besides the file
name (the JSON path for a bad value, the reason for unreadable bytes).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

import orjson

HUGE_BYTES = 100 * 2**20  # "huge": 100 MB
DEPTH = 5000  # orjson stops at 1024 levels


def dumps(doc) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def unreadable(good: dict) -> list[tuple[str, bytes, str]]:
    """Bytes no reader may act on, whatever file they land in: (name, bytes, reason fragment)."""
    data = dumps(good)
    return [
        ("truncated", data[: len(data) // 2], "not JSON"),
        ("empty", b"", "empty file"),
        ("whitespace", b"  \n\t\n", "empty file"),
        ("binary", bytes(range(256)) * 8, "not JSON"),
        ("deeply nested", b'{"version": 1, "x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
         "depth limit"),
        ("NaN literal", data.replace(b'"version": ', b'"nan": NaN, "version": ', 1), "not JSON"),
        ("top level a list", b"[1, 2, 3]\n", "top level"),
    ]


def write_huge(path: Path, size: int = HUGE_BYTES) -> Path:
    """A syntactically valid JSON snapshot of `size` bytes (a version, then padding), written
    in 1 MB pieces so the test itself never holds it."""
    head, tail = b'{"version": 1, "padding": "', b'"}\n'
    chunk = b"x" * 2**20
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head) - len(tail)
        while left > 0:
            f.write(chunk[:left])
            left -= min(left, len(chunk))
        f.write(tail)
    return path


# --------------------------------------------------------------------------- odds-data values

Mutation = Callable[[dict], None]


def _set_odds(side: str, value) -> Mutation:
    def f(doc: dict) -> None:
        doc["matches"][0]["odds"][side] = value
    return f


def _set(field: str, value) -> Mutation:
    def f(doc: dict) -> None:
        doc["matches"][0][field] = value
    return f


def _duplicate(doc: dict) -> None:
    doc["matches"].append(copy.deepcopy(doc["matches"][0]))


def _drop(field: str) -> Mutation:
    def f(doc: dict) -> None:
        del doc[field]
    return f


# (name, mutation of a good odds-data document, what the reader must name)
BAD_ODDS_VALUES: list[tuple[str, Mutation, str]] = [
    ("odds 0", _set_odds("away", 0), "$.matches[0].odds.away"),
    ("odds 1.0", _set_odds("away", 1.0), "$.matches[0].odds.away"),
    ("odds negative", _set_odds("home", -2.5), "$.matches[0].odds.home"),
    ("odds string", _set_odds("draw", "3.40"), "$.matches[0].odds.draw"),
    ("odds 'NaN' string", _set_odds("away", "NaN"), "$.matches[0].odds.away"),
    ("odds 'Infinity' string", _set_odds("away", "Infinity"), "$.matches[0].odds.away"),
    ("odds true", _set_odds("away", True), "$.matches[0].odds.away"),
    ("odds a list", _set("odds", [3.1, 3.4, 2.1]), "$.matches[0].odds"),
    ("duplicate match key", _duplicate, "appears twice"),
    ("kickoff not a time", _set("kickoff", "2024-13-45T25:00:00Z"), "$.matches[0].kickoff"),
    ("status unknown", _set("status", "<b>open</b>"), "$.matches[0].status"),
    ("matches not a list", lambda d: d.update(matches={"a": 1}), "matches"),
    ("no version", _drop("version"), "version"),
]
# the values decide's and execute's readers check; track only needs keys and results
FOR_EXECUTE = {"odds 0", "odds 1.0", "odds negative", "odds string", "odds 'NaN' string",
               "odds 'Infinity' string", "odds true", "odds a list", "duplicate match key",
               "matches not a list", "no version"}

HOSTILE_TEAM = "<script>alert('x')</script> Ünïcödé ⚽ \"quoted\" & co"


# --------------------------------------------------------------------------- decisions values

def _decision(field: str, value) -> Mutation:
    def f(doc: dict) -> None:
        doc["decisions"][0][field] = value
    return f


BAD_DECISION_VALUES: list[tuple[str, Mutation, str]] = [
    ("stake a string", _decision("stake", "10"), "decisions[0].stake"),
    ("stake missing", lambda d: d["decisions"][0].pop("stake"), "decisions[0].stake"),
    ("min_odds 'NaN'", _decision("min_odds", "NaN"), "decisions[0].min_odds"),
    ("selection unknown", _decision("selection", "<img src=x>"), "decisions[0].selection"),
    ("decisions not a list", lambda d: d.update(decisions="all"), "field decisions"),
    ("a decision not an object", lambda d: d["decisions"].insert(0, 7), "decisions[0]"),
]


# --------------------------------------------------------------------------- system-config

def good_config() -> dict:
    return {"mode": "paper", "max_odds_age_s": 86400,
            "sessions": [{"id": "s1", "selection": "away", "odds": {"min": 1.5, "max": 5},
                          "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000,
                          "limits": {"max_stake": 50}}]}


def _cfg(f: Mutation) -> Callable[[], bytes]:
    def make() -> bytes:
        doc = good_config()
        f(doc)
        return dumps(doc)
    return make


def _session(field: str, value) -> Mutation:
    def f(doc: dict) -> None:
        doc["sessions"][0][field] = value
    return f


# (name, the file's bytes, the JSON path the report names, a reason fragment)
BAD_CONFIGS: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("not JSON", lambda: b"mode: paper\nsessions: []\n", "$", "not JSON"),
    ("truncated", lambda: dumps(good_config())[:40], "$", "not JSON"),
    ("empty", lambda: b"", "$", "not JSON"),
    ("binary", lambda: bytes(range(256)) * 4, "$", "not JSON"),
    ("deeply nested", lambda: b'{"x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}", "$",
     "depth limit"),
    ("top level a list", lambda: b"[]", "$", "top level"),
    ("unknown top key", _cfg(lambda d: d.update(colour="red")), "$.colour", "unknown key"),
    ("unknown session key", _cfg(_session("stake", 10)), "$.sessions[0].stake", "unknown key"),
    ("wrong type", _cfg(lambda d: d["sessions"][0]["staking"].update(stake="ten")),
     "$.sessions[0].staking.stake", "valid number"),
    ("wrong type list", _cfg(lambda d: d.update(sessions={"id": "s1"})), "$.sessions",
     "valid list"),
    ("odds min > max", _cfg(_session("odds", {"min": 3.0, "max": 2.0})), "$.sessions[0].odds",
     "greater than max"),
    ("window from < to", _cfg(_session("window", {"from_minutes": 5, "to_minutes": 60})),
     "$.sessions[0].window", "less than to_minutes"),
    ("negative stake", _cfg(lambda d: d["sessions"][0]["staking"].update(stake=-10)),
     "$.sessions[0].staking.stake", "greater than 0"),
    ("negative bankroll", _cfg(_session("bankroll", -1)), "$.sessions[0].bankroll",
     "greater than 0"),
    ("negative max_stake", _cfg(_session("limits", {"max_stake": -5})),
     "$.sessions[0].limits.max_stake", "greater than 0"),
    # strict types: a text is not a number, a boolean or a count, however it reads
    ("stake 'Infinity'", _cfg(lambda d: d["sessions"][0]["staking"].update(stake="Infinity")),
     "$.sessions[0].staking.stake", "valid number"),
    ("max_odds_age_s 'NaN'", _cfg(lambda d: d.update(max_odds_age_s="NaN")),
     "$.max_odds_age_s", "valid number"),
    ("stake '10'", _cfg(lambda d: d["sessions"][0]["staking"].update(stake="10")),
     "$.sessions[0].staking.stake", "valid number"),
    ("enabled 'false'", _cfg(_session("enabled", "false")), "$.sessions[0].enabled",
     "valid boolean"),
    ("max_bets 2.5", _cfg(_session("limits", {"max_bets": 2.5})),
     "$.sessions[0].limits.max_bets", "valid integer"),
    ("clock start a number", _cfg(lambda d: d.update(clock={"start": 1565375400})),
     "$.clock.start", "ISO 8601"),
    ("duplicate session id", _cfg(lambda d: d["sessions"].append(copy.deepcopy(d["sessions"][0]))),
     "$.sessions", "appears twice"),
    ("selection unknown", _cfg(_session("selection", "<b>draw</b>")),
     "$.sessions[0].selection", "Input should be"),
]


# --------------------------------------------------------------------------- CSVs

CSV_HEADER = "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A"
CSV_ROWS = ["E0,09/08/2019,20:00,Liverpool,Norwich,4,1,H,1.14,10,19",
            "E0,10/08/2019,12:30,West Ham,Man City,0,5,A,12,6.5,1.22"]


def csv_text(header: str = CSV_HEADER, rows: list[str] = CSV_ROWS) -> str:
    return "\n".join([header, *rows]) + "\n"


def shuffled_csv() -> str:
    """The same file with its columns in another order."""
    cols = CSV_HEADER.split(",")
    order = list(reversed(range(len(cols))))
    lines = [[line.split(",")[i] for i in order] for line in [CSV_HEADER, *CSV_ROWS]]
    return "\n".join(",".join(x) for x in lines) + "\n"


def without_column(name: str) -> str:
    cols = CSV_HEADER.split(",")
    i = cols.index(name)
    return "\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != i)
                     for line in [CSV_HEADER, *CSV_ROWS]) + "\n"


def with_cell(row: int, column: str, value: str) -> str:
    cols = CSV_HEADER.split(",")
    rows = [r.split(",") for r in CSV_ROWS]
    rows[row][cols.index(column)] = value
    return csv_text(rows=[",".join(r) for r in rows])
