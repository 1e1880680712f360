"""The bookmaker registry (pipeline.bookmakers.BOOKMAKERS): one list with the config — every mode
the config allows names a registered bookmaker, each honest about what it declares; a class
that lies is refused when it is built, naming it; and reconciliation asks the bookmaker for its
history through the declared capability, saying clearly when it has none."""
from __future__ import annotations

from typing import get_args

import pytest

from pipeline.bookmakers import (BOOKMAKERS, Capabilities, HistoryUnavailable, Order,
                                 bookmaker_class, check_bookmaker)
from pipeline.bookmakers import reconcile
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER
from pipeline.bookmakers.paper import PaperBookmaker
from pipeline.core.adapters import AdapterError
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.ledger import Ledger
from pipeline.programs.track.program import Tracker
from pipeline.core.filebus import atomic_write_json
from tests.kit.builders import KEY, T0, config, match, odds_doc
from tests.kit.programs import Quiet, paper_records

CONFIG_MODES = set(get_args(Config.model_fields["mode"].annotation))


def test_the_registry_names_every_mode_the_config_allows_and_nothing_else():
    assert set(BOOKMAKERS) == CONFIG_MODES == {"paper", "live"}
    for name in BOOKMAKERS:
        cls = bookmaker_class(name)  # imported and checked: it has what it declares
        assert cls.mode == name  # written into BET_INTENDED, compared at reconciliation
        assert isinstance(cls.capabilities, Capabilities)
    with pytest.raises(AdapterError, match="no bookmaker named 'betfair'; the registry has "
                                           "'paper', 'live'"):
        bookmaker_class("betfair")


def test_what_each_bookmaker_declares(monkeypatch):
    paper, live = bookmaker_class("paper"), bookmaker_class("live")
    assert paper.capabilities == Capabilities(concurrency=1, batched_placement=True,
                                              bet_history=True, reachability_probe=True,
                                              parsed_odds=True)
    assert live.capabilities == Capabilities(concurrency=1, bet_history=True,
                                             reachability_probe=True)
    assert paper.unusable() is None
    monkeypatch.setenv(ENV_USER, "someone")
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    assert live.unusable().startswith(f"mode 'live' needs the bookmaker's credentials in the "
                                      f"environment, and ${ENV_PASSWORD} is not set")
    monkeypatch.setenv(ENV_PASSWORD, "secret")
    assert live.unusable() is None


class NoHistory:
    """A bookmaker that keeps no bet history (and says so)."""
    mode, problem, capabilities = "nohistory", None, Capabilities()

    @classmethod
    def unusable(cls):
        return None

    @classmethod
    def open(cls, rt):
        return cls()

    def place(self, order): ...

    def lookup(self, ref): ...

    def close(self): ...


class LyingHistory(NoHistory):
    mode, capabilities = "lying", Capabilities(bet_history=True)


class NoOpen(PaperBookmaker):
    open = None


@pytest.fixture
def registered(monkeypatch):
    for name, cls in (("nohistory", "NoHistory"), ("lying", "LyingHistory"),
                      ("noopen", "NoOpen")):
        monkeypatch.setitem(BOOKMAKERS, name, f"{__name__}:{cls}")


def test_a_registered_class_lacking_what_it_declares_is_refused_at_build(registered):
    with pytest.raises(AdapterError) as refused:
        bookmaker_class("lying")
    assert str(refused.value) == ("bookmaker 'lying' (LyingHistory) declares bet_history but "
                                  "has no history() method")
    with pytest.raises(AdapterError, match=r"bookmaker 'noopen' \(NoOpen\) has no open\(\) method, "
                                           r"which every bookmaker needs"):
        bookmaker_class("noopen")
    assert check_bookmaker(NoHistory()) is not None  # declares nothing it lacks


def test_reconciliation_asks_the_bookmaker_for_its_history(home):
    atomic_write_json(home.odds, odds_doc(match()))
    paper = PaperBookmaker(home, FakeClock(T0))
    assert reconcile.history(home, config(), "paper") == []
    placed = paper.place(Order("d#1", "d", "s1", KEY, "1X2", "away", 2.1, 2.0, 10.0))
    assert placed.ok
    bets = reconcile.history(home, config(), "paper")  # through the declared capability
    assert bets == paper_records(home) and [b["client_ref"] for b in bets] == ["d#1"]
    assert reconcile.history_problem("paper") is None and reconcile.history_problem("live") is None


def test_a_bookmaker_without_bet_history_is_not_reconciled_and_says_so(home, registered):
    why = ("bookmaker 'nohistory' (NoHistory) declares no bet history (capability bet_history): "
           "its bets cannot be reconciled with the ledger")
    assert reconcile.history_problem("nohistory") == why
    with pytest.raises(reconcile.NoBetHistory) as refused:
        reconcile.history(home, config(), "nohistory")
    assert str(refused.value) == why and isinstance(refused.value, HistoryUnavailable)
    clock = FakeClock(T0)
    hourly = reconcile.Hourly(Ledger(home.ledger, clock),
                              lambda: reconcile.history(home, config(), "nohistory"),
                              "nohistory", clock, Quiet("track"))
    tracker = Tracker(home, Ledger(home.ledger, clock), clock, hourly)
    assert tracker.run_pass(None, config()) == []  # no halt, no crash
    said = [f for _lvl, ev, f in hourly.log.lines if ev == "reconcile.unavailable"]
    assert said == [{"error": why}]
