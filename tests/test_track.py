"""The tracker: settlement math, halts written once with their cause, results.json, the program."""
from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.archive import history_events
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.state import Bet, SessionBook, replay
from pipeline.core.timefmt import iso, parse_iso
from pipeline.programs.track.program import Tracker
from pipeline.strategies.settlement import figures, max_drawdown, settle
from tests.kit.builders import (replay_lines, at, config, config_doc, KEY, KICKOFF, ledger_events, match,
                                odds_doc, of_type, place, T0)
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll
from tests.kit.programs import betpipe, health, log_lines, start_program, stop_program


def bet(selection="away", odds=2.1, stake=10.0, key=KEY) -> Bet:
    return Bet(f"s1|{key}|1X2", "s1", f"s1|{key}|1X2#1", "P-1", key, selection, odds, stake, T0, 2)


def home_win(key: str) -> dict:
    return match(key, status="finished", odds=None, result={"home_goals": 1, "away_goals": 0})


def finished(home_goals, away_goals, status="finished"):
    return match(status=status, odds=None, result={"home_goals": home_goals, "away_goals": away_goals})


@pytest.mark.parametrize("selection, score, outcome, payout, profit", [
    ("away", (0, 2), "won", 21.0, 11.0),
    ("away", (1, 1), "lost", 0.0, -10.0),
    ("draw", (1, 1), "won", 21.0, 11.0),
    ("home", (3, 0), "won", 21.0, 11.0),
    ("home", (0, 1), "lost", 0.0, -10.0),
])
def test_settle_won_and_lost(selection, score, outcome, payout, profit):
    s = settle(bet(selection), finished(*score))
    assert (s.outcome, s.payout, s.profit) == (outcome, payout, profit)
    assert s.kind == "BET_SETTLED" and s.bet_ref == "P-1"


def test_settle_rounds_to_cents():
    s = settle(bet(odds=1.333, stake=7.0), finished(0, 1))
    assert (s.payout, s.profit) == (9.33, 2.33)


@pytest.mark.parametrize("status", ["postponed", "void"])
def test_settle_void_returns_the_stake(status):
    s = settle(bet(), match(status=status, odds=None))
    assert (s.outcome, s.payout, s.profit) == ("void", 10.0, 0.0)


def test_a_void_stake_off_the_cent_comes_back_rounded_with_a_profit_of_plus_zero():
    s = settle(bet(stake=10.004), match(status="void", odds=None))
    assert (s.payout, repr(s.profit)) == (10.0, "0.0")  # not -0.0 (10.0 - 10.004 rounded)


@pytest.mark.parametrize("m", [match(), match(status="live", odds=None),
                               match(status="finished", odds=None, result=None), None])
def test_settle_waits_while_the_match_is_undecided(m):
    assert settle(bet(), m) is None


def test_max_drawdown_peak_starts_at_zero():
    assert max_drawdown([-5, -5]) == 10
    assert max_drawdown([11, -10, -10, 5]) == 20
    assert max_drawdown([1, 2, 3]) == 0
    assert max_drawdown([]) == 0


# --------------------------------------------------------------------------- with a ledger

KEYS = [f"2024-25_Home{i} v Away{i}" for i in range(5)]


@pytest.fixture
def clock():
    return FakeClock(at(3 * 3600))


@pytest.fixture
def ledger(home, clock):
    return Ledger(home.ledger, clock)


def settle_pass(tracker, odds, cfg, clock, *, advance=60):
    clock.advance(advance)  # settlements at distinct times
    return tracker.run_pass(odds, cfg)


