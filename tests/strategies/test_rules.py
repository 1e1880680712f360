"""Pure session rules: favourite/underdog ties, inclusive odds bounds, window edges, filters."""
from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.core.config import OddsBounds, Session, Window
from pipeline.core.state import replay
from pipeline.core.timefmt import parse_iso
from pipeline.strategies import rules
from tests.kit.builders import replay_lines

KICKOFF = parse_iso("2024-10-05T14:00:00Z")


def session(**over) -> Session:
    doc = {"id": "s", "selection": "favourite", "staking": {"plan": "flat", "stake": 10}}
    doc.update(over)
    return Session.model_validate(doc)


@pytest.mark.parametrize("selection, odds, expected", [
    ("favourite", {"home": 1.8, "draw": 3.5, "away": 4.2}, ("home", 1.8)),
    ("favourite", {"home": 4.2, "draw": 3.5, "away": 1.8}, ("away", 1.8)),
    ("favourite", {"home": 2.5, "draw": 3.0, "away": 2.5}, ("home", 2.5)),  # tie -> home
    ("underdog", {"home": 1.8, "draw": 3.5, "away": 4.2}, ("away", 4.2)),
    ("underdog", {"home": 4.2, "draw": 3.5, "away": 1.8}, ("home", 4.2)),
    ("underdog", {"home": 2.5, "draw": 3.0, "away": 2.5}, ("away", 2.5)),  # tie -> away
    ("draw", {"home": 2.5, "draw": 3.0, "away": 2.5}, ("draw", 3.0)),
    ("home", {"home": 2.5, "draw": 3.0, "away": 1.2}, ("home", 2.5)),
    ("away", {"home": 2.5, "draw": 3.0, "away": 1.2}, ("away", 1.2)),
])
def test_pick(selection, odds, expected):
    assert rules.pick(selection, odds) == expected


def test_favourite_ignores_the_draw_even_when_it_is_cheapest():
    assert rules.pick("favourite", {"home": 5.0, "draw": 1.5, "away": 6.0}) == ("home", 5.0)
    assert rules.pick("underdog", {"home": 5.0, "draw": 9.0, "away": 6.0}) == ("away", 6.0)


@pytest.mark.parametrize("price, ok", [
    (1.49, False), (1.5, True), (1.51, True), (2.19, True), (2.2, True), (2.21, False)])
def test_odds_bounds_are_inclusive_at_both_edges(price, ok):
    assert rules.odds_in_bounds(OddsBounds(min=1.5, max=2.2), price) is ok


def test_missing_odds_bounds_do_not_limit():
    assert rules.odds_in_bounds(OddsBounds(), 1.01)
    assert rules.odds_in_bounds(OddsBounds(), 1000)
    assert rules.odds_in_bounds(OddsBounds(min=2), 1000)
    assert not rules.odds_in_bounds(OddsBounds(min=2), 1.99)
    assert rules.odds_in_bounds(OddsBounds(max=2), 1.01)
    assert not rules.odds_in_bounds(OddsBounds(max=2), 2.01)


def test_odds_reason_names_side_price_and_bounds():
    assert rules.odds_reason("away", 2.1, OddsBounds(min=1.5, max=2.2)) == "away 2.10 in [1.5, 2.2]"
    assert rules.odds_reason("home", 3, OddsBounds(min=2)) == "home 3.00 in [2, any]"


WINDOW = Window(from_minutes=10, to_minutes=2)


@pytest.mark.parametrize("before_s, inside", [
    (10 * 60 + 1, False),  # one second before the window opens
    (10 * 60, True),  # exactly from_minutes before kickoff
    (5 * 60, True),
    (2 * 60, True),  # exactly to_minutes before kickoff
    (2 * 60 - 1, False),  # one second after it closes
    (0, False),
    (-60, False),  # after kickoff
])
def test_window_edges_are_inclusive(before_s, inside):
    now = KICKOFF - timedelta(seconds=before_s)
    assert rules.in_window(WINDOW, KICKOFF, now) is inside


