"""The pure decision engine and the staking plans: staleness, standing ids, limits, bankroll."""
from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.core.config import Session
from pipeline.core.state import Book, SessionBook, replay
from pipeline.core.timefmt import iso
from pipeline.strategies import staking
from pipeline.strategies.engine import check_snapshot, decide, decision_id, min_odds
from tests.kit.contracts import assert_contract
from tests.kit.builders import replay_lines
from tests.kit.engine import config, doc_of, KEY, KICKOFF, match, NOW, sess, snapshot

FAV = "fav|" + KEY + "|1X2"


def intended(seq, did=FAV, session="fav", stake=10.0, ref=None, key=KEY):
    return {"seq": seq, "ts": "2024-10-05T13:00:00Z", "type": "BET_INTENDED", "session": session,
            "decision_id": did, "client_ref": ref or f"{did}#1", "attempt": 1, "match_key": key,
            "selection": "away", "odds": 2.1, "stake": stake, "mode": "paper"}


def placed(seq, did=FAV, session="fav", stake=10.0, ref=None, bet_ref="b1", odds=2.1):
    return {"seq": seq, "ts": "2024-10-05T13:00:01Z", "type": "BET_PLACED", "session": session,
            "decision_id": did, "client_ref": ref or f"{did}#1", "bet_ref": bet_ref, "odds": odds,
            "stake": stake}


def settled(seq, outcome, profit, did=FAV, bet_ref="b1", stake=10.0, odds=2.1):
    return {"seq": seq, "ts": "2024-10-05T16:00:00Z", "type": "BET_SETTLED", "session": "fav",
            "decision_id": did, "bet_ref": bet_ref, "outcome": outcome,
            "payout": round(stake * odds, 2) if outcome == "won" else 0.0, "profit": profit}


# --------------------------------------------------------------------------- the decision

def test_a_decision_carries_every_field_of_the_contract():
    out = decide(snapshot(), config(), Book(), NOW)
    assert out.decisions == [{
        "id": FAV, "session": "fav", "match_key": KEY, "market": "1X2", "selection": "away",
        "odds": 2.1, "odds_at": iso(NOW), "min_odds": 2.05, "stake": 10.0,
        "reason": "away 2.10 in [1.5, 2.2]; flat 10.00", "created_at": iso(NOW),
        "expires_at": KICKOFF}]
    assert out.notes == {} and out.stale == 0
    assert_contract("decisions", doc_of(out))


def test_odds_at_is_the_matchs_seen_at_else_fetched_at():
    seen = iso(NOW - timedelta(seconds=30))
    out = decide(snapshot(match(seen_at=seen)), config(), Book(), NOW)
    assert out.decisions[0]["odds_at"] == seen


@pytest.mark.parametrize("price, slippage, floor, expected", [
    (2.10, 0.02, 1.5, 2.05),  # 2.058 floored
    (2.10, 0.02, 2.08, 2.08),  # the session's own minimum wins
    (2.10, 0.0, None, 2.10),
    (1.02, 0.05, None, 1.01),  # never 1 or below
])
def test_min_odds(price, slippage, floor, expected):
    s = Session.model_validate(sess(slippage=slippage, odds={"min": floor} if floor else {}))
    assert min_odds(price, s) == expected


def test_only_scheduled_matches_with_odds_in_bounds_and_competitions():
    ms = [match(key="2024-25_A v B", status="live"),
          match(key="2024-25_C v D", odds=None),
          match(key="2024-25_E v F", odds=(1.4, 4.0, 8.0)),  # favourite 1.4 < 1.5
          match(key="2024-25_EFA_G v H", competition="EFA"),
          match(key="2024-25_I v J", odds=(1.5, 4.0, 8.0)),  # at the lower bound
          match(key="2024-25_K v L", kickoff="2024-10-05T14:05:01Z")]  # window opens in 1 s
    out = decide(snapshot(*ms), config(), Book(), NOW)
    assert [d["match_key"] for d in out.decisions] == ["2024-25_I v J"]


def test_order_is_sessions_in_config_order_then_kickoff_then_key():
    ms = [match(key="2024-25_Z v Y", kickoff="2024-10-05T14:00:00Z"),
          match(key="2024-25_B v C", kickoff="2024-10-05T14:01:00Z"),
          match(key="2024-25_A v C", kickoff="2024-10-05T14:01:00Z")]
    cfg = config(sess(id="dog", selection="underdog"), sess(id="fav"))
    out = decide(snapshot(*ms), cfg, Book(), NOW)
    assert [(d["session"], d["match_key"][8:]) for d in out.decisions] == [
        ("dog", "Z v Y"), ("dog", "A v C"), ("dog", "B v C"),
        ("fav", "Z v Y"), ("fav", "A v C"), ("fav", "B v C")]