def test_figures_on_a_scripted_sequence(home, clock, ledger):
    # won 10 @ 2.1 (+11), lost 10 (-10), lost 10 (-10), won 5 @ 2.0 (+5), void 10, one open bet
    plan = [(2.1, 10, (0, 1)), (2.0, 10, (1, 0)), (2.0, 10, (2, 2)), (2.0, 5, (0, 3)),
            (2.0, 10, "postponed")]
    for key, (odds, stake, _) in zip(KEYS, plan):
        place(ledger, key, odds=odds, stake=stake)
    place(ledger, "2024-25_Open v Bet", stake=20)
    tracker = Tracker(home, ledger, clock)
    cfg = config(bankroll=500)
    for key, (_, _, how) in zip(KEYS, plan):  # results arrive one at a time, in this order
        m = match(key, status=how, odds=None) if how == "postponed" else \
            match(key, status="finished", odds=None, result={"home_goals": how[0], "away_goals": how[1]})
        settle_pass(tracker, odds_doc(m), cfg, clock)
    doc = read_snapshot(home.results)
    assert_contract("results", doc)
    fig = doc["sessions"]["s1"]
    assert fig["profit"] == -4.0 and fig["bankroll"] == 496.0
    assert fig["staked"] == 55.0  # 10 + 10 + 10 + 5 + the open 20; the void stake came back
    assert fig["roi"] == pytest.approx(-4.0 / 55.0, abs=1e-6)
    assert fig["hit_rate"] == 0.5  # 2 won of 4 settled non-void
    assert fig["max_drawdown"] == 20.0  # peak +11, trough -9
    assert (fig["bets"], fig["open_bets"], fig["cycle"], fig["halted"]) == (6, 1, 1, None)
    assert [p for _, p in fig["equity"]] == [11.0, 1.0, -9.0, -4.0, -4.0]
    assert [t for t, _ in fig["equity"]] == sorted(t for t, _ in fig["equity"])
    assert doc["total"]["profit"] == -4.0 and doc["total"]["bankroll"] == 496.0
    assert doc["ledger_seq"] == ledger_events(home)[-1]["seq"]


def test_figures_with_nothing_settled_are_zero():
    fig = figures(SessionBook("s1"), 1000)
    assert (fig["roi"], fig["hit_rate"], fig["max_drawdown"], fig["equity"]) == (0.0, 0.0, 0.0, [])


def test_settlements_of_a_pass_and_their_halt_share_one_append_and_the_halt_is_written_once(
        home, clock, ledger):
    for key in KEYS[:3]:
        place(ledger, key)
    cfg = config(limits={"stop_loss": 20})
    tracker = Tracker(home, ledger, clock)
    lost = [home_win(k) for k in KEYS[:2]]
    out = tracker.run_pass(odds_doc(*lost), cfg)
    assert [e.kind for e in out] == ["BET_SETTLED", "BET_SETTLED", "SESSION_HALTED"]
    assert out[2].reason == "stop_loss" and len({e.ts for e in out}) == 1
    assert [e.seq for e in out] == list(range(out[0].seq, out[0].seq + 3))
    for ev in out:
        assert_contract("bet-record-event", ev.to_dict())
    for _ in range(3):  # the same odds again, a fresh tracker: nothing more
        assert tracker.run_pass(odds_doc(*lost), cfg) == []
        assert Tracker(home, ledger, clock).run_pass(odds_doc(*lost), cfg) == []
    assert read_snapshot(home.results)["sessions"]["s1"]["halted"] == "stop_loss"


def test_take_profit_halts_with_the_settlement_that_reaches_it(home, clock, ledger):
    place(ledger, KEYS[0], odds=3.0)
    place(ledger, KEYS[1], odds=3.0)
    cfg = config(limits={"take_profit": 40})
    tracker = Tracker(home, ledger, clock)
    won = lambda k: match(k, status="finished", odds=None, result={"home_goals": 0, "away_goals": 1})  # noqa: E731
    assert [e.kind for e in tracker.run_pass(odds_doc(won(KEYS[0])), cfg)] == ["BET_SETTLED"]  # +20
    out = tracker.run_pass(odds_doc(won(KEYS[0]), won(KEYS[1])), cfg)  # +40: at the edge
    assert [(e.kind, getattr(e, "reason", None)) for e in out] == [("BET_SETTLED", None),
                                                         ("SESSION_HALTED", "take_profit")]


def test_max_bets_and_max_duration_halt_without_a_settlement(home, clock, ledger):
    place(ledger, KEYS[0])
    tracker = Tracker(home, ledger, clock)
    assert tracker.run_pass(odds_doc(match(KEYS[0])), config(limits={"max_bets": 2})) == []
    place(ledger, KEYS[1])
    out = tracker.run_pass(odds_doc(match(KEYS[0])), config(limits={"max_bets": 2}))
    assert [e.reason for e in out] == ["max_bets"]
    assert tracker.run_pass(odds_doc(match(KEYS[0])), config(limits={"max_bets": 2})) == []

    ledger.append({"type": "SESSION_RESET", "session": "s1"})
    first = clock.now()
    place(ledger, KEYS[2])
    cfg = config(limits={"max_duration_h": 1})
    clock.set(first + timedelta(hours=1, seconds=-1))
    assert tracker.run_pass(odds_doc(match(KEYS[2])), cfg) == []  # one second before the hour
    clock.advance(1)
    assert [e.reason for e in tracker.run_pass(odds_doc(match(KEYS[2])), cfg)] == ["max_duration_h"]


