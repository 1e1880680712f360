"""Money never appears or vanishes (DESIGN invariant 9; issue 15 defects 2 and 3).

A reset with bets open and in flight, then their settlement; a session renamed away from the
config. Real ledger lines (the project's Ledger), the real tracker writing results.json, the real
`betpipe sessions` and `betpipe reset`, the dashboard's state and the executor's controls — every
figure checked against one summed here from the raw ledger lines. And a property: on any ledger
with resets, results.json's figures are the raw sums.
"""
from __future__ import annotations

import warnings

import orjson
import pytest
from hypothesis import given

from pipeline.core.clock import anchor, load_clock
from pipeline.core.config import Config
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.state import free_bankroll, replay
from pipeline.core.timefmt import parse_iso
from pipeline.programs.dashboard.app import create_app
from pipeline.programs.dashboard.state import gather
from pipeline.strategies import rules
from pipeline.strategies.controls import (DailyLoss, FreeBankroll, MatchExposure, MaxOpenBets,
                                          SessionExposure, context)
from pipeline.programs.track.program import Tracker
from pipeline.strategies.settlement import results_body
from tests.kit.builders import replay_lines, config_doc, decision, ledger_events, match, odds_doc
from tests.kit.contracts import assert_contract
from tests.kit.ledgers import ledgers, PROPERTY
from tests.kit.programs import betpipe

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = parse_iso("2024-10-05T15:00:00Z")
KEYS = [f"2024-25_Home{i} v Away{i}" for i in range(6)]


# --------------------------------------------------------------------------- raw sums

def raw(events: list[dict], session: str | None = None) -> dict:
    """Figures summed straight from ledger lines (of one session, or all)."""
    evs = [e for e in events if session is None or e.get("session") == session]
    placed = {e["bet_ref"]: e for e in evs if e["type"] == "BET_PLACED"}
    settled = [e for e in evs if e["type"] == "BET_SETTLED"]
    done = {e["bet_ref"] for e in settled}
    resolved = {e["client_ref"] for e in evs if e["type"] in ("BET_PLACED", "BET_FAILED")}
    flying = [e for e in evs if e["type"] == "BET_INTENDED" and e["client_ref"] not in resolved]
    open_bets = [p for ref, p in placed.items() if ref not in done]
    reset = max([e["seq"] for e in evs if e["type"] == "SESSION_RESET"], default=0)
    out = {"bets": len(placed), "profit": round(sum(e["profit"] for e in settled), 2),
           "open": len(open_bets), "open_stake": round(sum(p["stake"] for p in open_bets), 2),
           "flying": len(flying), "flying_stake": round(sum(i["stake"] for i in flying), 2),
           "reset_seq": reset,
           "bets_since": sum(1 for p in placed.values() if p["seq"] > reset),
           "profit_since": round(sum(e["profit"] for e in settled if e["seq"] > reset), 2)}
    out["exposure"] = round(out["open_stake"] + out["flying_stake"], 2)
    return out


# --------------------------------------------------------------------------- a real home

def sessions_cli(home: Home) -> dict:
    doc = orjson.loads(betpipe(home, "sessions", "--json", check=True).stdout)
    return {s["session"]: s for s in doc["sessions"]}


def intend(ledger: Ledger, key: str, session: str = "s1", stake: float = 10.0) -> str:
    did, ref = f"{session}|{key}|1X2", f"{session}|{key}|1X2#1"
    ledger.append({"type": "BET_INTENDED", "session": session, "decision_id": did,
                   "client_ref": ref, "attempt": 1, "match_key": key, "selection": "away",
                   "odds": 2.0, "stake": stake, "mode": "paper"})
    return ref


def place(ledger: Ledger, key: str, session: str = "s1", stake: float = 10.0,
          intended: bool = False) -> None:
    ref = f"{session}|{key}|1X2#1" if intended else intend(ledger, key, session, stake)
    ledger.append({"type": "BET_PLACED", "session": session, "decision_id": ref[:-2],
                   "client_ref": ref, "bet_ref": f"P-{session}-{key[-1]}", "odds": 2.0,
                   "stake": stake, "match_key": key, "selection": "away"})


def home_wins(*keys: str) -> dict:  # every bet here backs the away side: these lose
    return odds_doc(*[match(k, status="finished", odds=None,
                            result={"home_goals": 1, "away_goals": 0}) for k in keys])


@pytest.fixture
def setup(home: Home):
    anchor(home.clock, start=NOW, speed=1, mode="step")  # one simulated moment for everyone
    clock = load_clock(home.clock)
    atomic_write_json(home.odds, odds_doc(*[match(k) for k in KEYS]))
    return home, clock, Ledger(home.ledger, clock)


def write_config(home: Home, doc: dict) -> Config:
    atomic_write_json(home.system_config, doc)
    return Config.model_validate(doc)


def dashboard(home: Home) -> TestClient:
    """The real dashboard app on this home (its own clock: the home's step clock)."""
    return TestClient(create_app(home, load_clock(home.clock)), base_url="http://127.0.0.1")


