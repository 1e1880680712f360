"""The sandbox market at simulated instants (FakeClock), on the real 2019-20 fixtures."""
from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import parse_iso
from pipeline.programs.bookmaker.market import (LISTED_AFTER, LISTED_BEFORE, MIN_PRICE, POSTPONED_NOTICE,
                                     SUSPEND_BEFORE, Market, Quote, Rules, prices_at)
from pipeline.history.football_data import load_folder, parse_file, parse_text
from tests.kit.contracts import FOOTBALL_DATA

TABLES = load_tables()
LIV_NOR = "E0_2019-20.csv:0"  # Liverpool v Norwich, 2019-08-09T19:00:00Z, 4-1


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(parse_file(FOOTBALL_DATA / "E0_2019-20.csv", TABLES))


def listed_ids(market: Market, clock: FakeClock) -> list[str]:
    return [s.fixture.id for s in market.listed(clock.now())]


def test_the_life_of_a_match(market):
    f = market.find(LIV_NOR)
    k = f.kickoff
    clock = FakeClock(k - timedelta(days=8))
    assert LIV_NOR not in listed_ids(market, clock)

    clock.set(k - timedelta(days=6))
    [state] = [s for s in market.listed(clock.now()) if s.fixture.id == LIV_NOR]
    assert state.status == "scheduled" and state.on_sale and state.score is None
    opening, closing = f.odds("b365"), f.odds("b365-closing")  # (1.14, 10, 19) -> (1.14, 9.5, 21)
    for p, o, c in zip(state.odds, opening, closing):
        assert min(o, c) <= p <= max(o, c)
    # one seventh of the way from the pre-match to the closing prices, 2 decimals
    assert state.odds == (1.14, 9.93, 19.29)

    clock.set(k - SUSPEND_BEFORE - timedelta(seconds=1))  # the closing prices, all but
    assert market.state(f, clock.now()).odds == (1.14, 9.5, 21.0)
    clock.set(k - SUSPEND_BEFORE)  # suspended shortly before kickoff: still scheduled
    closed = market.state(f, clock.now())
    assert (closed.status, closed.odds, closed.suspended, closed.on_sale) == \
        ("scheduled", None, True, False)
    assert closed.to_json()["suspended"] is True and closed.settle("home") == "open"

    clock.set(k)
    live = market.state(f, clock.now())
    assert (live.status, live.odds, live.score, live.on_sale) == ("live", None, None, False)
    assert LIV_NOR in listed_ids(market, clock)

    clock.advance(109 * 60)
    assert market.state(f, clock.now()).status == "live"
    clock.set(k + timedelta(minutes=110))
    done = market.state(f, clock.now())
    assert (done.status, done.odds, done.score) == ("finished", None, (4, 1))
    assert done.to_json()["score"] == {"home_goals": 4, "away_goals": 1}

    clock.set(k + timedelta(days=3) - timedelta(seconds=1))
    assert LIV_NOR in listed_ids(market, clock)
    clock.set(k + timedelta(days=3))
    assert LIV_NOR not in listed_ids(market, clock)


def test_listed_window_matches_brute_force():
    market = Market(load_folder(FOOTBALL_DATA, TABLES))
    assert len(market) > 8000
    clock = FakeClock("2019-08-01T00:00:00Z")
    for _ in range(40):  # every ~9 days through 2019-20, across every league file
        now = clock.advance(9 * 86400 + 3631)
        expected = [f.id for f in market.fixtures
                    if f.kickoff - LISTED_BEFORE <= now < f.kickoff + LISTED_AFTER]
        got = [s.fixture.id for s in market.listed(now)]
        assert got == expected
        kickoffs = [s.fixture.kickoff for s in market.listed(now)]
        assert kickoffs == sorted(kickoffs)
    assert market.listed(parse_iso("2019-08-10T12:00:00Z"))


def test_bets_settle_from_the_score(market):
    f = market.find(LIV_NOR)
    done = market.state(f, f.kickoff + timedelta(minutes=110))
    assert [done.settle(s) for s in ("home", "draw", "away")] == ["won", "lost", "lost"]
    live = market.state(f, f.kickoff)
    assert live.settle("home") == "open"
    assert market.find(match_key="2019-20_Liverpool v Norwich") is f
    assert market.find("nope", "nope") is None


def test_postponed_by_id_or_key_from_the_notice_on(market):
    f = market.find(LIV_NOR)
    for named in (LIV_NOR, f.key):
        m = Market([f], Rules(postponed=frozenset([named])))
        before = m.state(f, f.kickoff - POSTPONED_NOTICE - timedelta(seconds=1))
        assert before.on_sale  # trades normally until it is announced
        for at in (f.kickoff - POSTPONED_NOTICE, f.kickoff, f.kickoff + timedelta(days=1)):
            state = m.state(f, at)
            assert (state.status, state.odds, state.settle("home")) == ("postponed", None, "void")


def test_a_postponed_rate_picks_the_same_fixtures_for_a_seed():
    fixtures = load_folder(FOOTBALL_DATA, TABLES)[:2000]

    def picked(seed, rate=0.05):
        m = Market(fixtures, Rules(postponed_rate=rate, seed=seed))
        return {f.id for f in fixtures if m.state(f, f.kickoff).status == "postponed"}

    first = picked(7)
    assert first == picked(7) and 50 < len(first) < 150  # ~5 %, the same on every run
    assert first != picked(8) and picked(7, rate=0.0) == set()


CSV = ("Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A,AvgH,AvgD,AvgA,"
       "AvgCH,AvgCD,AvgCA\n"
       "E0,10/08/2019,15:00,A,B,1,1,D,,,,2.0,3.0,4.0,3.0,3.0,2.0\n"
       "E0,10/08/2019,15:00,C,D,0,1,A,,,,,,,,,\n")


def test_average_prices_when_no_b365_and_no_price_at_all():
    a, b = parse_text(CSV, "E0_2019-20.csv", TABLES)
    m = Market([a, b])
    mid = a.kickoff - timedelta(days=3.5)  # half way
    assert m.state(a, mid).odds == (2.5, 3.0, 3.0)
    nothing = m.state(b, mid)
    assert nothing.status == "scheduled" and nothing.odds is None and not nothing.on_sale
    assert b.id in [s.fixture.id for s in m.listed(mid)]


def test_prices_never_at_or_below_1_01():
    k = parse_text(CSV, "E0_2019-20.csv", TABLES)[0].kickoff
    q = Quote((1.01, 3.0, 9.0), (1.001, 3.0, 9.0))
    assert prices_at(q, k, k - timedelta(minutes=1))[0] == MIN_PRICE > 1.01
