"""`RunningIndex` (strategies/running.py), changed one match at a time, answers `select`,
`next_open`, `next_close` and `stale_keys` as an `OddsIndex` built afresh from the same matches
does; its views decide as `decide` on the whole snapshot would for the matches they hold; `Sight`
sees exactly the matches some session's competitions and window hold (and, given the book, on
which such a session has no decision that does not stand)."""
from __future__ import annotations

import random
from datetime import timedelta

from pipeline.core.config import Config
from pipeline.core.state import Book
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies.engine import decide
from pipeline.strategies.running import RunningIndex, Sight
from pipeline.strategies.snapshot import OddsIndex

T0 = parse_iso("2024-10-05T12:00:00Z")
CONFIG = Config.model_validate({"sessions": [
    {"id": "all", "selection": "favourite", "staking": {"plan": "flat", "stake": 10}},
    {"id": "two", "selection": "underdog", "competitions": ["EPL", "Serie A"],
     "window": {"from_minutes": 90, "to_minutes": 10}, "staking": {"plan": "flat", "stake": 5}},
    {"id": "one", "selection": "home", "competitions": ["La Liga"],
     "window": {"from_minutes": 30, "to_minutes": 0}, "staking": {"plan": "flat", "stake": 5}},
    {"id": "ah", "market": "AH", "selection": "home", "window": {"from_minutes": 60},
     "staking": {"plan": "flat", "stake": 5}}]})


def doc(matches: dict[str, dict], now) -> dict:
    return {"fetched_at": iso(now), "matches": [{**m, "seen_at": iso(now)}
                                                for m in matches.values()]}


def test_running_index_answers_as_a_fresh_index():
    rng = random.Random(7)
    index, live = RunningIndex(), {}
    for step in range(600):
        now = T0 + timedelta(minutes=step)
        key = f"2024-25_H{rng.randrange(40)} v A"
        if rng.random() < 0.2 and key in live:
            del live[key]
            index.drop(key)
        else:
            m = {"key": key, "competition": rng.choice(("EPL", "La Liga", "Serie A")),
                 "status": "scheduled",
                 "kickoff": iso(T0 + timedelta(minutes=15 * rng.randrange(60))),
                 "odds": {"home": 2.0, "draw": 3.3, "away": round(rng.uniform(2, 5), 2)},
                 "handicap": [{"line": -0.5, "home": 1.9, "away": 1.95}], "totals": None}
            live[key] = m
            index.put(key, m["competition"], m["kickoff"], m["odds"], m["handicap"], None)
        fresh = OddsIndex(doc(live, now))
        index.seen(now)
        for s in CONFIG.sessions:
            assert ([m.key for m in index.select(s, now)]
                    == [m.key for m in fresh.select(s, now)])
            assert index.next_open(s, now) == fresh.next_open(s, now)
            assert index.next_close(s, now) == fresh.next_close(s, now)
        assert index.stale_keys(now, 60) == fresh.stale_keys(now, 60) == set()
        sight = Sight(CONFIG.sessions)
        seen = {m.key for s in CONFIG.sessions for m in fresh.select(s, now)}
        assert {k for k, m in index.by_key.items() if sight.sees(m, now)} == seen
        # a session's seat, offsets from now, is the window OddsIndex.window gives
        for s in CONFIG.sessions:
            one = Sight([s])
            (to, span, *_), = one.every or next(iter(one.by_competition.values()))
            assert (now + to, span and now + span) == OddsIndex.window(s, now)
        windowed = [s for s in CONFIG.sessions if s.window.from_minutes is not None]
        far = now + Sight(windowed).reach
        assert Sight(CONFIG.sessions).reach is None  # "all" has no from_minutes
        assert all(m.kickoff <= far for s in windowed for m in fresh.select(s, now))
        if step % 50 == 0:  # a view of the matches some session sees decides as the whole
            view = index.view([index.by_key[k] for k in seen], now, iso(now))
            whole = decide(fresh, CONFIG, Book(), now)
            assert decide(view, CONFIG, Book(), now).decisions == whole.decisions
            assert whole.decisions


def test_sight_leaves_out_what_every_seeing_session_has_a_decision_on():
    """Given the book's decisions that do not stand, a match is seen only by a session without
    one on it: after the whole snapshot's decisions are placed, sees() is False exactly for the
    matches every session that sees them has decided on."""
    rng = random.Random(7)
    now = T0
    live = {}
    for i in range(60):
        key = f"m{i}"
        live[key] = {"key": key, "competition": rng.choice(("EPL", "La Liga", "Serie A")),
                     "status": "scheduled",
                     "kickoff": iso(T0 + timedelta(minutes=5 * rng.randrange(40))),
                     "odds": {"home": 2.0, "draw": 3.3, "away": round(rng.uniform(2, 5), 2)},
                     "handicap": [{"line": -0.5, "home": 1.9, "away": 1.95}]}
    fresh = OddsIndex(doc(live, now))
    decided = {d["id"] for d in decide(fresh, CONFIG, Book(), now).decisions}
    assert decided
    sight = Sight(CONFIG.sessions)
    assert any(sight.sees(m, now) and not sight.sees(m, now, blocked=decided)
               for m in fresh.all.matches)
    for m in fresh.all.matches:
        seeing = [s for s in CONFIG.sessions if m in fresh.select(s, now)]
        open_to = [s for s in seeing if f"{s.id}|{m.key}|{s.market}" not in decided]
        assert sight.sees(m, now, blocked=decided) == bool(open_to), m.key