class Controls:
    """What the executor's controls see of this home (strategies.controls.context)."""

    def __init__(self, home: Home, config: Config):
        self.config, self.book = config, replay_lines(ledger_events(home))
        self.odds = read_snapshot(home.odds)

    def check(self, control, d: dict) -> str | None:
        return control.check(d, context(d, now=NOW, config=self.config, book=self.book,
                                        matches={m["key"]: m for m in self.odds["matches"]},
                                        fetched_at=self.odds["fetched_at"]))


def controls_ctx(home: Home, config: Config) -> Controls:
    return Controls(home, config)


# --------------------------------------------------------------------------- defect 2

def test_bets_open_and_in_flight_at_a_reset_keep_their_money_and_settle_into_the_new_period(setup):
    home, clock, ledger = setup
    cfg = write_config(home, config_doc(limits={"stop_loss": 15}))
    tracker = Tracker(home, ledger, clock)
    for k in KEYS[:4]:
        place(ledger, k)
    assert [e.kind for e in tracker.run_pass(home_wins(KEYS[0]), cfg)] == ["BET_SETTLED"]
    intend(ledger, KEYS[4])  # in flight at the reset
    betpipe(home, "reset", "s1", check=True)
    place(ledger, KEYS[4], intended=True)  # the bookmaker took it after the reset
    place(ledger, KEYS[5])

    r = raw(ledger_events(home))
    assert (r["open"], r["exposure"], r["profit"], r["bets_since"]) == (5, 50.0, -10.0, 2)
    free = round(1000 + r["profit"] - r["exposure"], 2)
    row = sessions_cli(home)["s1"]
    assert (row["open_bets"], row["in_flight"], row["free_bankroll"], row["bankroll"],
            row["profit"], row["bets"]) == (r["open"], 0, free, 1000 + r["profit"], r["profit"],
                                             r["bets"])
    assert row["since_reset"] == {"reset_seq": r["reset_seq"], "bets": 2, "profit": 0.0}
    dash = {s["id"]: s for s in gather(home)["sessions"]}["s1"]
    assert (dash["open"], dash["bankroll"], dash["free_bankroll"]) == (r["open"],
                                                                      1000 + r["profit"], free)

    # the executor's controls count the bets open from before the reset
    limits = {"max_open_bets": r["open"], "max_exposure_session": r["exposure"] + 10,
              "max_exposure_match": 15}
    ctx = controls_ctx(home, Config.model_validate(config_doc(limits=limits,
                                                              sessions=["s1", "s2"])))
    d = decision(KEYS[1], session="s2", stake=5)  # on a match s1 holds from before the reset
    assert ctx.check(MaxOpenBets(), decision(KEYS[0])) is not None
    assert ctx.check(SessionExposure(), decision(KEYS[0], stake=10)) is None
    assert ctx.check(SessionExposure(), decision(KEYS[0], stake=10.01)) is not None
    assert ctx.check(MatchExposure(), d) is None
    assert ctx.check(MatchExposure(), {**d, "stake": 5.01}) is not None
    assert ctx.check(FreeBankroll(), decision(KEYS[0], stake=free)) is None
    assert ctx.check(FreeBankroll(), decision(KEYS[0], stake=free + 0.01)) is not None
    ctx = controls_ctx(home, Config.model_validate(config_doc(limits={"max_open_bets": 6})))
    assert ctx.check(MaxOpenBets(), decision(KEYS[0])) is None

    # two bets placed before the reset lose after it: their -20 is the new period's
    out = tracker.run_pass(home_wins(KEYS[1], KEYS[2]), cfg)
    assert [e.kind for e in out] == ["BET_SETTLED", "BET_SETTLED", "SESSION_HALTED"]
    assert out[-1].reason == "stop_loss"
    events = ledger_events(home)
    r = raw(events)
    assert (r["profit"], r["profit_since"], r["open"]) == (-30.0, -20.0, 3)
    free = round(1000 + r["profit"] - r["exposure"], 2)

    doc = read_snapshot(home.results)
    assert_contract("results", doc)
    s1, total = doc["sessions"]["s1"], doc["total"]
    assert (total["profit"], total["bets"], total["open_bets"]) == (r["profit"], r["bets"],
                                                                    r["open"])
    assert (s1["profit"], s1["bets"], s1["open_bets"], s1["bankroll"], s1["free_bankroll"]) == (
        r["profit"], r["bets"], r["open"], 1000 + r["profit"], free)
    assert s1["since_reset"] == {"reset_seq": r["reset_seq"], "bets": r["bets_since"],
                                 "profit": r["profit_since"]}
    row = sessions_cli(home)["s1"]
    assert (row["profit"], row["open_bets"], row["free_bankroll"], row["halted"]) == (
        r["profit"], r["open"], free, "stop_loss")
    assert row["since_reset"]["profit"] == r["profit_since"]
    state = gather(home)
    dash = {s["id"]: s for s in state["sessions"]}["s1"]
    assert (dash["profit"], dash["open"], state["total"]["profit"]) == (r["profit"], r["open"],
                                                                       r["profit"])
    assert f"{r['profit_since']:+,.2f} since reset" in dashboard(home).get("/live").text

    # daily_loss sees the same -20: the control refuses, the halt rule names it
    daily = Config.model_validate(config_doc(limits={"daily_loss": 15}))
    ctx = controls_ctx(home, daily)
    assert ctx.check(DailyLoss(), decision(KEYS[0])) is not None
    cause = rules.session_halt_cause(daily.session("s1"), ctx.book.sessions["s1"], NOW)
    assert cause == f"daily_loss: settled profit today {r['profit_since']:.2f} <= -15"


