"""`betpipe ledger archive` keeps the state (DESIGN: operations; pipeline.core.archive):
replay(kept events + CHECKPOINT + what comes after) == replay(the whole history), property-tested
over random ledgers of three sessions — intents, retries, placements, settlements of every
outcome, refusals, halts, resets, ladder targets — stamped over several days, archived once or
twice at random moments with random dates (bets open at the cut, settled after it, resets
after it), through the real Ledger on a real file, then continued.

"The state" is everything the programs read: results.json's body (every figure, equity and
drawdown included) under five staking plans, every session's next stake under every plan, the
ladder position, limits' halt causes (two sessions with a `review`) and bet slots, the review's
figures and state line, profit per day, open bets, intents in flight, halts, resets, first bet,
free bankroll, the decisions decide makes, and the placed bets and standing of every decision
the archive did not move (what moves is over: its match is settled). The archive files plus the ledger are the whole history (`history_events`).
"""
from __future__ import annotations

import gzip
import tempfile
from datetime import date, timedelta
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline.core.archive import archive, history_events
from pipeline.core.clock import FakeClock
from pipeline.core.config import Config
from pipeline.core.events import SessionHalted, from_dicts
from pipeline.core.ledger import Ledger, read_events, read_records
from pipeline.core.state import Book, absorb_new, free_bankroll, replay
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies import ladder, rules, staking
from pipeline.strategies.engine import decide
from pipeline.strategies.settlement import results_body
from tests.kit.contracts import contract_errors
from tests.kit.ledgers import ledgers, ODDS, PAYOUT, SESSIONS, T0
from tests.kit.tiers import examples

MATCHES = tuple(f"2024-25_Home{i} v Away{i}" for i in range(10))
PLANS = [{"plan": "flat", "stake": 5}, {"plan": "percent", "percent": 3},
         {"plan": "martingale", "stake": 2, "max_steps": 3},
         {"plan": "fibonacci", "stake": 2, "max_steps": 4},
         {"plan": "ladder", "stake": 2, "target": 9}]
REVIEWS = ({"after_bets": 2, "min_roi": 0.0}, {"after_bets": 4, "min_roi": -0.3}, None)


def config_for(plan: dict) -> Config:
    limits = {"max_bets": 6, "stop_loss": 30, "daily_loss": 12, "max_open_bets": 3}
    return Config.model_validate({"max_odds_age_s": 10 ** 9, "sessions": [
        {"id": sid, "selection": sel, "staking": plan, "bankroll": 100, "limits": limits,
         **({"review": review} if review else {})}
        for sid, sel, review in zip(SESSIONS, ("favourite", "draw", "underdog"), REVIEWS)]})


CONFIGS = [config_for(p) for p in PLANS]


def histories(max_events: int = 70):
    """Event bodies (no seq) with their ts of a well-formed ledger (tests/kit/ledgers.py) on
    MATCHES, every settlement outcome; time moves 0-16 hours between events."""
    return ledgers(max_events, matches=MATCHES, gaps_min=(0, 5, 90, 600, 960),
                   outcomes=tuple(PAYOUT)).map(
        lambda events: [{k: v for k, v in ev.items() if k != "seq"} for ev in events])


def write(path: Path, events: list[dict]) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(orjson.dumps(ev) + b"\n" for ev in events))


