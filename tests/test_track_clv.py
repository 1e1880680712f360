"""Track takes each bet's closing line from the odds history once its match has kicked off
(DESIGN: "Odds history and closing-line value"), results.json carries it, `betpipe sessions` and
`betpipe bets` show the same figures. The history is written here, line by line."""
from __future__ import annotations


import orjson
import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.filebus import read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.programs.track.program import Tracker
from tests.kit.builders import at, config, KICKOFF, match, odds_doc, place
from tests.kit.contracts import assert_contract
from tests.kit.programs import betpipe

KEY, LATE, UNSEEN = ("2024-25_Home1 v Away1", "2024-25_Home2 v Away2", "2024-25_Home3 v Away3")
LATE_KO = "2024-10-05T18:00:00Z"


def line(t, key, odds, status="scheduled", kickoff=KICKOFF, **more) -> dict:
    return {"t": t, "source": "sandbox", "key": key, "status": status, "kickoff": kickoff,
            "odds": dict(zip(("home", "draw", "away"), odds)) if odds else None,
            "result": None, **more}


@pytest.fixture
def written(home):
    """A history: KEY from 3.1/3.4/2.1 to 3.0/3.5/2.0, then no price just before kickoff (no
    price: the close stays 2.0), then a live price after kickoff (not the close); LATE kicks off
    at 18:00, its last price before that 2.5/3.2/2.6."""
    folder = home.data / "odds-history"
    folder.mkdir(parents=True)
    day1 = [line("2024-10-05T11:00:00Z", KEY, (3.1, 3.4, 2.1)),
            line("2024-10-05T11:00:00Z", LATE, (2.4, 3.3, 2.7), kickoff=LATE_KO),
            line("2024-10-05T13:30:00.500Z", KEY, (3.0, 3.5, 2.0)),
            line("2024-10-05T13:59:00Z", KEY, None),
            line("2024-10-05T14:00:00.250Z", KEY, (1.5, 4.0, 6.0), status="live"),
            line("2024-10-05T17:59:59Z", LATE, (2.5, 3.2, 2.6), kickoff=LATE_KO),
            line("2024-10-05T18:01:00Z", LATE, (9.0, 3.2, 1.2), kickoff=LATE_KO, status="live")]
    (folder / "2024-10-05.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in day1))
    for r in day1:
        assert_contract("odds-history-line", r)
    return folder


def expected(odds: float, sel: int, close: tuple) -> dict:
    p = (1 / close[sel]) / sum(1 / c for c in close)
    return {"closing": close[sel], "clv": round(odds / close[sel] - 1, 6),
            "ev_close": round(odds * p - 1, 6), "market": "1X2"}


def test_track_takes_the_close_from_the_history_once_the_match_kicks_off(home, written):
    clock = FakeClock(at(-3600))  # 11:00
    ledger = Ledger(home.ledger, clock)
    place(ledger, KEY, odds=2.1)      # away @ 2.1; closes at 2.0
    place(ledger, LATE, odds=2.7)     # away @ 2.7; closes at 2.6 (kicks off at 18:00)
    place(ledger, UNSEEN, odds=2.2)   # never in the history: no closing price
    refs = {b.match_key: b.bet_ref for b in ledger_bets(ledger)}
    odds = odds_doc(match(KEY), match(LATE, kickoff=LATE_KO), match(UNSEEN))
    tracker = Tracker(home, ledger, clock)
    tracker.run_pass(odds, config())
    doc = read_snapshot(home.results)
    assert doc["sessions"]["s1"]["clv_bets"] == 0 and doc["closes"] == {}  # nothing kicked off

    clock.set(at(3 * 3600))  # 15:00: KEY and UNSEEN have kicked off, LATE has not
    tracker.run_pass(odds, config())
    doc = read_snapshot(home.results)
    assert_contract("results", doc)
    a = expected(2.1, 2, (3.0, 3.5, 2.0))
    assert doc["closes"] == {refs[KEY]: a}
    s1 = doc["sessions"]["s1"]
    assert (s1["clv_bets"], s1["clv_mean"], s1["ev_close_mean"]) == (1, a["clv"], a["ev_close"])

    reads = tracker.closes.reads
    tracker.run_pass(odds, config())  # nothing newly kicked off: no history read
    assert tracker.closes.reads == reads

    clock.set("2024-10-05T18:30:00Z")
    tracker.run_pass(odds, config())
    doc = read_snapshot(home.results)
    b = expected(2.7, 2, (2.5, 3.2, 2.6))
    assert doc["closes"] == {refs[KEY]: a, refs[LATE]: b}
    s1 = doc["sessions"]["s1"]
    assert s1["clv_bets"] == 2 and doc["total"]["clv_bets"] == 2
    assert s1["clv_mean"] == pytest.approx((a["clv"] + b["clv"]) / 2, abs=1e-6)
    assert s1["ev_close_mean"] == pytest.approx((a["ev_close"] + b["ev_close"]) / 2, abs=1e-6)

    fresh = Tracker(home, ledger, clock)  # a restart takes the same closes
    fresh.run_pass(odds_doc(match(UNSEEN)), config())  # KEY and LATE gone from odds-data
    assert read_snapshot(home.results)["closes"] == doc["closes"]

    r = betpipe(home, "sessions", "--json")
    assert r.returncode == 0, r.stderr
    row = orjson.loads(r.stdout)["sessions"][0]
    assert (row["clv_bets"], row["clv_mean"], row["ev_close_mean"]) == \
        (s1["clv_bets"], s1["clv_mean"], s1["ev_close_mean"])
    r = betpipe(home, "bets", "--json")
    rows = {x["match_key"]: x for x in map(orjson.loads, r.stdout.splitlines())}
    assert {k: (rows[k]["closing"], rows[k]["clv"], rows[k]["ev_close"]) for k in rows} == {
        KEY: tuple(a.values())[:3], LATE: tuple(b.values())[:3], UNSEEN: (None, None, None)}
    r = betpipe(home, "bets")
    assert f"{a['clv']:+.2%}" in r.stdout and f"{b['clv']:+.2%}" in r.stdout


def ledger_bets(ledger):
    from pipeline.core.state import replay

    return replay(ledger.read()).placed.values()
