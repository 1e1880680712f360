"""The stake check's quick path (SessionBook.free_floor, staking.Purse): a stake at most the
floor skips the exact free bankroll, so the floor must never exceed it. Any bankroll, settled
profits, open and in-flight stakes (cents or not, small or huge) and any stake: the Purse
decides exactly as the free bankroll's definition, computed here from the lists."""
from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from pipeline.core.config import Session
from pipeline.core.state import Bet, Intent, SessionBook, free_bankroll
from pipeline.strategies.staking import Purse, floor2
from tests.kit.tiers import examples

MONEY = st.one_of(st.integers(1, 10**6).map(lambda c: c / 100),  # cents, as stakes are
                  st.floats(0.001, 1e6, allow_nan=False), st.floats(1e6, 1e12))


def book(open_stakes, profits, flying) -> SessionBook:
    """A book with running figures: settled bets (these profits), open bets, intents."""
    sb = SessionBook("s")
    for i, p in enumerate(profits, 1):
        bet = Bet(f"d{i}", "s", f"c{i}", f"b{i}", "k", "home", 2.0, 1.0, "2024-10-05T12:00:00Z", i)
        sb.add_bet(bet)
        bet.outcome, bet.profit = ("won" if p > 0 else "lost"), p
        sb.add_settled(bet)
    for j, stake in enumerate(open_stakes, len(profits) + 1):
        sb.add_bet(Bet(f"d{j}", "s", f"c{j}", f"b{j}", "k", "home", 2.0, stake,
                       "2024-10-05T12:00:00Z", j))
    for k, stake in enumerate(flying):
        sb.in_flight[f"f{k}"] = Intent(f"f{k}", "s", f"f{k}#1", 1, "k", "home", 2.0, stake,
                                       "paper", "2024-10-05T12:00:00Z", 1000 + k)
    return sb


def defined_free(start, open_stakes, profits, flying) -> float:
    """DESIGN's free bankroll, from the lists: bankroll + settled profit - open - in flight."""
    return round(start + round(sum(profits), 2) - round(sum(open_stakes), 2) - sum(flying), 2)


def purse(start: float, stake: float, sb: SessionBook) -> Purse:
    s = Session.model_validate({"id": "s", "selection": "home", "bankroll": start,
                                "staking": {"plan": "flat", "stake": stake}})
    return Purse(s, sb)


@settings(max_examples=examples(400), deadline=None)
@given(start=MONEY, stake=MONEY, open_stakes=st.lists(MONEY, max_size=6),
       profits=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=6),
       flying=st.lists(MONEY, max_size=2))
def test_the_purse_decides_as_the_free_bankroll_defines(start, stake, open_stakes, profits,
                                                        flying):
    sb = book(open_stakes, profits, flying)
    free = defined_free(start, open_stakes, profits, flying)
    assert free_bankroll(sb, start) == free
    assert sb.free_floor(start) <= free
    res = purse(start, stake, sb).stake(None, None)
    fits = 0 < floor2(stake) <= free + 1e-9  # a stake that rounds to 0.00 is no stake
    assert (res.stake is not None) == fits
    # starved: known before any match is priced — the bankroll, not the stake's rounding
    assert purse(start, stake, sb).starved() == (0 < floor2(stake) and not fits)


def test_at_the_cent_the_exact_free_bankroll_decides():
    # 30.07 - 20.07 open = 10.00 free: a stake of 10 fits, one of 10.01 does not
    sb = book([20.07], [], [])
    assert sb.free_floor(30.07) < 10 <= free_bankroll(sb, 30.07) == 10.0
    assert purse(30.07, 10, sb).stake(None, None).stake == 10
    short = purse(30.07, 10.01, sb).stake(None, None)
    assert short.stake is None and "exceeds free bankroll 10.00" in short.reason
    # 0.1 + 0.2 of settled profit (0.30000000000000004) and a bankroll of 9.7: exactly 10
    sb = book([], [0.1, 0.2], [])
    assert purse(9.7, 10, sb).stake(None, None).stake == 10
    assert purse(9.7, 10.01, sb).stake(None, None).stake is None


def test_a_stake_well_inside_skips_the_exact_figure_and_a_book_without_running_figures_never():
    sb = book([5.0, 2.5], [3.0], [1.0])
    p = purse(1000, 10, sb)
    assert p.stake(None, None).stake == 10 and p._free is None  # not worked out: not needed
    assert p.free == 1000 + 3 - 7.5 - 1
    filled = SessionBook("s")
    filled.bets.append(Bet("d", "s", "c", "b", "k", "home", 2.0, 5.0, "2024-10-05T12:00:00Z", 1))
    assert filled.free_floor(1000) == -math.inf
    assert purse(1000, 10, filled).stake(None, None).stake == 10


def test_starved_only_for_an_amount_the_same_for_every_match():
    """percent (odds-free) is starved when its share exceeds what is free; kelly (per price)
    never is: each match's own stake decides."""
    sb = book([60.0], [], [])  # 100 - 60 open = 40 free, bankroll 100
    half = Purse(Session.model_validate({"id": "s", "selection": "home", "bankroll": 100,
                                         "staking": {"plan": "percent", "percent": 50}}), sb)
    assert half.starved() and half.stake(None, None).stake is None
    third = Purse(Session.model_validate({"id": "s", "selection": "home", "bankroll": 100,
                                          "staking": {"plan": "percent", "percent": 30}}), sb)
    assert not third.starved() and third.stake(None, None).stake == 30
    kelly = Purse(Session.model_validate({"id": "s", "selection": "home", "bankroll": 100,
                                          "staking": {"plan": "kelly", "fraction": 1,
                                                      "edge": 0.5}}), sb)
    assert not kelly.starved()
    assert kelly.stake({"home": 2.0, "draw": 3.4, "away": 4.0}, "home").stake is None
