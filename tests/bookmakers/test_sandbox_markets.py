"""Asian handicap and over/under placed through the sandbox's bet slip in real Chromium against
the real sandbox app: the slip carries market and line, the bets land in /api/bets with them, a
pool moves the price, a stale line is refused `line_changed` (retryable, as paper's), and
reconciliation matches market and line."""
from __future__ import annotations

import pytest

from pipeline.bookmakers import Order
from pipeline.bookmakers.account import sandbox_history
from pipeline.bookmakers.reconcile import compare
from pipeline.bookmakers.sandbox import SandboxBookmaker
from pipeline.browser.launch import profile_processes
from pipeline.core.clock import FakeClock
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home
from pipeline.history.football_data import parse_file
from pipeline.programs.bookmaker.market import Market
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.bookmaker import ACCOUNT, LiveServer

BEFORE = "2019-08-06T13:00:00Z"  # Newcastle v Arsenal's AH line is still AHh 0.75
AFTER = "2019-08-09T18:30:00Z"   # ... and AHCh 0.25 from kickoff - 3.5 days
NEW_ARS = "2019-20_Newcastle v Arsenal"
WHU_MCI = "2019-20_West Ham v Manchester City"  # AHh = AHCh 1.75, B365AHH 2 -> 1.95


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    market = Market(parse_file(FOOTBALL_DATA / "E0_2019-20.csv", load_tables()))
    home = Home(tmp_path_factory.mktemp("sandbox") / "home").ensure()
    clock = FakeClock(BEFORE)
    server = LiveServer(market, home, clock)
    with server as http:
        bm = SandboxBookmaker(server.url, ACCOUNT, home.profile_dir("execute"), timeout_s=15)
        try:
            bm.start()
            yield server, http, clock, bm
        finally:
            bm.close()
        assert profile_processes(home.profile_dir("execute")) == []


def order(ref: str, key: str, market: str, selection: str, line: float | None,
          stake: float = 10.0, min_odds: float = 1.01) -> Order:
    return Order(ref, ref.split("#")[0], "s1", key, market, selection, 1.9, min_odds, stake,
                 line=line)


def api_bet(http, ref: str) -> dict | None:
    bets = http.get("/api/bets", params={"client_ref": ref}).json()["bets"]
    return bets[0] if bets else None


def ledger_of(orders_and_placements) -> list[dict]:
    """The ledger events execute writes for these placements (intent, then placed)."""
    events = []
    for o, p in orders_and_placements:
        pick = {"market": o.market, "selection": o.selection,
                **({} if o.line is None else {"line": o.line})}
        events += [{"type": "BET_INTENDED", "client_ref": o.client_ref, "mode": "live",
                    "decision_id": o.decision_id, **pick},
                   {"type": "BET_PLACED", "client_ref": o.client_ref, "bet_ref": p.bet_ref,
                    "decision_id": o.decision_id, **pick}]
    return events


def test_ah_and_ou_bets_through_the_slip_land_with_market_and_line_and_reconcile(sandbox):
    server, http, clock, bm = sandbox
    clock.set(AFTER)
    orders = [order("ah#1", WHU_MCI, "AH", "home", 1.75),
              order("ou#1", WHU_MCI, "OU", "under", 2.5),
              order("x#1", WHU_MCI, "1X2", "draw", None),  # the kept slip switches back
              order("ah2#1", NEW_ARS, "AH", "away", 0.25)]
    done = []
    for o in orders:
        p = bm.place(o)
        assert p.ok, (o, p)
        bet = api_bet(http, o.client_ref)
        assert (bet["market"], bet["selection"], bet["line"], bet["odds"], bet["bet_ref"]) == \
            (o.market, o.selection, o.line, p.odds, p.bet_ref)
        done.append((o, p))
    # the AH home 1.75 price is on West Ham v Man City's path (B365AHH 2 -> B365CAHH 1.95 from
    # kickoff - 7 days to kickoff 2019-08-10T11:30Z, 17 h after AFTER); a stake of 10 gets at
    # most that price, a cent or two less for its own slippage
    path = round(2 + (1.95 - 2) * (1 - 17 / (7 * 24)), 2)
    assert path - 0.02 <= done[0][1].odds <= path
    report = compare(sandbox_history(server.url), ledger_of(done), ledger_of(done), "live")
    assert report.ok and report.matched == 4
    wrong_line = ledger_of([(order("ah#1", WHU_MCI, "AH", "home", 1.5), done[0][1])])
    report = compare(sandbox_history(server.url), wrong_line + ledger_of(done[1:]),
                     wrong_line + ledger_of(done[1:]), "live")
    assert [u["client_ref"] for u in report.unknown] == ["ah#1"]
    assert "AH line 1.75" in report.unknown[0]["why"] and "AH line 1.5" in report.unknown[0]["why"]


def test_money_on_a_side_and_line_moves_its_price(sandbox):
    _server, http, clock, bm = sandbox
    clock.set(AFTER)
    first = bm.place(order("pool#1", NEW_ARS, "OU", "over", 2.5, stake=800))
    second = bm.place(order("pool2#1", NEW_ARS, "OU", "over", 2.5, stake=800))
    other = bm.place(order("pool3#1", NEW_ARS, "OU", "under", 2.5, stake=1))
    assert first.ok and second.ok and other.ok
    assert second.odds < first.odds
    [m] = [m for m in http.get("/api/matches").json()["matches"] if m["key"] == NEW_ARS]
    assert m["totals"][0]["over"] < first.odds  # the page's price fell with the money
    assert other.odds <= m["totals"][0]["under"]


def test_a_stale_line_is_refused_line_changed_and_retryable(sandbox):
    _server, http, clock, bm = sandbox
    clock.set(BEFORE)
    ok = bm.place(order("old#1", NEW_ARS, "AH", "home", 0.75))
    assert ok.ok and api_bet(http, "old#1")["line"] == 0.75
    clock.set(AFTER)  # the line moved to 0.25
    stale = bm.place(order("stale#1", NEW_ARS, "AH", "home", 0.75))
    assert (stale.status, stale.reason, stale.retryable) == ("not_placed", "line_changed", True)
    assert api_bet(http, "stale#1") is None
    fresh = bm.place(order("stale#2", NEW_ARS, "AH", "home", 0.25))
    assert fresh.ok and api_bet(http, "stale#2")["line"] == 0.25
