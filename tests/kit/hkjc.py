"""The HKJC captures of ../shared/data/hkjc as the source's tests read them: the moment they were
taken, two of their matches, a parse of named captures, hand-made results answers of the
documented shape, and `betpipe sources parse` in process."""
from __future__ import annotations

from pipeline import cli
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import parse_iso
from pipeline.sources.hkjc import parse_odds_answers
from tests.kit.hkjc_site import load_capture

TABLES = load_tables()
NOW = parse_iso("2026-02-22T04:45:00Z")  # FB4342 in its second half, FB5022 two weeks ahead
SEEN = "2026-02-22T04:45:00Z"
LEVANTE = "2025-26_Levante v Girona"
SAN_DIEGO = "2026_San Diego FC v CF Montreal"


def parse(*names: str, now=NOW):
    return parse_odds_answers([load_capture(n) for n in names], TABLES, SEEN, now)


def fb5022() -> dict:
    return load_capture("single-match-preevent-FB5022.json")["data"]["matches"][0]


def fb4342() -> dict:
    return load_capture("single-match-secondhalf-FB4342.json")["data"]["matches"][0]


def results_answer(*entries: dict, status: str = "RESULT", **match_fields) -> dict:
    """A hand-made matchResult answer of the documented shape (no real one was captured)."""
    m = fb4342()
    match = {k: m[k] for k in ("id", "frontEndId", "kickOffTime", "homeTeam", "awayTeam",
                               "tournament")}
    return {"data": {"matches": [{**match, "status": status, "results": list(entries),
                                  **match_fields}]}}


def entry(home: int, away: int, stage: int, kind: int = 1, confirmed: bool = True) -> dict:
    return {"homeResult": home, "awayResult": away, "ttlCornerResult": 9, "stageId": stage,
            "resultType": kind, "payoutConfirmed": confirmed}


def run_cli(capsys, home, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--home", str(home.root), "sources", "parse", *args])
    out, err = capsys.readouterr()
    return code, out, err
