"""Each staking plan over a scripted run of wins and losses, through the real parts: the engine
decides, the bet is placed in a real ledger, the real Tracker settles it (and writes
TARGET_REACHED / SESSION_HALTED in the same append), and the next decision's stake is read back.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.filebus import read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.state import replay
from pipeline.core.timefmt import iso
from pipeline.strategies import ladder
from pipeline.strategies.engine import decide
from pipeline.programs.track.program import Tracker
from tests.kit.contracts import assert_contract

T0 = "2024-10-05T12:00:00Z"


class Run:
    """One session betting on one match after another; each bet settles before the next."""

    def __init__(self, tmp, session: dict, max_odds_age_s: float = 3600):
        self.clock = FakeClock(T0)
        self.home = Home(tmp / "home").ensure()
        self.ledger = Ledger(self.home.ledger, self.clock)
        doc = {"max_odds_age_s": max_odds_age_s,
               "sessions": [{"id": "s", "selection": "away", **session}]}
        self.config = Config.model_validate(doc)
        self.tracker = Tracker(self.home, self.ledger, self.clock)
        self.n = 0

    def match(self, i: int, odds=(3.0, 3.4, 2.0), **over) -> dict:
        now = self.clock.now()
        m = {"key": f"2024-25_Home{i} v Away{i}", "season": "2024-25", "competition": "EPL",
             "home": f"Home{i}", "away": f"Away{i}", "kickoff": iso(now + timedelta(minutes=5)),
             "status": "scheduled",
             "odds": dict(zip(("home", "draw", "away"), odds)) if odds else None,
             "seen_at": iso(now), "result": None}
        return {**m, **over}

    def snapshot(self, *matches) -> dict:
        now = iso(self.clock.now())
        doc = {"version": self.n + 1, "written_at": now, "source": "sandbox", "fetched_at": now,
               "matches": list(matches)}
        assert_contract("odds-data", doc)
        return doc

    def decide(self, *matches):
        return decide(self.snapshot(*matches), self.config, replay(self.ledger.read()),
                      self.clock.now())

    def place(self, d: dict) -> None:
        ref = d["id"] + "#1"
        self.ledger.append({"type": "BET_INTENDED", "session": "s", "decision_id": d["id"],
                            "client_ref": ref, "attempt": 1, "match_key": d["match_key"],
                            "selection": d["selection"], "odds": d["odds"], "stake": d["stake"],
                            "mode": "paper"})
        self.ledger.append({"type": "BET_PLACED", "session": "s", "decision_id": d["id"],
                            "client_ref": ref, "bet_ref": f"P-{self.n}", "odds": d["odds"],
                            "stake": d["stake"]})

    def settle(self, i: int, outcome: str) -> list[dict]:
        """The match of bet i ends so that the away bet is won, lost or void."""
        self.clock.advance(2 * 3600)
        if outcome == "void":
            m = self.match(i, status="postponed", odds=None)
        else:
            m = self.match(i, status="finished", odds=None,
                           result={"home_goals": 0 if outcome == "won" else 1, "away_goals":
                                   1 if outcome == "won" else 0})
        return self.tracker.run_pass(self.snapshot(m), self.config)

    def bet(self, outcome: str, odds=(3.0, 3.4, 2.0)) -> tuple[float | None, list[dict]]:
        """Decide on a fresh match, place the decision, settle it: (stake, appended events)."""
        self.n += 1
        out = self.decide(self.match(self.n, odds))
        if not out.decisions:
            return None, out.notes.get("s", [])
        d = out.decisions[0]
        self.place(d)
        if outcome == "open":
            return d["stake"], []
        return d["stake"], self.settle(self.n, outcome)

    def next_stake(self, odds=(3.0, 3.4, 2.0)):
        out = self.decide(self.match(self.n + 1, odds))
        return out.decisions[0]["stake"] if out.decisions else None

    def sb(self):
        return replay(self.ledger.read()).session("s")


def stakes(run: Run, outcomes, odds=(3.0, 3.4, 2.0)) -> list[float]:
    out = [run.bet(o, odds)[0] for o in outcomes]
    return out + [run.next_stake(odds)]


@pytest.mark.parametrize("plan, outcomes, expected", [
    ({"plan": "flat", "stake": 10}, "WLV", [10, 10, 10, 10]),
    # 10 % of the current bankroll (100 + settled profit); odds 2.0
    ({"plan": "percent", "percent": 10}, "WLWV", [10, 11, 9.9, 10.89, 10.89]),
    # martingale: losses stake 1, 2, 4, then 1 again after max_steps 3; a win resets; void: no step
    ({"plan": "martingale", "stake": 1, "factor": 2, "max_steps": 3}, "LLLLVWL",
     [1, 2, 4, 1, 2, 2, 1, 2]),
    # fibonacci: a loss moves i up one, a win down two (never below 1); past max_steps 5 back to 1
    ({"plan": "fibonacci", "stake": 1, "max_steps": 5}, "LLLWLVWLLLLL",
     [1, 1, 2, 3, 1, 2, 2, 1, 1, 2, 3, 5, 1]),
])
def test_staking_sequences(tmp_path, plan, outcomes, expected):
    run = Run(tmp_path, {"staking": plan, "bankroll": 100})
    word = {"W": "won", "L": "lost", "V": "void"}
    assert stakes(run, [word[c] for c in outcomes]) == expected


def test_kelly_sequence_follows_the_bankroll(tmp_path):
    # backing away at 2.0 of 4.0/4.0/2.0: margin-free p = 0.5, x (1 + edge 0.1) = 0.55,
    # f = (0.55 x 2 - 1) / 1 = 0.1; half Kelly = 5 % of the current bankroll
    run = Run(tmp_path, {"staking": {"plan": "kelly", "fraction": 0.5, "edge": 0.1},
                         "bankroll": 1000})
    assert stakes(run, ["won", "lost", "won"], (4.0, 4.0, 2.0)) == [50, 52.5, 49.87, 52.36]


def test_kelly_without_an_edge_makes_no_bet_and_says_why(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "kelly", "fraction": 0.5}})
    out = run.decide(run.match(1, (4.0, 4.0, 2.0)))
    assert out.decisions == [] and out.notes["s"][0].startswith("kelly stake <= 0")


def test_a_result_dependent_plan_waits_for_the_settlement(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "martingale", "stake": 1}})
    assert run.bet("open")[0] == 1
    out = run.decide(run.match(7))
    assert out.decisions == []
    assert out.notes["s"] == ["limit reached: martingale holds one bet at a time (1 open, 0 in "
                              "flight)"]
    run.settle(1, "lost")
    assert run.next_stake() == 2


def test_ladder_cycles_and_target_reached(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "ladder", "stake": 1, "target": 8}})
    s = run.config.sessions[0]
    seen = []
    for outcome in ["won", "won", "won", "won", "lost", "won"]:
        stake, appended = run.bet(outcome)
        pos = ladder.position(s, run.sb())
        seen.append((stake, [e.kind for e in appended], pos.cycle, pos.bet))
    assert seen == [
        (1, ["BET_SETTLED"], 1, 1),
        (2, ["BET_SETTLED"], 1, 2),  # the whole return (1 x 2.0) rides
        (4, ["BET_SETTLED", "TARGET_REACHED"], 2, 0),  # return 8 >= target 8: the cycle ends
        (1, ["BET_SETTLED"], 2, 1),  # a new cycle starts with `stake`
        (2, ["BET_SETTLED"], 3, 0),  # a loss ends the cycle too
        (1, ["BET_SETTLED"], 3, 1),
    ]
    events = run.ledger.records()  # the lines as written
    for ev in events:
        assert_contract("bet-record-event", ev)
    target = next(e for e in events if e["type"] == "TARGET_REACHED")
    settled = next(e for e in events if e["seq"] == target["seq"] - 1)
    assert settled["type"] == "BET_SETTLED" and settled["ts"] == target["ts"]  # one append
    assert (target["session"], target["decision_id"], target["cycle"], target["return"]) == (
        "s", settled["decision_id"], 1, 8.0)
    results = read_snapshot(run.home.results)
    assert_contract("results", results)
    assert results["sessions"]["s"]["cycle"] == 3
    assert run.next_stake() == 2  # cycle 3, bet 2: the return of the last win rides


def test_a_void_bet_changes_no_ladder_step_and_a_reset_starts_cycle_one(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "ladder", "stake": 1, "target": 100}})
    assert [run.bet(o)[0] for o in ["won", "void", "lost"]] == [1, 2, 2]
    assert ladder.position(run.config.sessions[0], run.sb()) == ladder.Position(2, 0)
    run.ledger.append({"type": "SESSION_RESET", "session": "s"})
    assert ladder.position(run.config.sessions[0], run.sb()) == ladder.Position(1, 0)
    assert run.next_stake() == 1


def test_two_ladder_cycles_ending_in_one_append_count_on(tmp_path):
    """Settlements of one tracker pass: the second TARGET_REACHED names the next cycle."""
    run = Run(tmp_path, {"staking": {"plan": "flat", "stake": 4}})
    for i in (1, 2):  # two bets open at once (placed while the session was flat)
        run.n = i
        run.place(run.decide(run.match(i)).decisions[0])
    run.config = Config.model_validate({"max_odds_age_s": 3600, "sessions": [
        {"id": "s", "selection": "away", "staking": {"plan": "ladder", "stake": 4,
                                                     "target": 8}}]})
    run.clock.advance(7200)
    done = [run.match(i, status="finished", odds=None,
                      result={"home_goals": 0, "away_goals": 1}) for i in (1, 2)]
    out = run.tracker.run_pass(run.snapshot(*done), run.config)
    assert [(e.kind, getattr(e, "cycle", None)) for e in out] == [
        ("BET_SETTLED", None), ("TARGET_REACHED", 1), ("BET_SETTLED", None),
        ("TARGET_REACHED", 2)]
    assert ladder.position(run.config.sessions[0], run.sb()).cycle == 3


# --------------------------------------------------------------------------- halts, end to end

@pytest.mark.parametrize("limits, outcomes, reason", [
    ({"stop_loss": 20}, ["lost", "lost"], "stop_loss"),
    ({"take_profit": 20}, ["won", "won"], "take_profit"),
    ({"max_bets": 2}, ["won", "lost"], "max_bets"),
])
def test_the_tracker_halts_and_the_engine_stops(tmp_path, limits, outcomes, reason):
    run = Run(tmp_path, {"staking": {"plan": "flat", "stake": 10}, "limits": limits})
    for o in outcomes:
        assert run.bet(o)[0] == 10
    halts = [e for e in run.ledger.records() if e["type"] == "SESSION_HALTED"]
    assert [e["reason"] for e in halts] == [reason]
    out = run.decide(run.match(50))
    assert out.decisions == [] and out.notes["s"] == [f"halted: {reason}"]
    run.ledger.append({"type": "SESSION_RESET", "session": "s"})
    assert run.next_stake() == 10  # counts start again after the reset


def test_max_duration_halts_after_the_first_bet(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "flat", "stake": 10},
                         "limits": {"max_duration_h": 3}})
    run.bet("won")  # placed at T0, settled at T0 + 2 h
    assert run.next_stake() == 10
    run.clock.advance(3600)  # T0 + 3 h: the duration is over
    out = run.decide(run.match(60))
    assert out.decisions == [] and out.notes["s"][0].startswith("halting: max_duration_h")
    assert [e.reason for e in run.tracker.run_pass(run.snapshot(), run.config)] == [
        "max_duration_h"]


def test_daily_loss_stops_betting_for_the_rest_of_the_utc_day(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "flat", "stake": 10},
                         "limits": {"daily_loss": 20}})
    run.bet("lost")
    run.bet("lost")  # settled 16:00 UTC: -20 today
    out = run.decide(run.match(70))
    assert out.decisions == []
    # halted by the tracker's SESSION_HALTED, or halting by the cause itself: until midnight
    assert out.notes["s"][0] in ("halted: daily_loss",
                                 "halting: daily_loss: settled profit today -20.00 <= -20")
    assert out.next_change is not None and iso(out.next_change) == "2024-10-06T00:00:00Z"
    run.clock.set("2024-10-06T00:00:00Z")
    assert run.next_stake() == 10


def test_a_bankroll_that_cannot_cover_the_next_stake_says_so(tmp_path):
    run = Run(tmp_path, {"staking": {"plan": "martingale", "stake": 10, "factor": 2},
                         "bankroll": 50})
    assert [run.bet(o)[0] for o in ["lost", "lost"]] == [10, 20]  # bankroll now 20, next 40
    out = run.decide(run.match(80))
    assert out.decisions == []
    assert out.notes["s"] == ["stake 40.00 exceeds free bankroll 20.00 = bankroll 50.00 + "
                              "settled profit -30.00 - open and in-flight stakes 0.00"]
