"""Parity: the real programs (monitor on the replay source, decide, execute in paper mode,
track) stepping through real EPL fixtures on the step clock place and settle exactly the bets
`betpipe backtest` computes: same matches, selections, odds, stakes and profit, for flat, percent
and kelly sessions and for the result-dependent plans (martingale, fibonacci, ladder with its
TARGET_REACHED), which bet one at a time, and for an Asian handicap and an over/under 2.5
session (the replay's AH/OU entry at kickoff - 1 min is the closing columns' AHCh, B365CAHH/A and
B365C>2.5/<2.5: a line that moved changed half-way through the week, and the prices round to
the closing ones like 1X2's); and the risk controls both run (strategies.controls)
refuse the same decisions for max_exposure_match and max_exposure_session.

Why these settings make live and backtest comparable (README: backtest, parity):
- the sessions' window is the last minute before kickoff, so the live bets are made at kickoff
  - 1 min, where the replay's price (moving linearly from B365 to B365C over the week on sale)
  rounds to the closing column: the backtest runs with `--odds b365-closing`;
- results come out at kickoff + 110 min in both; no result of these two weekends comes out in
  the minute between a live decision and its kickoff, so the percent stakes see the same
  bankroll;
- paper fills at the price on sale, and the price does not move within a step;
- a match's exposure is the bets of the sessions before in config order (decide's order, live
  and backtest), and a session's decisions at simultaneous kickoffs come in key order in both;
- at simultaneous kickoffs a one-at-a-time plan takes the first match in file-then-row order in
  the backtest and the smallest match key live: in these weekends the file lists every group of
  simultaneous kickoffs in key order, so both take the same match.
"""
from __future__ import annotations

import orjson
import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.core.config import Config
from pipeline.core.timefmt import parse_iso
from tests.kit.parity import CONFIG, live_bets, live_refusals, SEASON, SESSION_IDS, UNTIL
from tests.kit.replay import run_replay

pytestmark = pytest.mark.e2e


def backtest_bets() -> tuple[list[tuple], int, list[tuple]]:
    """The backtest's bets, how many ladder cycles reached their target, its refusals."""
    until = parse_iso(UNTIL)
    matches = [m for m in load_matches([SEASON], "b365-closing",
                                       markets=("1X2", "AH", "OU")).matches
               if m.kickoff < until]
    by_kickoff: dict = {}
    for m in sorted(matches, key=lambda m: m.order):
        by_kickoff.setdefault(m.kickoff, []).append(m.fixture.key)
    assert all(keys == sorted(keys) for keys in by_kickoff.values())  # the premise (see above)
    bt = run(matches, Config.model_validate(CONFIG))
    bets = sorted((sid, b.match_key, b.market, b.line, b.selection, b.odds, b.stake, b.profit)
                  for sid in SESSION_IDS for b, _ in bt.bets(sid))
    refused = sorted((d["id"], r.control) for d, r in bt.refused)
    return bets, bt.session_book("fav-ladder").targets_reached, refused


@pytest.mark.skipif(not SEASON.exists(), reason="no CSVs")
def test_the_ledgers_bets_equal_the_backtests(home, tmp_path):
    run_replay(home, tmp_path, CONFIG, deadline_s=150)
    live, (backtest, targets, refused) = live_bets(home), backtest_bets()
    assert live == backtest
    assert live_refusals(home) == refused
    assert {b[0] for b in live} == set(SESSION_IDS)
    bets = {sid: [b for b in live if b[0] == sid] for sid in SESSION_IDS}
    assert len(bets["fav-flat"]) == 20  # every match of the two weekends
    assert len(bets["ah-dog"]) == len(bets["ou-over-percent"]) == 20
    assert {b[3] for b in bets["ou-over-percent"]} == {2.5}
    assert len({b[3] for b in bets["ah-dog"]}) > 3  # several home lines
    assert len({b[6] for b in bets["ou-over-percent"]}) > 3  # the stakes followed the bankroll
    assert {b[7] for b in bets["ah-dog"]} - {-10.0, 0.0, -5.0}  # some won or half-won
    for sid in ("dog-percent", "fav-kelly"):
        assert len({b[6] for b in bets[sid]}) > 3, sid  # the stakes followed the bankroll
    for sid in ("dog-martingale", "dog-fibonacci", "fav-ladder"):
        assert len({b[6] for b in bets[sid]}) > 2, sid  # the stakes followed the results ...
        assert len(bets[sid]) < 20, sid  # ... and each bet waited for the last one's result
    # the exposure limits refused some bets and let others through, live as in the backtest
    for sid, control in (("fav-match-cap", "MatchExposure"), ("dog-session-cap",
                                                             "SessionExposure")):
        assert bets[sid] and len(bets[sid]) < 20, sid
        assert any(r == (r[0], control) and r[0].startswith(sid + "|") for r in refused), sid
    # the ladder's cycles ended where the backtest's did: TARGET_REACHED written by track
    events = [orjson.loads(line) for line in home.ledger.read_bytes().splitlines()]
    reached = [e for e in events if e["type"] == "TARGET_REACHED"]
    assert len(reached) == targets >= 1
