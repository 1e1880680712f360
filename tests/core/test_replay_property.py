"""Property tests of ledger replay (DESIGN invariant 2: replaying the ledger always gives the same
state), on random but well-formed ledgers: intents, placements, failures, settlements, refusals,
halts, resets and TARGET_REACHED events of several sessions.

(a) replaying any prefix, then applying the rest one event at a time, gives the state of
    replaying it all at once; (b) replay is deterministic and idempotent: duplicate re-reads change
    nothing; (c) every staking plan's next stake (and the whole decide outcome) computed from a
    replayed Book equals the one computed from the Book kept live. The Book's O(1) indexes
    (stands, in_flight, attempts) are checked against their definitions over the events.
"""
from __future__ import annotations

import copy
from datetime import timedelta

from hypothesis import given, strategies as st

from pipeline.core.events import from_dicts
from pipeline.core.state import Book, absorb_new, replay
from pipeline.core.timefmt import iso
from pipeline.strategies.engine import decide
from tests.kit.ledgers import (MATCHES, ODDS, PLANS, PROPERTY, SESSIONS, T0, config_for, ledgers,
                               next_stakes, summary)

@PROPERTY
@given(ledgers(), st.data())
def test_any_prefix_replayed_then_the_rest_applied_live_is_the_whole_replay(lines, data):
    events = from_dicts(lines)  # as the ledger reads them
    whole = summary(replay(events))
    k = data.draw(st.integers(0, len(events)), label="prefix")
    book = replay(events[:k])
    for ev in events[k:]:
        book.apply(ev)
    assert summary(book) == whole


@PROPERTY
@given(ledgers(), st.data())
def test_replay_is_deterministic_and_duplicate_rereads_change_nothing(lines, data):
    events = from_dicts(lines)  # as the ledger reads them
    whole = summary(replay(events))
    assert summary(replay(copy.deepcopy(events))) == whole
    book = Book()
    for i, ev in enumerate(events):  # live, with re-reads of the ledger so far in between
        book.apply(ev)
        if data.draw(st.booleans(), label=f"re-read after {i}"):
            for old in events[:i + 1]:
                book.apply(copy.deepcopy(old))
    assert summary(book) == whole
    absorb_new(book, events)  # a whole re-read again: nothing new
    assert summary(book) == whole


@PROPERTY
@given(ledgers(max_events=40))
def test_next_stakes_and_decisions_from_a_replay_equal_the_live_ones(lines):
    events = from_dicts(lines)  # as the ledger reads them
    live = Book()
    snap = {"version": 1, "fetched_at": iso(T0), "matches": [
        {"key": k, "competition": "EPL", "status": "scheduled", "kickoff":
            iso(T0 + timedelta(days=30, hours=i)), "odds": ODDS, "seen_at": iso(T0)}
        for i, k in enumerate(MATCHES)]}
    for i, ev in enumerate(events):
        live.apply(ev)
        replayed = replay(events[:i + 1])
        assert next_stakes(live) == next_stakes(replayed)
    now = T0 + timedelta(days=1)
    for plan in PLANS:
        cfg = config_for(plan, max_open_bets=3, max_bets=30)
        got_live = decide(snap, cfg, live, now)
        got_replay = decide(snap, cfg, replay(events), now)
        assert (got_live.decisions, got_live.notes) == (got_replay.decisions, got_replay.notes)


@PROPERTY
@given(ledgers())
def test_the_books_indexes_agree_with_their_definitions(events):
    book = replay(from_dicts(events))
    resolved = {e["client_ref"] for e in events if e["type"] in ("BET_PLACED", "BET_FAILED")}
    intents = [e for e in events if e["type"] == "BET_INTENDED"]
    for did in {f"{s}|{m}|1X2" for s in SESSIONS for m in MATCHES}:
        flying = [i for i in intents if i["decision_id"] == did and i["client_ref"] not in resolved]
        final = any(e["type"] == "BET_FAILED" and e["decision_id"] == did and not e["retryable"]
                    for e in events)
        placed = any(e["type"] == "BET_PLACED" and e["decision_id"] == did for e in events)
        assert book.stands(did) == (not placed and not flying and not final)
        assert (did in book.not_standing()) == (not book.stands(did))
        got = book.in_flight(did)
        assert (got and got.client_ref) == (flying[0]["client_ref"] if flying else None)
        assert book.attempts(did) == sum(1 for i in intents if i["decision_id"] == did)