def test_the_recheck_under_the_lock_stops_a_second_settlement(home, clock, ledger):
    place(ledger, KEYS[0])
    odds = odds_doc(match(KEYS[0], status="finished", odds=None,
                          result={"home_goals": 0, "away_goals": 1}))
    first = Tracker(home, ledger, clock)

    class Racing(Ledger):
        """The other tracker settles between this one's read and its locked append."""

        def read(self):
            events = super().read()
            first.run_pass(odds, config())
            return events

    second = Tracker(home, Racing(home.ledger, clock), clock)
    assert second.run_pass(odds, config()) == []
    assert len(of_type(ledger_events(home), "BET_SETTLED")) == 1
    assert replay_lines(ledger_events(home)).placed[f"s1|{KEYS[0]}|1X2"].outcome == "won"


# --------------------------------------------------------------------------- the real program

def test_the_track_program_settles_a_finished_match_exactly_once(home, tmp_path):
    clockmod.anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, config_doc())
    place(Ledger(home.ledger, FakeClock(T0)), KEY, odds=2.5, stake=10)
    atomic_write_json(home.odds, odds_doc(match(), version=1))
    log = tmp_path / "track.log"
    proc = start_program("track", home, log)
    try:
        poll(lambda: (read_snapshot(home.results) or {}).get("sessions", {}).get("s1", {})
             .get("open_bets") == 1, 20, "results.json with the open bet", proc, log)
        assert of_type(ledger_events(home), "BET_SETTLED") == []
        for v in range(2, 6):  # the result, written again and again
            atomic_write_json(home.odds, odds_doc(finished(0, 1), version=v))
        poll(lambda: health(home, "track").get("odds_version") == 5, 20, "odds version 5", proc, log)
        poll(lambda: (read_snapshot(home.results) or {}).get("sessions", {}).get("s1", {})
             .get("open_bets") == 0, 20, "results.json after settlement", proc, log)
        assert proc.poll() is None
    finally:
        assert stop_program(proc) == 0
    settled = of_type(ledger_events(home), "BET_SETTLED")
    assert len(settled) == 1
    assert (settled[0]["outcome"], settled[0]["payout"], settled[0]["profit"]) == ("won", 25.0, 15.0)
    assert_contract("bet-record-event", settled[0])
    doc = read_snapshot(home.results)
    assert_contract("results", doc)
    assert doc["sessions"]["s1"]["profit"] == 15.0 and doc["sessions"]["s1"]["roi"] == 1.5
    assert_contract("health", health(home, "track"))


def test_a_daily_loss_halt_is_written_with_the_settlement_and_holds_for_that_utc_day(
        home, clock, ledger):
    for key in KEYS[:3]:
        place(ledger, key)
    cfg = config(limits={"daily_loss": 20})
    tracker = Tracker(home, ledger, clock)
    lost = home_win  # every bet backs the away side
    assert [e.kind for e in tracker.run_pass(odds_doc(lost(KEYS[0])), cfg)] == ["BET_SETTLED"]
    out = tracker.run_pass(odds_doc(lost(KEYS[0]), lost(KEYS[1])), cfg)  # -20 today: the edge
    assert [(e.kind, getattr(e, "reason", None)) for e in out] == [("BET_SETTLED", None),
                                                         ("SESSION_HALTED", "daily_loss")]
    assert tracker.run_pass(odds_doc(lost(KEYS[0]), lost(KEYS[1])), cfg) == []  # written once
    clock.set("2024-10-06T00:00:01Z")  # the next UTC day: the halt no longer stands
    out = tracker.run_pass(odds_doc(*[lost(k) for k in KEYS[:3]]), cfg)
    assert [e.kind for e in out] == ["BET_SETTLED"]  # -10 on the new day: no halt


# --------------------------------------------------------------------------- overdue bets