def state(book: Book, moved: set[str]) -> dict:
    """What the programs read of a Book (see the module docstring)."""
    days = [T0.date() + timedelta(days=i) for i in range(12)]
    now = T0 + timedelta(days=11)
    results = [results_body(book, cfg) for cfg in CONFIGS]
    for r in results:  # the book's seq: the checkpoint's own when nothing followed it
        del r["ledger_seq"]
    out: dict = {"results": results,
                 "unresolved": sorted(book.unresolved)}
    out["placed"] = sorted((d, b.stake, b.outcome, b.profit, b.settled_seq)
                           for d, b in book.placed.items() if d not in moved)
    out["stands"] = [book.stands(f"{s}|{m}|1X2") for s in SESSIONS for m in MATCHES
                     if f"{s}|{m}|1X2" not in moved]
    for sid in SESSIONS:
        sb = book.sessions.get(sid)
        if sb is None:
            out[sid] = None
            continue
        out[sid] = {
            "period": (sb.reset_seq, sb.bets_placed, sb.staked, sb.settled_profit,
                       sb.first_bet_at, sb.halted, sb.halted_at, sb.targets_reached),
            "life": (sb.lifetime_profit, free_bankroll(sb, 100), sb.open_stake, sb.open_count),
            "open": [b.decision_id for b in sb.open_bets], "flying": sorted(sb.in_flight),
            "days": [sb.day_profit(d) for d in days],
            "stakes": [staking.stake_for(c.session(sid), sb, ODDS, "home") for c in CONFIGS],
            "ladder": ladder.position(CONFIGS[-1].session(sid), sb),
            "review": (rules.review_figures(sb), rules.review_state(CONFIGS[0].session(sid), sb)),
            "limits": [(rules.session_halt_cause(c.session(sid), sb, now),
                        rules.bet_slots(c.session(sid), sb)) for c in CONFIGS]}
    snap = {"version": 1, "fetched_at": iso(now), "matches": [
        {"key": m, "competition": "EPL", "status": "scheduled", "odds": ODDS, "seen_at": iso(now),
         "kickoff": iso(now + timedelta(days=3))}
        for m in MATCHES if not any(d.split("|")[1] == m for d in moved)]}
    out["decide"] = [(r.decisions, r.notes) for r in (decide(snap, c, book, now) for c in CONFIGS)]
    return out


def continue_seq(events: list[dict], after: int) -> list[dict]:
    return [{"seq": after + i, **ev} for i, ev in enumerate(events, start=1)]


@settings(max_examples=examples(150), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_replay_of_the_checkpoint_and_the_tail_is_the_replay_of_the_whole_history(bodies, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(bodies)), min_size=1, max_size=2),
                            label="archive after event"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data" / "bet-record.jsonl"
        path.parent.mkdir()
        whole: list[dict] = []  # the history without checkpoints, as the full replay sees it
        done, seq = 0, 0
        follower = Book()  # a program reading the ledger before and after each archive
        for cut in cuts:
            new = continue_seq(bodies[done:cut], seq)
            write(path, new)
            whole += new
            absorb_new(follower, read_events(path))
            seq = new[-1]["seq"] if new else seq
            done = cut
            last_ts = parse_iso(bodies[cut - 1]["ts"]) if cut else T0
            before = data.draw(st.sampled_from(
                [last_ts.date() - timedelta(days=k) for k in (-1, 0, 1, 2, 4)]), label="before")
            report = archive(Ledger(path, FakeClock(iso(last_ts))), before)
            if report["checkpoint"] is not None:
                seq = report["checkpoint"]
            absorb_new(follower, read_events(path))
        tail = continue_seq(bodies[done:], seq)
        write(path, tail)
        whole += tail
        ledger = read_records(path)
        events = from_dicts(ledger)
        absorb_new(follower, events)

        def placed(events):
            return {ev["decision_id"] for ev in events if ev["type"] == "BET_PLACED"}
        moved = placed(whole) - placed(ledger)  # bets the archives hold: settled, over
        full = state(replay(from_dicts(whole)), moved)
        assert state(replay(events), moved) == full
        assert replay(events).seq == max([ev["seq"] for ev in ledger], default=0)
        # a program that follows the ledger event by event gets there too
        live = Book()
        for i in range(len(events)):
            absorb_new(live, events[:i + 1])
        assert state(live, moved) == full
        assert state(follower, moved) == full
        # nothing lost, nothing twice: the archives and the ledger are the whole history
        assert history_events(path) == whole
        seqs = [ev["seq"] for ev in ledger]
        assert seqs == sorted(set(seqs))  # strictly increasing; the checkpoint's seq is new
        assert not {ev["seq"] for ev in ledger if ev["type"] == "CHECKPOINT"} & {
            ev["seq"] for ev in whole}
        for ev in ledger:
            assert not contract_errors("bet-record-event", ev), ev["type"]