# --------------------------------------------------------------------------- staleness

def test_stale_odds_make_no_decision_and_are_counted():
    old = iso(NOW - timedelta(seconds=91))
    out = decide(snapshot(match(seen_at=old)), config(), Book(), NOW)
    assert out.decisions == [] and out.stale == 1
    assert out.notes == {"fav": ["stale odds: 1 match older than max_odds_age_s 90"]}
    assert_contract("decisions", doc_of(out))


def test_odds_one_second_younger_than_the_limit_still_decide():
    fresh = iso(NOW - timedelta(seconds=89))
    out = decide(snapshot(match(seen_at=fresh)), config(), Book(), NOW)
    assert len(out.decisions) == 1 and out.stale == 0
    exactly = iso(NOW - timedelta(seconds=90))  # age == limit: not older than it
    assert len(decide(snapshot(match(seen_at=exactly)), config(), Book(), NOW).decisions) == 1


def test_staleness_falls_back_to_fetched_at():
    doc = snapshot(match(), fetched_at=iso(NOW - timedelta(seconds=91)))
    assert decide(doc, config(), Book(), NOW).decisions == []


# --------------------------------------------------------------------------- standing ids

def test_a_placed_bet_stops_the_decision_standing():
    book = replay_lines([intended(1), placed(2)])
    assert decide(snapshot(), config(), book, NOW).decisions == []


def test_an_unresolved_intent_stops_the_decision_standing():
    book = replay_lines([intended(1)])
    assert decide(snapshot(), config(), book, NOW).decisions == []


def test_a_retryable_failure_lets_the_decision_stand_again():
    failed = {"seq": 2, "ts": "2024-10-05T13:00:01Z", "type": "BET_FAILED", "session": "fav",
              "decision_id": FAV, "client_ref": f"{FAV}#1", "reason": "suspended",
              "retryable": True}
    book = replay_lines([intended(1), failed])
    assert [d["id"] for d in decide(snapshot(), config(), book, NOW).decisions] == [FAV]


def test_another_sessions_bet_does_not_stop_this_one():
    other = "dog|" + KEY + "|1X2"
    book = replay_lines([intended(1, did=other, session="dog"), placed(2, did=other, session="dog")])
    assert [d["id"] for d in decide(snapshot(), config(), book, NOW).decisions] == [FAV]


def test_created_at_is_kept_from_the_previous_decisions():
    first = decide(snapshot(), config(), Book(), NOW).decisions[0]
    later = NOW + timedelta(seconds=40)
    prev = {first["id"]: first}
    again = decide(snapshot(fetched_at=iso(later)), config(), Book(), later, prev).decisions[0]
    assert again["created_at"] == iso(NOW) and again["odds_at"] == iso(later)
    fresh = decide(snapshot(fetched_at=iso(later)), config(), Book(), later).decisions[0]
    assert fresh["created_at"] == iso(later)


# --------------------------------------------------------------------------- stakes, bankroll

def test_stake_is_capped_at_max_stake_never_refused_for_it():
    cfg = config(sess(staking={"plan": "flat", "stake": 80}, limits={"max_stake": 50}))
    d = decide(snapshot(), cfg, Book(), NOW).decisions[0]
    assert d["stake"] == 50.0 and "capped at max_stake 50.00" in d["reason"]


def test_stake_is_floored_to_a_cent():
    cfg = config(sess(staking={"plan": "flat", "stake": 10.239}))
    assert decide(snapshot(), cfg, Book(), NOW).decisions[0]["stake"] == 10.23
    assert staking.floor2(0.29) == 0.29 and staking.floor2(10.999) == 10.99


def test_a_free_bankroll_too_small_makes_no_decision_and_says_so():
    # bankroll 30: one open bet of 26 (another match) leaves 4 free for a stake of 10
    other = "fav|2024-25_X v Y|1X2"
    book = replay_lines([intended(1, did=other, stake=26, key="2024-25_X v Y"),
                   placed(2, did=other, stake=26)])
    cfg = config(sess(bankroll=30))
    out = decide(snapshot(), cfg, book, NOW)
    assert out.decisions == []
    assert out.notes == {"fav": ["stake 10.00 exceeds free bankroll 4.00 = bankroll 30.00 + "
                                 "settled profit 0.00 - open and in-flight stakes 26.00"]}
    assert_contract("decisions", doc_of(out))


