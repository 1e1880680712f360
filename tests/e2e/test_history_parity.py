"""History parity: the real programs (monitor on the replay source, decide, execute in paper
mode, track) on the step clock record an odds history; `betpipe backtest --history` on it, with
windows on, places exactly the ledger's bets — same matches, selections, odds, stakes, profit —
for the sessions of tests/kit/parity.py (flat, percent, kelly, the result-dependent plans,
AH and OU, and the sessions the risk controls refuse: the same refusals). The history files keep
their contract."""
from __future__ import annotations

import orjson
import pytest

from pipeline.analysis.histback import load_history, run_history
from pipeline.core.config import Config
from pipeline.history import store
from tests.kit.contracts import assert_contract
from tests.kit.parity import CONFIG, live_bets, live_refusals, SEASON, SESSION_IDS
from tests.kit.replay import run_replay

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(not SEASON.exists(), reason="no CSVs")
def test_backtest_on_the_recorded_history_places_the_ledgers_bets(home, tmp_path):
    run_replay(home, tmp_path, CONFIG, deadline_s=150)
    folder = store.history_dir(home.data)
    days = store.days(folder)
    assert len(days) >= 10 and all(d.closed for d in days[:-1]) and not days[-1].closed
    lines = load_history(folder)
    for line in lines:
        assert_contract("odds-history-line", line)
    bt = run_history(lines, Config.model_validate(CONFIG))
    backtest = sorted((sid, b.match_key, b.market, b.line, b.selection, b.odds, b.stake, b.profit)
                      for sid in SESSION_IDS for b, _ in bt.bets(sid))
    live = live_bets(home)
    assert live == backtest
    assert len([b for b in live if b[0] == "fav-flat"]) == 20
    # the risk controls refused in the history backtest what execute refused live
    assert live_refusals(home) == sorted((d["id"], r.control) for d, r in bt.refused)
    assert {r.control for _, r in bt.refused} == {"MatchExposure", "SessionExposure"}
    events = [orjson.loads(x) for x in home.ledger.read_bytes().splitlines()]
    reached = [e for e in events if e["type"] == "TARGET_REACHED"]
    assert len(reached) == bt.session_book("fav-ladder").targets_reached >= 1