# --------------------------------------------------------------------------- defect 3

def test_a_session_renamed_away_keeps_its_figures_and_brings_no_bankroll(setup):
    home, clock, ledger = setup
    doc = config_doc(sessions=["old", "b"])
    doc["sessions"][1]["bankroll"] = 500
    cfg = write_config(home, doc)
    tracker = Tracker(home, ledger, clock)
    for k in KEYS[:3]:
        place(ledger, k, session="old")
    place(ledger, KEYS[3], session="b", stake=5)
    tracker.run_pass(home_wins(KEYS[0], KEYS[3]), cfg)
    assert read_snapshot(home.results)["total"]["bankroll"] == round(1500 + raw(
        ledger_events(home))["profit"], 2)

    doc["sessions"][0]["id"] = "new"  # renamed: a new session with the old one's 1000
    cfg = write_config(home, doc)
    tracker.run_pass(home_wins(KEYS[1]), cfg)
    events = ledger_events(home)
    r, old = raw(events), raw(events, "old")
    assert (old["bets"], old["profit"], old["open"]) == (3, -20.0, 1)

    results = read_snapshot(home.results)
    assert_contract("results", results)
    total = results["total"]
    assert (total["bankroll"], total["profit"], total["bets"]) == (
        round(1500 + r["profit"], 2), r["profit"], r["bets"])
    assert total["free_bankroll"] == round(1500 + r["profit"] - r["exposure"], 2)
    o = results["sessions"]["old"]
    assert (o["bets"], o["staked"], o["profit"], o["open_bets"]) == (
        old["bets"], 30.0, old["profit"], old["open"])
    assert sum(f["bankroll"] for f in results["sessions"].values()) == total["bankroll"]
    assert results["sessions"]["new"]["bankroll"] == 1000
    state = dashboard(home).get("/api/state").json()
    assert state["total"]["bankroll"] == round(1500 + r["profit"], 2)
    dash = {s["id"]: s for s in state["sessions"]}["old"]
    assert (dash["in_config"], dash["bets"], dash["profit"], dash["bankroll"]) == (
        False, old["bets"], old["profit"], None)
    row = sessions_cli(home)["old"]
    assert (row["bets"], row["staked"], row["profit"], row["open_bets"], row["bankroll"]) == (
        old["bets"], 30.0, old["profit"], old["open"], None)


# --------------------------------------------------------------------------- any ledger

CONFIG = Config.model_validate({"sessions": [  # "c" of the generated ledgers is not in it
    {"id": "a", "selection": "home", "bankroll": 100, "staking": {"plan": "flat", "stake": 1}},
    {"id": "b", "selection": "away", "bankroll": 250, "staking": {"plan": "flat", "stake": 1}}]})


@PROPERTY
@given(ledgers())
def test_results_json_is_the_raw_sums_of_any_ledger_with_resets(events):
    book = replay_lines(events)
    body = results_body(book, CONFIG)
    everything = raw(events)
    total = body["total"]
    assert (total["profit"], total["bets"], total["open_bets"]) == (
        everything["profit"], everything["bets"], everything["open"])
    assert total["bankroll"] == round(350 + everything["profit"], 2)
    assert total["free_bankroll"] == round(350 + everything["profit"] - everything["exposure"], 2)
    for sid in ("a", "b", "c"):
        r = raw(events, sid)
        f = body["sessions"].get(sid)
        if f is None:
            assert r["bets"] == r["flying"] == 0 and sid not in ("a", "b")
            continue
        start = CONFIG.session(sid).bankroll if CONFIG.session(sid) else 0
        assert (f["profit"], f["bets"], f["open_bets"], f["in_flight"]) == (
            r["profit"], r["bets"], r["open"], r["flying"])
        assert f["free_bankroll"] == round(start + r["profit"] - r["exposure"], 2)
        assert f["since_reset"]["bets"] == r["bets_since"]
        assert f["since_reset"]["profit"] == r["profit_since"]
        sb = book.sessions.get(sid)
        if sb is not None:  # what the limits and the controls read
            assert sb.settled_profit == r["profit_since"]
            assert sb.open_count == r["open"] and sb.open_stake == r["open_stake"]
            assert free_bankroll(sb, start) == f["free_bankroll"]
            days = {parse_iso(e["ts"]).date() for e in events if e["type"] == "BET_SETTLED"}
            for day in days:
                assert sb.day_profit(day) == round(sum(
                    e["profit"] for e in events if e["type"] == "BET_SETTLED"
                    and e["session"] == sid and e["seq"] > r["reset_seq"]
                    and parse_iso(e["ts"]).date() == day), 2)
    assert round(sum(f["profit"] for f in body["sessions"].values()), 2) == total["profit"]