def test_an_open_bet_without_a_result_turns_overdue_once_and_stays_open(home, clock, ledger):
    """DESIGN operations: overdue `settle_overdue_h` after kickoff; reported once; never guessed."""
    clock.set(T0)  # placed at 12:00; the listed match kicks off at 14:00
    place(ledger, KEYS[0])
    place(ledger, KEYS[1])  # its match has left odds-data: it counts from its placement
    listed, gone = (replay_lines(ledger_events(home)).placed[f"s1|{k}|1X2"].bet_ref for k in KEYS[:2])
    kickoff = parse_iso(KICKOFF)
    odds = odds_doc(match(KEYS[0], status="live", odds=None))
    cfg = config(settle_overdue_h=12)
    tracker = Tracker(home, ledger, clock)
    clock.set(parse_iso(T0) + timedelta(hours=12, seconds=-1))
    assert tracker.run_pass(odds, cfg) == [] and tracker.overdue == []
    clock.advance(1)  # 12 h after the placement of the bet whose match is gone
    tracker.run_pass(odds, cfg)
    assert [o["bet_ref"] for o in tracker.newly_overdue] == [gone]
    assert tracker.overdue[0]["kickoff"] is None
    assert tracker.overdue[0]["overdue_since"] == iso(parse_iso(T0) + timedelta(hours=12))
    clock.set(kickoff + timedelta(hours=12, seconds=-1))
    tracker.run_pass(odds, cfg)
    assert tracker.newly_overdue == [] and [o["bet_ref"] for o in tracker.overdue] == [gone]
    clock.set(kickoff + timedelta(hours=12))
    tracker.run_pass(odds, cfg)
    assert [o["bet_ref"] for o in tracker.newly_overdue] == [listed]  # once: not `gone` again
    assert [(o["bet_ref"], o["kickoff"], o["match_status"]) for o in tracker.overdue] == \
        [(listed, KICKOFF, "live"), (gone, None, None)]
    for _ in range(3):  # later passes: still overdue, reported no more
        clock.advance(3600)
        assert tracker.run_pass(odds, cfg) == [] and tracker.newly_overdue == []
        assert len(tracker.overdue) == 2
    assert of_type(ledger_events(home), "BET_SETTLED") == []  # never guessed
    # the result comes after all: track settles it (source track); the other stays overdue
    won = odds_doc(match(KEYS[0], status="finished", odds=None,
                         result={"home_goals": 0, "away_goals": 1}))
    (settled,) = tracker.run_pass(won, cfg)
    assert (settled.bet_ref, settled.outcome, settled.source) == (listed, "won", "track")
    assert [o["bet_ref"] for o in tracker.overdue] == [gone]


def test_settle_overdue_h_is_a_config_key_with_default_12():
    assert config().settle_overdue_h == 12
    assert config(settle_overdue_h=2.5).settle_overdue_h == 2.5
    with pytest.raises(ValueError):
        config(settle_overdue_h=0)


def test_the_track_program_reports_an_overdue_bet_once_in_log_and_health(home, tmp_path):
    # the clock starts a day after kickoff; the match is still listed, live, without a result
    clockmod.anchor(home.clock, start=parse_iso(KICKOFF) + timedelta(days=1), speed=1)
    atomic_write_json(home.system_config, config_doc())
    place(Ledger(home.ledger, FakeClock(T0)), KEY)
    atomic_write_json(home.odds, odds_doc(match(status="live", odds=None), version=1))
    log = tmp_path / "track.log"
    proc = start_program("track", home, log)
    try:
        doc = poll(lambda: health(home, "track").get("overdue") and health(home, "track"), 20,
                   "track's health listing the overdue bet", proc, log)
        assert [(o["bet_ref"], o["kickoff"]) for o in doc["overdue"]] == [("P-1", KICKOFF)]
        for v in range(2, 5):  # more passes
            atomic_write_json(home.odds, odds_doc(match(status="live", odds=None), version=v))
        poll(lambda: health(home, "track").get("odds_version") == 4, 20, "odds version 4", proc, log)
        assert proc.poll() is None
    finally:
        assert stop_program(proc) == 0
    said = [line for line in log_lines(log) if line.get("event") == "bet.overdue"]
    assert [(line["bet_ref"], line["level"]) for line in said] == [("P-1", "warning")]
    assert "betpipe settle P-1" in said[0]["hint"]
    assert of_type(ledger_events(home), "BET_SETTLED") == []
    assert_contract("health", health(home, "track"))