def test_window_without_from_minutes_is_any_time_before_kickoff():
    w = Window()  # from_minutes None, to_minutes 0
    assert rules.in_window(w, KICKOFF, KICKOFF - timedelta(days=30))
    assert rules.in_window(w, KICKOFF, KICKOFF)  # exactly at kickoff: 0 <= 0
    assert not rules.in_window(w, KICKOFF, KICKOFF + timedelta(seconds=1))
    w = Window(to_minutes=60)
    assert rules.in_window(w, KICKOFF, KICKOFF - timedelta(minutes=60))
    assert not rules.in_window(w, KICKOFF, KICKOFF - timedelta(minutes=60) + timedelta(seconds=1))


def test_window_end_is_kickoff_minus_to_minutes():
    assert rules.window_end(WINDOW, KICKOFF) == KICKOFF - timedelta(minutes=2)
    assert rules.window_start(WINDOW, KICKOFF) == KICKOFF - timedelta(minutes=10)
    assert rules.window_start(Window(), KICKOFF) is None


def test_competitions_filter():
    assert rules.competition_ok(session(), "EFA")  # no filter: all competitions
    s = session(competitions=["EPL", "ED1"])
    assert rules.competition_ok(s, "EPL") and rules.competition_ok(s, "ED1")
    assert not rules.competition_ok(s, "EFA")
    assert not rules.competition_ok(s, "epl")  # codes are exact


def _placed(seq, did="s|m%d|1X2", session_id="s", stake=10.0, ts="2024-10-05T12:00:00Z"):
    did = did % seq if "%d" in did else did
    return [{"seq": seq * 10, "ts": ts, "type": "BET_INTENDED", "session": session_id,
             "decision_id": did, "client_ref": f"{did}#1", "attempt": 1, "match_key": did,
             "selection": "home", "odds": 2.0, "stake": stake, "mode": "paper"},
            {"seq": seq * 10 + 1, "ts": ts, "type": "BET_PLACED", "session": session_id,
             "decision_id": did, "client_ref": f"{did}#1", "bet_ref": f"b{seq}", "odds": 2.0,
             "stake": stake}]


def _settled(seq, outcome, profit, ts="2024-10-05T16:00:00Z"):
    return {"seq": seq * 10 + 2, "ts": ts, "type": "BET_SETTLED", "session": "s",
            "decision_id": f"s|m{seq}|1X2", "bet_ref": f"b{seq}", "outcome": outcome,
            "payout": 0.0 if outcome == "lost" else 20.0, "profit": profit}


def test_halt_causes():
    now = parse_iso("2024-10-05T18:00:00Z")
    book = replay_lines(_placed(1) + [_settled(1, "lost", -10.0)] + _placed(2))
    sb = book.sessions["s"]

    def cause(**limits):
        return rules.session_halt_cause(session(limits=limits), sb, now)

    assert cause() is None
    assert cause(max_bets=2) == "max_bets: 2 bets placed, max_bets 2"  # at the limit
    assert cause(max_bets=3) is None
    assert cause(stop_loss=10) == "stop_loss: settled profit -10.00 <= -10"  # profit == -limit
    assert cause(stop_loss=11) is None
    assert cause(daily_loss=10) == "daily_loss: settled profit today -10.00 <= -10"
    assert rules.session_halt_cause(session(limits={"daily_loss": 10}), sb,
                                    now + timedelta(days=1)) is None  # a new UTC day
    assert cause(max_duration_h=6).startswith("max_duration_h: first bet at 2024-10-05T12:00")
    assert cause(max_duration_h=7) is None  # 6 h since the first bet, not 7


def test_take_profit_at_the_limit():
    now = parse_iso("2024-10-05T18:00:00Z")
    sb = replay_lines(_placed(1) + [_settled(1, "won", 10.0)]).sessions["s"]
    assert rules.session_halt_cause(session(limits={"take_profit": 10}), sb, now) == (
        "take_profit: settled profit 10.00 >= 10")
    assert rules.session_halt_cause(session(limits={"take_profit": 10.01}), sb, now) is None


def test_one_halt_rule_for_every_program():
    """track and execute halt by the very function decide uses (no second copy to drift)."""
    import pipeline.strategies.controls as controls
    import pipeline.programs.execute.engine as execute_engine
    import pipeline.strategies.settlement as settlement
    assert settlement.halt_cause is rules.halt_cause
    assert controls.halt_cause is rules.halt_cause
    assert execute_engine.halt_cause is rules.halt_cause


