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
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline.core.config import Config
from pipeline.core.state import Book, absorb_new, replay
from pipeline.core.timefmt import iso
from pipeline.strategies import ladder, staking
from pipeline.strategies.engine import decide

SESSIONS = ("a", "b", "c")
MATCHES = tuple(f"2024-25_Home{i} v Away{i}" for i in range(4))
T0 = datetime(2024, 10, 5, 12, 0, tzinfo=timezone.utc)
PLANS = [{"plan": "flat", "stake": 5}, {"plan": "percent", "percent": 3},
         {"plan": "kelly", "fraction": 0.5, "edge": 0.2},
         {"plan": "martingale", "stake": 2, "max_steps": 3},
         {"plan": "fibonacci", "stake": 2, "max_steps": 4},
         {"plan": "ladder", "stake": 2, "target": 9}]
ODDS = {"home": 2.5, "draw": 3.3, "away": 2.9}


def config_for(plan: dict, **limits) -> Config:
    return Config.model_validate({"max_odds_age_s": 3600, "sessions": [
        {"id": sid, "selection": sel, "staking": plan, "bankroll": 100, "limits": limits}
        for sid, sel in zip(SESSIONS, ("favourite", "draw", "underdog"))]})


LADDER = config_for(PLANS[-1])


@st.composite
def ledgers(draw, max_events: int = 50) -> list[dict]:
    """A well-formed ledger: every outcome answers an intent, every settlement an open bet."""
    events: list[dict] = []
    unresolved: dict[str, dict] = {}  # client_ref -> its BET_INTENDED
    attempts: dict[str, int] = {}
    placed: dict[str, dict] = {}  # decision id -> its BET_PLACED
    open_bets: list[str] = []
    final: set[str] = set()
    for _ in range(draw(st.integers(0, max_events))):
        kinds = ["intend", "intend", "halt", "reset", "refuse", "target"]
        if unresolved:
            kinds += ["place", "place", "fail"]
        if open_bets:
            kinds += ["settle", "settle"]
        kind = draw(st.sampled_from(kinds))
        sid = draw(st.sampled_from(SESSIONS))
        did = f"{sid}|{draw(st.sampled_from(MATCHES))}|1X2"
        body: dict
        if kind == "intend":
            busy = any(i["decision_id"] == did for i in unresolved.values())
            if did in placed or did in final or busy:
                continue
            attempts[did] = attempts.get(did, 0) + 1
            body = {"type": "BET_INTENDED", "session": sid, "decision_id": did,
                    "client_ref": f"{did}#{attempts[did]}", "attempt": attempts[did],
                    "match_key": did.split("|")[1], "selection": draw(st.sampled_from(("home", "draw", "away"))),
                    "odds": draw(st.sampled_from([1.5, 2.0, 3.25])),
                    "stake": draw(st.sampled_from([1.0, 2.5, 10.0, 40.0])), "mode": "paper"}
            unresolved[body["client_ref"]] = body
        elif kind in ("place", "fail"):
            intent = unresolved.pop(draw(st.sampled_from(sorted(unresolved))))
            base = {"session": intent["session"], "decision_id": intent["decision_id"],
                    "client_ref": intent["client_ref"]}
            if kind == "place":
                body = {"type": "BET_PLACED", **base, "bet_ref": f"B{len(events)}",
                        "odds": intent["odds"], "stake": intent["stake"]}
                placed[intent["decision_id"]] = body
                open_bets.append(intent["decision_id"])
            else:
                retryable = draw(st.booleans())
                body = {"type": "BET_FAILED", **base, "reason": "suspended",
                        "retryable": retryable}
                if not retryable:
                    final.add(intent["decision_id"])
        elif kind == "settle":
            bet = placed[open_bets.pop(draw(st.integers(0, len(open_bets) - 1)))]
            outcome = draw(st.sampled_from(["won", "lost", "void"]))
            payout = {"won": round(bet["stake"] * bet["odds"], 2), "lost": 0.0,
                      "void": bet["stake"]}[outcome]
            body = {"type": "BET_SETTLED", "session": bet["session"],
                    "decision_id": bet["decision_id"], "bet_ref": bet["bet_ref"],
                    "outcome": outcome, "payout": payout,
                    "profit": round(payout - bet["stake"], 2)}
        elif kind == "refuse":
            body = {"type": "BET_REFUSED", "session": sid, "decision_id": did,
                    "control": draw(st.sampled_from(["MaxStake", "OpenBets"])), "reason": "no"}
        elif kind == "halt":
            body = {"type": "SESSION_HALTED", "session": sid,
                    "reason": draw(st.sampled_from(["stop_loss", "daily_loss", "max_bets"]))}
        elif kind == "target":
            body = {"type": "TARGET_REACHED", "session": sid, "decision_id": did, "cycle": 1,
                    "return": 9.0}
        else:
            body = {"type": "SESSION_RESET", "session": sid}
        seq = len(events) + 1
        events.append({"seq": seq, "ts": iso(T0 + timedelta(minutes=17 * seq)), **body})
    return events


def summary(book: Book) -> dict:
    """A canonical picture of a Book: per session bets, settled profit, staked, open bets, in
    flight, halted, cycle; and the book-wide indexes."""
    out: dict = {"seq": book.seq, "placed": sorted(book.placed),
                 "unresolved": sorted(book.unresolved), "refusals": sorted(book.refusals.items()),
                 "final": sorted(book.final), "duplicates": len(book.duplicates)}
    for sid, sb in sorted(book.sessions.items()):
        out[sid] = {
            "bets": [(b.decision_id, b.stake, b.odds, b.outcome, b.profit, b.settled_seq)
                     for b in sb.bets],
            "settled": [b.decision_id for b in sb.settled], "profit": sb.settled_profit,
            "staked": sb.staked, "open": [b.decision_id for b in sb.open_bets],
            "in_flight": sorted(sb.in_flight), "halted": (sb.halted, sb.halted_at),
            "reset_seq": sb.reset_seq, "first_bet_at": sb.first_bet_at,
            "cycle": ladder.position(LADDER.session(sid), sb)}
    return out


def next_stakes(book: Book) -> list:
    """Every plan's next stake for every session (a price-dependent plan at ODDS)."""
    out = []
    for plan in PLANS:
        for s in config_for(plan).sessions:
            sb = book.sessions.get(s.id)
            out.append(staking.stake_for(s, sb, ODDS, "home"))
    return out


PROPERTY = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(ledgers(), st.data())
def test_any_prefix_replayed_then_the_rest_applied_live_is_the_whole_replay(events, data):
    whole = summary(replay(events))
    k = data.draw(st.integers(0, len(events)), label="prefix")
    book = replay(events[:k])
    for ev in events[k:]:
        book.apply(ev)
    assert summary(book) == whole


@PROPERTY
@given(ledgers(), st.data())
def test_replay_is_deterministic_and_duplicate_rereads_change_nothing(events, data):
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
def test_next_stakes_and_decisions_from_a_replay_equal_the_live_ones(events):
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
    book = replay(events)
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