def test_stakes_in_flight_and_decisions_of_the_same_pass_use_up_the_free_bankroll():
    other = "fav|2024-25_X v Y|1X2"
    book = replay_lines([intended(1, did=other, stake=15, key="2024-25_X v Y")])  # in flight: 15
    ms = [match(key=f"2024-25_T{i} v U{i}") for i in range(3)]
    out = decide(snapshot(*ms), config(sess(bankroll=40)), book, NOW)
    assert len(out.decisions) == 2  # 40 - 15 = 25: two stakes of 10, not a third
    assert out.notes == {"fav": ["stake 10.00 exceeds free bankroll 5.00 = bankroll 40.00 + "
                                 "settled profit 0.00 - open and in-flight stakes 15.00 - stakes "
                                 "of this pass's decisions 20.00"]}


def test_max_open_bets_counts_open_bets_and_intents_in_flight():
    a, b = "fav|2024-25_X v Y|1X2", "fav|2024-25_V v W|1X2"
    book = replay_lines([intended(1, did=a, key="2024-25_X v Y"), placed(2, did=a),
                   intended(3, did=b, key="2024-25_V v W", ref="b#1")])
    ms = [match(key=f"2024-25_T{i} v U{i}") for i in range(3)]
    out = decide(snapshot(*ms), config(sess(limits={"max_open_bets": 3})), book, NOW)
    assert [d["match_key"] for d in out.decisions] == ["2024-25_T0 v U0"]
    assert out.notes["fav"][0].startswith("limit reached: max_open_bets 3")
    assert out.notes["fav"][0].endswith("(2 matches)")


def test_max_bets_stops_new_decisions():
    a = "fav|2024-25_X v Y|1X2"
    book = replay_lines([intended(1, did=a, key="2024-25_X v Y"), placed(2, did=a),
                   settled(3, "won", 11.0, did=a)])
    out = decide(snapshot(), config(sess(limits={"max_bets": 2})), book, NOW)
    assert len(out.decisions) == 1
    out = decide(snapshot(), config(sess(limits={"max_bets": 1})), book, NOW)
    assert out.decisions == [] and out.notes["fav"] == ["halting: max_bets: 1 bets placed, max_bets 1"]


# --------------------------------------------------------------------------- halts

def test_a_halted_session_decides_nothing():
    halted = {"seq": 1, "ts": "2024-10-05T13:00:00Z", "type": "SESSION_HALTED",
              "session": "fav", "reason": "stop_loss 300: settled profit -300.00"}
    out = decide(snapshot(), config(), replay_lines([halted]), NOW)
    assert out.decisions == [] and out.notes["fav"] == [f"halted: {halted['reason']}"]
    reset = {"seq": 2, "ts": "2024-10-05T13:10:00Z", "type": "SESSION_RESET", "session": "fav"}
    assert len(decide(snapshot(), config(), replay_lines([halted, reset]), NOW).decisions) == 1


def test_config_halt_stops_every_session():
    cfg = config(sess(id="a"), sess(id="b"), halt=True)
    out = decide(snapshot(), cfg, Book(), NOW)
    assert out.decisions == [] and set(out.notes) == {"a", "b"}
    assert "halt" in out.notes["a"][0]
    assert len(decide(snapshot(), config(sess(id="a"), sess(id="b")), Book(), NOW).decisions) == 2


def test_a_disabled_session_decides_nothing():
    out = decide(snapshot(), config(sess(enabled=False), sess(id="on")), Book(), NOW)
    assert [d["session"] for d in out.decisions] == ["on"] and out.notes == {"fav": ["disabled"]}


def test_result_dependent_plans_hold_one_bet_taking_the_earliest_kickoff():
    ms = [match(key="2024-25_B v C", kickoff="2024-10-05T14:01:00Z"),
          match(key="2024-25_A v C", kickoff="2024-10-05T14:01:00Z"),
          match(key="2024-25_Z v Y", kickoff="2024-10-05T14:00:00Z")]
    cfg = config(sess(staking={"plan": "martingale", "stake": 1, "max_steps": 3}))
    out = decide(snapshot(*ms), cfg, Book(), NOW)
    assert [d["match_key"] for d in out.decisions] == ["2024-25_Z v Y"]
    assert decide(snapshot(*ms), cfg, replay_lines([intended(1, did="fav|x|1X2")]), NOW).decisions == []


def test_windows_false_ignores_windows_for_the_backtest():
    ko = iso(NOW + timedelta(days=3))
    assert decide(snapshot(match(kickoff=ko)), config(), Book(), NOW).decisions == []
    d = decide(snapshot(match(kickoff=ko)), config(), Book(), NOW, windows=False).decisions
    assert len(d) == 1 and d[0]["expires_at"] == ko


# --------------------------------------------------------------------------- staking plans

def _stake(plan: dict, events=(), odds=(3.10, 3.40, 2.10), selection="away", **over):
    s = Session.model_validate(sess(staking=plan, **over))
    sb = replay_lines(list(events)).sessions.get("fav") or SessionBook("fav")
    return staking.stake_for(s, sb, dict(zip(("home", "draw", "away"), odds)), selection)