def test_what_moves_and_what_stays(tmp_path):
    """A hand-made ledger: a bet settled before the date moves with its intent; an open bet,
    a bet settled after the date and a session event after it stay; the halt before it moves;
    the archive is gzipped JSON lines; a second run finds nothing more to move."""
    path = tmp_path / "bet-record.jsonl"
    day1, day3 = "2024-10-01T10:00:00Z", "2024-10-03T10:00:00Z"
    bodies = [
        {"ts": day1, "type": "BET_INTENDED", "session": "a", "decision_id": "a|M1|1X2",
         "client_ref": "a|M1|1X2#1", "attempt": 1, "match_key": "M1", "selection": "home",
         "odds": 2.0, "stake": 10.0, "mode": "paper"},
        {"ts": day1, "type": "BET_PLACED", "session": "a", "decision_id": "a|M1|1X2",
         "client_ref": "a|M1|1X2#1", "bet_ref": "B1", "odds": 2.0, "stake": 10.0},
        {"ts": day1, "type": "BET_INTENDED", "session": "a", "decision_id": "a|M2|1X2",
         "client_ref": "a|M2|1X2#1", "attempt": 1, "match_key": "M2", "selection": "home",
         "odds": 3.0, "stake": 5.0, "mode": "paper"},
        {"ts": day1, "type": "BET_PLACED", "session": "a", "decision_id": "a|M2|1X2",
         "client_ref": "a|M2|1X2#1", "bet_ref": "B2", "odds": 3.0, "stake": 5.0},
        {"ts": day1, "type": "BET_SETTLED", "session": "a", "decision_id": "a|M1|1X2",
         "bet_ref": "B1", "outcome": "won", "payout": 20.0, "profit": 10.0},
        {"ts": day1, "type": "SESSION_HALTED", "session": "a", "reason": "max_bets"},
        {"ts": day3, "type": "BET_SETTLED", "session": "a", "decision_id": "a|M2|1X2",
         "bet_ref": "B2", "outcome": "lost", "payout": 0.0, "profit": -5.0},
        {"ts": day3, "type": "SESSION_RESET", "session": "a"},
    ]
    write(path, continue_seq(bodies, 0))
    report = archive(Ledger(path, FakeClock(day3)), date(2024, 10, 2))
    assert report["archived"] == 4 and report["kept"] == 4 and report["checkpoint"] == 9
    ledger = read_records(path)
    assert [ev["seq"] for ev in ledger] == [3, 4, 7, 8, 9]
    cp = ledger[-1]
    assert cp["type"] == "CHECKPOINT" and cp["archive"] == "archive/bet-record-2024-10-02.jsonl.gz"
    assert cp["sessions"]["a"]["life"]["profit"] == 10.0
    assert cp["sessions"]["a"]["period"]["halted"] == ["max_bets", day1]
    moved = gzip.decompress((tmp_path / cp["archive"]).read_bytes()).splitlines()
    assert [orjson.loads(line)["seq"] for line in moved] == [1, 2, 5, 6]
    book = replay(from_dicts(ledger))
    assert book.sessions["a"].lifetime_profit == 5.0  # +10 archived, -5 kept
    assert book.sessions["a"].halted is None  # the kept reset came after the archived halt
    again = archive(Ledger(path, FakeClock(day3)), date(2024, 10, 2))
    assert again["checkpoint"] is None and read_records(path) == ledger


def test_writers_appending_while_the_archive_runs_lose_nothing_and_reuse_no_seq(tmp_path):
    """Three threads append through their own Ledger (as programs do) while archives run again
    and again: every appended event is in the history exactly once, with the seq it was given,
    and no checkpoint took a seq of an event."""
    import threading

    path = tmp_path / "data" / "bet-record.jsonl"
    path.parent.mkdir()
    clock = FakeClock("2024-10-01T10:00:00Z")
    written: list[dict] = []
    lock = threading.Lock()

    archived_once = threading.Event()  # half the appends wait for an archive: one runs amid them

    def writer(n: int) -> None:
        ledger = Ledger(path, clock)
        for i in range(150):
            if i == 75:
                archived_once.wait(120)
            ev = ledger.append(SessionHalted(session=f"w{n}", reason=f"r{i}"))
            with lock:
                written.extend(ev)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    checkpoints = []
    while any(t.is_alive() for t in threads):
        report = archive(Ledger(path, clock), date(2024, 10, 2))
        if report["checkpoint"] is not None:
            checkpoints.append(report["checkpoint"])
            archived_once.set()
    for t in threads:
        t.join()
    checkpoints.append(archive(Ledger(path, clock), date(2024, 10, 2))["checkpoint"])
    assert len([c for c in checkpoints if c]) >= 2
    assert history_events(path) == [ev.to_dict() for ev in sorted(written, key=lambda e: e.seq)]
    assert not {c for c in checkpoints if c} & {ev.seq for ev in written}
    assert [ev.kind for ev in read_events(path)] == ["CHECKPOINT"]
    last = replay(read_events(path)).sessions
    assert {sid: sb.halted for sid, sb in last.items()} == {f"w{n}": "r149" for n in range(3)}
