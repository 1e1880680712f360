"""`betpipe bets --overdue` and `betpipe settle BET_REF --score H-A | --void`, as an operator runs
them: the real console script in a subprocess on a temporary home whose ledger the real writer
made; payout and profit checked against figures computed here from the ledger's raw rows."""
from __future__ import annotations

from datetime import timedelta

import orjson

from pipeline.core.clock import FakeClock, anchor
from pipeline.core.config import Config
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso, parse_iso
from pipeline.programs.track.program import Tracker
from tests.kit.builders import ledger_events, match, odds_doc, of_type
from tests.kit.contracts import assert_contract
from tests.kit.programs import betpipe

START = parse_iso("2024-10-06T13:00:00Z")
LATE, RECENT, DONE, FLYING = ("2024-25_Arsenal v Chelsea", "2024-25_Leeds v Hull",
                              "2024-25_Wolves v Fulham", "2024-25_Spurs v Everton")


def place(ledger: Ledger, key: str, selection: str, odds: float, stake: float, ref: str | None):
    did = f"s1|{key}|1X2"
    ledger.append({"type": "BET_INTENDED", "session": "s1", "decision_id": did,
                   "client_ref": did + "#1", "attempt": 1, "match_key": key,
                   "selection": selection, "odds": odds, "stake": stake, "mode": "paper"})
    if ref:
        ledger.append({"type": "BET_PLACED", "session": "s1", "decision_id": did,
                       "client_ref": did + "#1", "bet_ref": ref, "odds": odds, "stake": stake,
                       "match_key": key, "selection": selection})


def make_home(home: Home) -> Home:
    anchor(home.clock, start=START, speed=1)
    atomic_write_json(home.system_config, {"sessions": [
        {"id": "s1", "selection": "home", "staking": {"plan": "flat", "stake": 8}}]})
    ledger = Ledger(home.ledger, FakeClock(START - timedelta(days=1)))
    place(ledger, LATE, "home", 2.35, 8.0, "P-LATE")
    place(ledger, RECENT, "away", 3.1, 4.0, "P-RECENT")
    place(ledger, DONE, "home", 1.9, 5.0, "P-DONE")
    ledger.append({"type": "BET_SETTLED", "session": "s1", "decision_id": f"s1|{DONE}|1X2",
                   "bet_ref": "P-DONE", "outcome": "lost", "payout": 0.0, "profit": -5.0,
                   "source": "track"})
    place(ledger, FLYING, "home", 2.0, 3.0, None)  # an intent, never placed
    ledger.append({"type": "BET_SETTLED", "session": "s1", "decision_id": "s1|x|1X2",
                   "bet_ref": "P-GHOST", "outcome": "won", "payout": 2.0, "profit": 1.0})
    # LATE kicked off 13 h ago and has no result; RECENT kicked off an hour ago
    atomic_write_json(home.odds, odds_doc(
        match(LATE, status="live", odds=None, kickoff=iso(START - timedelta(hours=13))),
        match(RECENT, status="live", odds=None, kickoff=iso(START - timedelta(hours=1)))))
    return home


def raw(home: Home, kind: str, bet_ref: str) -> list[dict]:
    return [e for e in of_type(ledger_events(home), kind) if e.get("bet_ref") == bet_ref]


def test_bets_overdue_lists_the_bet_and_settle_settles_it_once_by_hand(home):
    make_home(home)
    r = betpipe(home, "bets", "--overdue", "--json")
    assert r.returncode == 0, r.stderr
    rows = [orjson.loads(line) for line in r.stdout.splitlines()]
    assert [(x["bet_ref"], x["status"]) for x in rows] == [("P-LATE", "overdue")]
    assert rows[0]["overdue_since"] == iso(START - timedelta(hours=1))  # kickoff + 12 h
    table = betpipe(home, "bets", "--overdue")
    assert "P-LATE" in table.stdout and "P-RECENT" not in table.stdout
    assert "betpipe settle BET_REF" in table.stdout

    r = betpipe(home, "settle", "P-LATE", "--score", "2-1")
    assert r.returncode == 0, r.stderr
    (placed,) = raw(home, "BET_PLACED", "P-LATE")
    (ev,) = raw(home, "BET_SETTLED", "P-LATE")
    payout = round(placed["stake"] * placed["odds"], 2)  # home won 2-1: the stake times the odds
    assert (payout, round(payout - placed["stake"], 2)) == (18.8, 10.8)
    assert (ev["outcome"], ev["payout"], ev["profit"], ev["source"]) == \
        ("won", payout, round(payout - placed["stake"], 2), "manual")
    assert ev["result"] == {"home_goals": 2, "away_goals": 1}
    assert parse_iso(ev["ts"]) >= START  # the home's clock, not the writer's of the test
    assert ev["seq"] == ledger_events(home)[-2]["seq"] + 1
    assert_contract("bet-record-event", ev)
    assert "settled P-LATE by hand" in r.stdout and "+10.80" in r.stdout

    r = betpipe(home, "settle", "P-RECENT", "--void")
    assert r.returncode == 0, r.stderr
    (placed,) = raw(home, "BET_PLACED", "P-RECENT")
    (ev,) = raw(home, "BET_SETTLED", "P-RECENT")
    assert (ev["outcome"], ev["payout"], ev["profit"], ev["source"]) == \
        ("void", placed["stake"], 0.0, "manual")

    # track, with the real result now there, settles neither again
    events_before = ledger_events(home)
    won_away = lambda key: match(key, status="finished", odds=None,  # noqa: E731
                                 result={"home_goals": 0, "away_goals": 3})
    tracker = Tracker(home, Ledger(home.ledger, FakeClock(START)), FakeClock(START))
    assert tracker.run_pass(odds_doc(won_away(LATE), won_away(RECENT)), Config()) == []
    assert ledger_events(home) == events_before and tracker.overdue == []
    r = betpipe(home, "bets", "--overdue", "--json")
    assert r.returncode == 0 and r.stdout == ""


def test_settle_refuses_what_it_must_not_write(home):
    make_home(home)
    before = home.ledger.read_bytes()
    cases = {"P-NOPE": "unknown bet_ref 'P-NOPE'",
             "P-DONE": "bet 'P-DONE' is already settled: lost, profit -5.00",
             "P-GHOST": "bet 'P-GHOST' has no BET_PLACED",
             f"s1|{FLYING}|1X2#1": "has no BET_PLACED in the ledger (it has BET_INTENDED"}
    for ref, why in cases.items():
        r = betpipe(home, "settle", ref, "--score", "1-0")
        assert r.returncode == 2, (ref, r.stdout, r.stderr)
        assert why in r.stderr and str(home.ledger) in r.stderr, (ref, r.stderr)
    bad = betpipe(home, "settle", "P-LATE", "--score", "2:1")
    assert bad.returncode == 2 and "'2:1' is not a final score HOME-AWAY" in bad.stderr
    both = betpipe(home, "settle", "P-LATE", "--score", "2-1", "--void")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    assert home.ledger.read_bytes() == before  # nothing written
    assert betpipe(home, "settle", "P-LATE", "--void").returncode == 0
    again = betpipe(home, "settle", "P-LATE", "--score", "1-0")  # refused the second time
    assert again.returncode == 2 and "already settled: void" in again.stderr \
        and "(source manual)" in again.stderr
    assert len(raw(home, "BET_SETTLED", "P-LATE")) == 1


def test_settle_on_a_home_without_a_ledger_is_refused_and_creates_none(home):
    r = betpipe(home, "settle", "P-1", "--void")
    assert r.returncode == 2 and "unknown bet_ref 'P-1'" in r.stderr
    assert not home.ledger.exists()