def _history(*outcomes, stake=1.0, odds=2.0):
    events, seq = [], 1
    for i, o in enumerate(outcomes):
        did = f"fav|m{i}|1X2"
        events += [intended(seq, did=did, stake=stake), placed(seq + 1, did=did, stake=stake,
                                                               bet_ref=f"b{i}", odds=odds),
                   settled(seq + 2, o, {"won": stake * (odds - 1), "lost": -stake, "void": 0}[o],
                           did=did, bet_ref=f"b{i}", stake=stake, odds=odds)]
        seq += 3
    return events


def test_percent_of_the_current_bankroll():
    r = _stake({"plan": "percent", "percent": 2}, _history("won", odds=2.0, stake=10),
               bankroll=1000)
    assert r.stake == 20.2  # 2 % of 1010


def test_kelly_with_no_edge_makes_no_bet_and_with_an_edge_stakes_a_fraction():
    r = _stake({"plan": "kelly", "fraction": 0.5})
    assert r.stake is None and "kelly stake <= 0" in r.reason
    r = _stake({"plan": "kelly", "fraction": 0.5, "edge": 0.1}, odds=(2.0, 4.0, 4.0),
               selection="home")
    # p = 0.5 * 1.1 = 0.55; f = (0.55 * 2 - 1) / 1 = 0.1; 0.5 * 0.1 * 1000 = 50
    assert r.stake == 50.0


@pytest.mark.parametrize("outcomes, expected", [
    ((), 1), (("lost",), 2), (("lost", "lost"), 4), (("lost", "lost", "lost"), 1),
    (("lost", "won"), 1), (("lost", "void"), 2)])
def test_martingale(outcomes, expected):
    assert _stake({"plan": "martingale", "stake": 1, "max_steps": 3},
                  _history(*outcomes)).stake == expected


@pytest.mark.parametrize("outcomes, expected", [
    ((), 1), (("lost",), 1), (("lost", "lost"), 2), (("lost",) * 3, 3), (("lost",) * 4, 5),
    (("lost",) * 5, 1), (("lost",) * 4 + ("won",), 2), (("won",), 1)])
def test_fibonacci(outcomes, expected):
    assert _stake({"plan": "fibonacci", "stake": 1, "max_steps": 5},
                  _history(*outcomes)).stake == expected


@pytest.mark.parametrize("outcomes, expected", [
    ((), 1), (("won",), 2), (("won", "won"), 4), (("won", "won", "won"), 1),  # 8 >= target 8
    (("won", "lost"), 1), (("won", "void"), 2)])
def test_ladder(outcomes, expected):
    events, seq, stake = [], 1, 1.0
    for i, o in enumerate(outcomes):  # each bet stakes what the ladder said
        did = f"fav|m{i}|1X2"
        events += [intended(seq, did=did, stake=stake), placed(seq + 1, did=did, stake=stake,
                                                               bet_ref=f"b{i}", odds=2.0),
                   settled(seq + 2, o, {"won": stake, "lost": -stake, "void": 0}[o], did=did,
                           bet_ref=f"b{i}", stake=stake, odds=2.0)]
        seq += 3
        stake = _stake({"plan": "ladder", "stake": 1, "target": 8}, events).stake
    assert _stake({"plan": "ladder", "stake": 1, "target": 8}, events).stake == expected


# --------------------------------------------------------------------------- snapshots

@pytest.mark.parametrize("mutate, where", [
    (lambda d: d.pop("matches"), "$.matches"),
    (lambda d: d.update(fetched_at="yesterday"), "$.fetched_at"),
    (lambda d: d["matches"][0].update(kickoff="2024-10-05 14:00"), "$.matches[0].kickoff"),
    (lambda d: d["matches"][0]["odds"].update(away=1.0), "$.matches[0].odds.away"),
    (lambda d: d["matches"][0]["odds"].update(home="3.1"), "$.matches[0].odds.home"),
    (lambda d: d["matches"][0]["odds"].update(draw=True), "$.matches[0].odds.draw"),
    (lambda d: d["matches"].append([]), "$.matches[1]: not an object"),
    (lambda d: d["matches"][0].update(seen_at=["x"]), "$.matches[0].seen_at"),
    (lambda d: d["matches"][0].update(status="playing"), "$.matches[0].status"),
])
def test_check_snapshot_names_the_json_path(mutate, where):
    doc = snapshot()
    check_snapshot(doc)
    mutate(doc)
    with pytest.raises(ValueError, match=__import__("re").escape(where)):
        check_snapshot(doc)


def test_decision_id():
    assert decision_id("fav", KEY) == FAV