def test_a_review_halt_is_written_with_the_settlement_that_brings_its_bets_in(home, clock, ledger):
    # review after 3 settled non-void bets, min_roi -0.3: lost, void, won at 2.0, lost
    for key in KEYS[:4]:
        place(ledger, key, odds=2.0)
    doc = config_doc()
    doc["sessions"][0]["review"] = {"after_bets": 3, "min_roi": -0.3}
    cfg = Config.model_validate(doc)
    tracker = Tracker(home, ledger, clock)
    away = lambda k: match(k, status="finished", odds=None, result={"home_goals": 0, "away_goals": 1})  # noqa: E731
    assert [e.kind for e in settle_pass(tracker, odds_doc(home_win(KEYS[0])), cfg, clock)] == [
        "BET_SETTLED"]  # 1 bet, roi -1: not due yet
    void = match(KEYS[1], status="postponed", odds=None)
    assert [e.kind for e in settle_pass(tracker, odds_doc(void), cfg, clock)] == [
        "BET_SETTLED"]  # void: not counted
    assert [e.kind for e in settle_pass(tracker, odds_doc(away(KEYS[2])), cfg, clock)] == [
        "BET_SETTLED"]  # 2 bets, -10 + 10 = 0
    out = settle_pass(tracker, odds_doc(home_win(KEYS[3])), cfg, clock)
    # 3 settled non-void bets: profit -10, staked 30, roi -0.333 < -0.3
    assert [(e.kind, getattr(e, "reason", None)) for e in out] == [("BET_SETTLED", None),
                                                         ("SESSION_HALTED", "review")]
    assert "3 settled bets" in out[1].detail
    assert_contract("bet-record-event", out[1].to_dict())
    assert read_snapshot(home.results)["sessions"]["s1"]["halted"] == "review"


def test_the_track_program_follows_the_ledger_through_an_archive_without_counting_twice(
        home, tmp_path):
    """A running `betpipe track` settles bet A; `betpipe ledger archive` moves A (settled before
    the date) into data/archive/ behind a CHECKPOINT and keeps the open bet B; track notices the
    new ledger, keeps A's money in results.json, settles B once and never A again (its result
    is still in odds-data)."""
    key_a, key_b = "2024-25_Southampton v Arsenal", "2024-25_Everton v Chelsea"
    clockmod.anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, config_doc(bankroll=500))
    before = Ledger(home.ledger, FakeClock(T0))
    place(before, key_a, odds=2.5, stake=10)  # seq 1, 2
    place(before, key_b, odds=3.0, stake=4)  # seq 3, 4
    a_won = match(key_a, status="finished", odds=None, result={"home_goals": 0, "away_goals": 1})
    atomic_write_json(home.odds, odds_doc(a_won, match(key_b), version=1))
    log = tmp_path / "track.log"
    proc = start_program("track", home, log)

    def s1(field):
        return (read_snapshot(home.results) or {}).get("sessions", {}).get("s1", {}).get(field)
    try:
        poll(lambda: s1("open_bets") == 1 and s1("profit") == 15.0, 20, "A settled", proc, log)
        out = betpipe(home, "ledger", "archive", "--before", "2024-10-06", "--json")
        assert out.returncode == 0, out.stderr
        report = orjson.loads(out.stdout)
        assert (report["archived"], report["kept"], report["checkpoint"]) == (3, 2, 6)
        assert [e["seq"] for e in ledger_events(home)] == [3, 4, 6]
        # track re-read the new ledger: results.json at the checkpoint's seq, the money kept
        poll(lambda: (read_snapshot(home.results) or {}).get("ledger_seq") == 6, 20,
             "results.json after the archive", proc, log)
        assert (s1("profit"), s1("bets"), s1("open_bets")) == (15.0, 2, 1)
        b_lost = match(key_b, status="finished", odds=None, result={"home_goals": 2, "away_goals": 0})
        atomic_write_json(home.odds, odds_doc(a_won, b_lost, version=2))
        poll(lambda: s1("open_bets") == 0, 20, "B settled", proc, log)
        assert proc.poll() is None
    finally:
        assert stop_program(proc) == 0
    # A: 10 @ 2.5 won -> +15; B: 4 @ 3.0 lost -> -4; worked out here from the bets above
    assert [(e["seq"], e["type"]) for e in ledger_events(home)][-1] == (7, "BET_SETTLED")
    settled = of_type(history_events(home.ledger), "BET_SETTLED")
    assert sorted((e["decision_id"], e["profit"]) for e in settled) == [
        (f"s1|{key_b}|1X2", -4.0), (f"s1|{key_a}|1X2", 15.0)]
    doc = read_snapshot(home.results)
    assert_contract("results", doc)
    fig = doc["sessions"]["s1"]
    assert (fig["profit"], fig["bankroll"], fig["staked"], fig["bets"]) == (11.0, 511.0, 14.0, 2)
    assert [p for _, p in fig["equity"]] == [15.0, 11.0] and fig["max_drawdown"] == 4.0
    assert doc["total"]["profit"] == 11.0