def test_halt_cause_without_daily_profit_leaves_daily_loss_to_the_executor():
    limits = session(limits={"daily_loss": 10}).limits
    now = parse_iso("2024-10-05T18:00:00Z")
    kw = dict(settled_profit=-50.0, placed=3, first_bet_at=None, now=now)
    assert rules.halt_cause(limits, **kw) is None
    assert rules.halt_cause(limits, **kw, today_profit=-10.0)[0] == "daily_loss"
    assert rules.halt_cause(limits, **kw, today_profit=-9.99) is None
    assert rules.halt_cause(None, **kw) is None


def test_a_daily_loss_halt_ends_with_the_utc_day_others_hold_until_reset():
    ev = {"seq": 1, "ts": "2024-10-05T18:00:00Z", "type": "SESSION_HALTED", "session": "s",
          "reason": "daily_loss 100: settled profit today -120.00"}
    sb = replay_lines([ev]).sessions["s"]
    assert rules.standing_halt(sb, parse_iso("2024-10-05T23:59:59Z"))
    assert rules.standing_halt(sb, parse_iso("2024-10-06T00:00:00Z")) is None
    sb = replay_lines([{**ev, "reason": "stop_loss 300"}]).sessions["s"]
    assert rules.standing_halt(sb, parse_iso("2024-12-06T00:00:00Z")) == "stop_loss 300"
    reset = {"seq": 2, "ts": "2024-10-06T00:00:00Z", "type": "SESSION_RESET", "session": "s"}
    assert rules.standing_halt(replay_lines([ev, reset]).sessions["s"], parse_iso("2024-10-05T19:00:00Z")) is None


def test_bet_slots_count_open_bets_and_intents_in_flight():
    events = _placed(1) + _placed(2)
    events.append({"seq": 100, "ts": "2024-10-05T12:00:00Z", "type": "BET_INTENDED",
                   "session": "s", "decision_id": "s|m9|1X2", "client_ref": "x", "attempt": 1,
                   "match_key": "m9", "selection": "home", "odds": 2.0, "stake": 5.0,
                   "mode": "paper"})
    sb = replay_lines(events).sessions["s"]
    assert rules.bet_slots(session(), sb) == (None, "")
    n, why = rules.bet_slots(session(limits={"max_open_bets": 5}), sb)
    assert n == 2 and "max_open_bets 5" in why  # 2 open + 1 in flight
    n, why = rules.bet_slots(session(limits={"max_bets": 4, "max_open_bets": 5}), sb)
    assert n == 1 and "max_bets 4" in why
    assert rules.bet_slots(session(staking={"plan": "martingale", "stake": 1}), sb)[0] == 0


def test_review_counts_settled_non_void_bets_since_the_reset():
    now = parse_iso("2024-10-05T18:00:00Z")
    events = (_placed(1) + [_settled(1, "lost", -10.0)] + _placed(2) + [_settled(2, "void", 0.0)]
              + _placed(3) + [_settled(3, "won", 10.0)] + _placed(4) + [_settled(4, "lost", -10.0)])
    sb = replay_lines(events).sessions["s"]
    # 3 non-void bets, staked 30, profit -10: roi -0.333
    assert rules.review_figures(sb) == (3, 30.0, -10.0)
    s = session(review={"after_bets": 3, "min_roi": -0.3})
    assert rules.session_halt_cause(s, sb, now).startswith("review: 3 settled bets")
    assert rules.review_state(s, sb) == "review: 3/3 bets (due), roi -0.3333 < -0.3"
    assert rules.session_halt_cause(session(review={"after_bets": 4, "min_roi": -0.3}), sb,
                                    now) is None  # not enough bets yet
    assert rules.session_halt_cause(session(review={"after_bets": 3, "min_roi": -0.34}), sb,
                                    now) is None  # roi above min_roi
    assert rules.review_state(session(review={"after_bets": 50, "min_roi": -0.5}), sb) == (
        "review: 3/50 bets, roi -0.3333 >= -0.5")
    assert rules.review_state(session(), sb) is None
    assert rules.can_halt(session().limits, daily=False, review=s.review)
    reset = replay_lines(events + [{"seq": 100, "ts": "2024-10-05T17:00:00Z", "type": "SESSION_RESET",
                              "session": "s"}]).sessions["s"]
    assert rules.review_figures(reset) == (0, 0.0, 0.0)
    assert rules.session_halt_cause(s, reset, now) is None
