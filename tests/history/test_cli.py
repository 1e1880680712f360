"""`betpipe history days|matches|show KEY|export` on a real history folder, as a user runs them;
`betpipe history` alone still lists the ledger's events."""
from __future__ import annotations

import csv
import io

import orjson

from pipeline.history import store
from tests.kit.builders import history_line_match as match
from tests.kit.programs import betpipe

AH = [{"line": -0.5, "home": 1.9, "away": 1.95}]


def filled(home):
    w = store.HistoryWriter(home.data / "odds-history")
    chelsea = "2019-20_Chelsea v Leeds"
    w.append("replay", [match(), match(chelsea, 1.5, handicap=AH)], "2019-08-16T10:00:00Z")
    w.append("replay", [match(home=2.1), match(chelsea, 1.5,
             handicap=[{"line": -0.5, "home": 1.8, "away": 2.05}])], "2019-08-16T10:05:00Z")
    w.append("replay", [match(status="finished", result={"home_goals": 2, "away_goals": 1}),
                        match(chelsea, 1.5, handicap=[{"line": -0.5, "home": 1.8,
                                                       "away": 2.05}])],
             "2019-08-17T16:00:00Z")
    w.close()


def test_days_matches_show_and_export(home):
    filled(home)
    days = orjson.loads(betpipe(home, "history", "days", "--json").stdout)
    assert [(d["day"], d["file"], d["lines"], d["matches"]) for d in days] == [
        ("2019-08-16", "2019-08-16.jsonl.gz", 4, 2),
        ("2019-08-17", "2019-08-17.jsonl", 2, 2)]  # each day's first line of a match is full
    out = betpipe(home, "history", "matches", "--json").stdout
    ms = [orjson.loads(x) for x in out.splitlines()]
    assert [(m["key"], m["lines"], m["status"]) for m in ms] == [
        ("2019-20_Arsenal v Burnley", 3, "finished"), ("2019-20_Chelsea v Leeds", 3, "scheduled")]
    shown = betpipe(home, "history", "show", "2019-20_Arsenal v Burnley").stdout.splitlines()
    assert len(shown) == 3 and "2/3.4/4.1" in shown[0] and "2.1/3.4/4.1" in shown[1]
    assert "result 2-1" in shown[2]
    missing = betpipe(home, "history", "show", "nope")
    assert missing.returncode == 2 and "no line for match 'nope'" in missing.stderr
    csv_text = betpipe(home, "history", "export", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    # one row per market line whose prices changed; the Chelsea line re-stated on day 2 is none
    assert [(r["t"][11:16], r["key"][8:15], r["market"], r["line"], r["price_1"],
             r["home_goals"]) for r in rows] == [
        ("10:00", "Arsenal", "1X2", "", "2.0", ""), ("10:00", "Chelsea", "1X2", "", "1.5", ""),
        ("10:00", "Chelsea", "AH", "-0.5", "1.9", ""), ("10:05", "Arsenal", "1X2", "", "2.1", ""),
        ("10:05", "Chelsea", "AH", "-0.5", "1.8", ""), ("16:00", "Arsenal", "", "", "", "2")]


def test_history_alone_is_still_the_ledgers_events(home):
    out = betpipe(home, "history")
    assert out.returncode == 0 and out.stdout.strip() == "no events"
