"""core.state's running figures (staked, settled profit, open bets and stake, profit per UTC
day, free bankroll, the staking plans' folds) give exactly what their definitions — scans over
the session's bets — give, after every event, for every plan: on a real backtest and on random
ledgers with resets, voids and failures."""
from __future__ import annotations

from datetime import date

from hypothesis import given

from pipeline.analysis.backtest import load_matches, run
from pipeline.core.config import Config
from pipeline.core.events import from_dicts
from pipeline.core.state import Bet, Book, SessionBook, free_bankroll, replay
from pipeline.core.timefmt import parse_iso
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.ledgers import ledgers, next_stakes, PROPERTY
from tests.kit.sessions import PLANS, sessions


class ScanningSessionBook(SessionBook):
    """A session book without running figures: bets go into the lists as they are, so every
    property falls back to scanning them (their definitions)."""

    def add_bet(self, bet: Bet) -> None:
        self.bets.append(bet)

    def add_settled(self, bet: Bet) -> None:
        self.settled.append(bet)


class ScanningBook(Book):
    def session(self, session_id: str) -> SessionBook:
        if session_id not in self.sessions:
            self.sessions[session_id] = ScanningSessionBook(session_id)
        return self.sessions[session_id]


def definitions(sb: SessionBook, start: float, day: date) -> tuple:
    """Each figure computed here from the lists, independently of core.state: staked, profit
    and today's profit since the last reset; the open bets and the free bankroll over every
    period (invariant 9: a reset gives back no money and forgets no open bet)."""
    open_bets = [b for b in sb.earlier + sb.bets if b.outcome is None]
    profit = round(sum(b.profit for b in sb.settled), 2)
    lifetime = round(sum(b.profit for b in sb.settled_before + sb.settled), 2)
    open_stake = round(sum(b.stake for b in open_bets), 2)
    in_flight = sum(i.stake for i in sb.in_flight.values())
    today = round(sum(b.profit for b in sb.settled
                      if b.settled_at and parse_iso(b.settled_at).date() == day), 2)
    return (round(sum(b.stake for b in sb.bets), 2), profit, [b.seq for b in open_bets],
            len(open_bets), open_stake, today,
            round(start + lifetime - open_stake - in_flight, 2))


def figures(sb: SessionBook, start: float, day: date) -> tuple:
    return (sb.staked, sb.settled_profit, [b.seq for b in sb.open_bets], sb.open_count,
            sb.open_stake, sb.day_profit(day), free_bankroll(sb, start))


def state(bt) -> dict:
    out = {"seq": bt.book.seq}
    for sid, sb in bt.book.sessions.items():
        out[sid] = {
            "bets": [(b.decision_id, b.bet_ref, b.odds, b.stake, b.outcome, b.payout, b.profit,
                      b.placed_at, b.settled_at, b.seq) for b in sb.bets],
            "settled": [b.seq for b in sb.settled],
            "halted": sb.halted, "targets": sb.targets_reached,
            "figures": bt.figures(sid)}
    return out


def test_a_backtest_on_running_figures_equals_one_on_scans_for_every_plan():
    config = Config.model_validate({"sessions": [s for p in PLANS for s in sessions(p)]})
    matches = load_matches([FOOTBALL_DATA / "E0_2019-20.csv"], "b365").matches
    fast = run(matches, config)
    slow = run(matches, config, book=ScanningBook())
    assert all(sb.has_running_figures() and sb.bets for sb in fast.book.sessions.values())
    assert not any(sb.has_running_figures() for sb in slow.book.sessions.values())
    assert state(fast) == state(slow)
    assert fast.report() == slow.report()
    assert sum(len(sb.bets) for sb in fast.book.sessions.values()) > 3000
    assert any(sb.targets_reached for sb in fast.book.sessions.values())
    assert any(sb.halted for sb in fast.book.sessions.values())


def test_running_figures_follow_each_event_of_a_real_backtest():
    config = Config.model_validate({"sessions": sessions("percent") + sessions("martingale")})
    matches = load_matches([FOOTBALL_DATA / "E0_2018-19.csv"], "avg").matches
    events: list = []

    class Recording(Book):
        def apply(self, ev):
            events.append(ev)  # immutable: kept as applied
            super().apply(ev)

    run(matches, config, book=Recording())
    book = Book()
    for ev in events:
        book.apply(ev)
        sb = book.sessions[ev.session]
        day = parse_iso(ev.ts).date()
        assert figures(sb, 1000, day) == definitions(sb, 1000, day)
        assert sb.free_floor(1000) <= free_bankroll(sb, 1000)  # the stakes' quick check
    assert len(events) > 1000


@PROPERTY
@given(ledgers())
def test_running_figures_equal_their_definitions_on_any_ledger(lines):
    book, scanned = Book(), ScanningBook()
    for ev in from_dicts(lines):
        book.apply(ev)
        scanned.apply(ev)
        for sb in book.sessions.values():
            day = parse_iso(ev.ts).date()
            assert figures(sb, 100, day) == definitions(sb, 100, day)
            assert sb.free_floor(100) <= free_bankroll(sb, 100)
        # the plans' folds, continued from the last event vs folded whole every time
        assert next_stakes(book) == next_stakes(scanned)


def test_a_book_filled_by_hand_scans_its_lists():
    sb = SessionBook("s")
    bets = [Bet("d1", "s", "c1", "b1", "k1", "home", 2.0, 10.0, "2024-10-05T12:00:00Z", 1),
            Bet("d2", "s", "c2", "b2", "k2", "away", 3.0, 5.0, "2024-10-05T12:00:00Z", 2)]
    sb.bets += bets
    bets[0].outcome, bets[0].profit, bets[0].settled_at = "won", 10.0, "2024-10-05T14:00:00Z"
    sb.settled.append(bets[0])
    assert figures(sb, 100, date(2024, 10, 5)) == (15.0, 10.0, [2], 1, 5.0, 10.0, 105.0)
    assert replay([]).sessions == {}
