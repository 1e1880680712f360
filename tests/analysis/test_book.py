"""IndexedBook (the backtest's O(1) session figures) gives exactly what the plain Book gives:
the same bets, stakes, settlements, halts and figures, bit for bit, for every staking plan."""
from __future__ import annotations

from pipeline.analysis.backtest import load_matches, run
from pipeline.analysis.book import IndexedBook, IndexedSessionBook
from pipeline.core.config import Config
from pipeline.core.state import Book
from tests.analysis.test_backtest import PLANS, sessions
from tests.helpers import FOOTBALL_DATA


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


def test_indexed_book_equals_the_plain_book_for_every_plan():
    config = Config.model_validate({"sessions": [s for p in PLANS for s in sessions(p)]})
    matches = load_matches([FOOTBALL_DATA / "E0_2019-20.csv"], "b365").matches
    fast = run(matches, config)
    plain = run(matches, config, book=Book())
    assert isinstance(fast.book, IndexedBook) and type(plain.book) is Book
    assert all(isinstance(sb, IndexedSessionBook) for sb in fast.book.sessions.values())
    assert state(fast) == state(plain)
    assert fast.report() == plain.report()
    assert sum(len(sb.bets) for sb in fast.book.sessions.values()) > 3000
    assert any(sb.targets_reached for sb in fast.book.sessions.values())


def test_indexed_figures_follow_each_event():
    """settled_profit, open_bets and open_stake after every event equal the plain scans."""
    config = Config.model_validate({"sessions": sessions("percent")})
    matches = load_matches([FOOTBALL_DATA / "E0_2018-19.csv"], "avg").matches
    events: list[dict] = []

    class Recording(Book):
        def apply(self, ev):
            events.append(dict(ev))
            super().apply(ev)

    run(matches, config, book=Recording())
    fast, plain = IndexedBook(), Book()
    for ev in events:
        fast.apply(dict(ev))
        plain.apply(dict(ev))
        sid = ev["session"]
        f, p = fast.sessions[sid], plain.sessions[sid]
        assert (f.settled_profit, f.open_stake, [b.seq for b in f.open_bets]) == \
               (p.settled_profit, p.open_stake, [b.seq for b in p.open_bets])
    assert len(events) > 1000
