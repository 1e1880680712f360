"""The indexed snapshot agrees with the plain rules it speeds up: a session's matches (window
edges inclusive, competitions), staleness, and when time alone changes the outcome."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from pipeline.core.config import Config, Session
from pipeline.core.state import Book
from pipeline.core.timefmt import iso
from pipeline.strategies import rules
from pipeline.strategies.engine import decide
from pipeline.strategies.snapshot import OddsIndex
from tests.kit.tiers import examples

T0 = datetime(2024, 10, 5, 12, 0, tzinfo=timezone.utc)
COMPS = ("EPL", "ED1", "EFA")


def snapshot(matches) -> dict:
    return {"version": 1, "fetched_at": iso(T0), "matches": [
        {"key": f"2024-25_H{i} v A{i}", "competition": comp, "status": status,
         "kickoff": iso(T0 + timedelta(minutes=ko)), "seen_at": iso(T0 - timedelta(seconds=age)),
         "odds": {"home": 2.0, "draw": 3.0, "away": 4.0} if priced else None}
        for i, (comp, ko, age, status, priced) in enumerate(matches)]}


match_st = st.tuples(st.sampled_from(COMPS), st.integers(-120, 3000), st.integers(0, 600),
                     st.sampled_from(["scheduled", "scheduled", "live", "finished"]),
                     st.booleans() | st.just(True))
window_st = st.tuples(st.none() | st.integers(0, 2000), st.integers(0, 200)).map(
    lambda w: {"from_minutes": None if w[0] is None else max(w), "to_minutes": w[1]})
session_st = st.builds(lambda comps, window: Session.model_validate(
    {"id": "s", "selection": "home", "staking": {"plan": "flat", "stake": 1},
     "competitions": comps, "window": window}),
    st.none() | st.lists(st.sampled_from(COMPS), min_size=1, max_size=3), window_st)


def brute(doc: dict, session: Session, now: datetime) -> list[str]:
    ms = [m for m in doc["matches"] if m["status"] == "scheduled" and m["odds"]
          and rules.competition_ok(session, m["competition"])
          and rules.in_window(session.window, datetime.fromisoformat(m["kickoff"][:-1] + "+00:00"),
                              now)]
    return [m["key"] for m in sorted(ms, key=lambda m: (m["kickoff"], m["key"]))]


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(match_st, max_size=30), session_st, st.integers(0, 3000))
def test_select_is_the_window_and_competition_rules(matches, session, offset_s):
    doc = snapshot(matches)
    now = T0 + timedelta(seconds=offset_s)
    index = OddsIndex(doc)
    assert [m.key for m in index.select(session, now)] == brute(doc, session, now)


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(match_st, max_size=20), session_st, st.integers(0, 1200), st.integers(1, 400),
       st.lists(st.floats(0, 1, exclude_max=True), max_size=12))
def test_nothing_changes_before_next_change(matches, session, offset_s, age, fractions):
    """Deciding at any instant between now and next_change (and one microsecond before it)
    gives now's outcome; at next_change something may change."""
    doc = snapshot(matches)
    cfg = Config.model_validate({"max_odds_age_s": age,
                                 "sessions": [session.model_dump(mode="json")]})
    now = T0 + timedelta(seconds=offset_s)
    index, book = OddsIndex(doc), Book()

    def picture(t):
        out = decide(index, cfg, book, t)
        return [d["id"] for d in out.decisions], out.notes

    here = picture(now)
    end = decide(index, cfg, book, now).next_change or now + timedelta(days=3)
    span = end - timedelta(microseconds=1) - now
    for t in [now + span * f for f in fractions] + [now + span]:
        assert picture(t) == here, f"changed at {iso(t)}, before next_change {iso(end)}"


def test_stale_keys_and_the_moment_odds_turn_stale():
    doc = snapshot([("EPL", 60, 30, "scheduled", True), ("EPL", 60, 90, "scheduled", True),
                    ("EPL", 60, 91, "scheduled", True)])
    index = OddsIndex(doc)
    assert index.stale_keys(T0, 90) == {"2024-25_H2 v A2"}  # 91 s old; 90 s is not older
    assert index.next_stale(T0, 90) == T0  # the 90-s-old odds: stale just after now
    assert index.stale_keys(T0, 100) == set()
    assert index.next_stale(T0, 100) == T0 + timedelta(seconds=9)


def test_next_open_is_when_a_window_first_reaches_a_match():
    doc = snapshot([("EPL", 100, 0, "scheduled", True), ("ED1", 30, 0, "scheduled", True)])
    index = OddsIndex(doc)
    epl = Session.model_validate({"id": "s", "selection": "home", "competitions": ["EPL"],
                                  "staking": {"plan": "flat", "stake": 1},
                                  "window": {"from_minutes": 60, "to_minutes": 10}})
    assert index.next_open(epl, T0) == T0 + timedelta(minutes=40)
    assert [m.key for m in index.select(epl, T0 + timedelta(minutes=40))] == ["2024-25_H0 v A0"]
    assert index.next_close(epl, T0 + timedelta(minutes=40)) == T0 + timedelta(minutes=90)
    assert index.next_open(epl, T0 + timedelta(minutes=40)) is None
