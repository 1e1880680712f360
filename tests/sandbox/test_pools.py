"""The constant-product price pools: seeded at the real price, moved by the money on them."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pipeline.programs.bookmaker import pools

L = 10_000


@pytest.mark.parametrize("price", [1.14, 2.0, 3.4, 9.5, 21.0])
def test_a_fresh_pool_shows_the_real_price(price):
    assert pools.marginal(price, 0, L) == pytest.approx(price)
    assert pools.shown(price, 0, L) == price


def test_the_product_stays_constant_and_a_bet_gets_the_shares_that_keep_it():
    price, stake = 2.0, 100.0
    n0, k = pools._seed(price, L)  # n0 = 5000 rest shares, y0 = 5000 outcome shares
    assert (n0, k) == (5000, 25_000_000)
    y_after = k / (n0 + stake)
    shares = 5000 + stake - y_after  # what the bettor gets for 100
    assert pools.taken(price, 0, stake, L) == int(shares / stake * 100) / 100 == 1.98
    assert pools.marginal(price, stake, L) == pytest.approx(1 + y_after / (n0 + stake))


def test_money_on_an_outcome_lowers_its_price_bet_after_bet():
    taken = []
    staked = 0.0
    for _ in range(5):
        taken.append(pools.taken(3.4, staked, 50, L))
        staked += 50
    assert taken == sorted(taken, reverse=True) and taken[0] > taken[-1]
    assert pools.shown(3.4, staked, L) < 3.4


def test_longshots_slip_more_than_favourites_and_thin_pools_more_than_deep_ones():
    def slip(price, liquidity):
        return 1 - pools.taken(price, 0, 10, liquidity) / price

    assert slip(21.0, L) > slip(1.5, L)
    assert slip(5.0, 1000) > slip(5.0, L)


@given(price=st.floats(1.02, 50), staked=st.floats(0, 50_000), stake=st.floats(0.01, 5000))
def test_a_bet_never_gets_more_than_the_price_shown_nor_less_than_1_01(price, staked, stake):
    price = round(price, 2)  # the market's prices have 2 decimals
    got = pools.taken(price, staked, stake, L)
    assert 1.01 <= got <= pools.shown(price, staked, L)
    assert pools.shown(price, staked + stake, L) <= pools.shown(price, staked, L)
