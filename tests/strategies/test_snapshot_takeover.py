"""An OddsIndex built from the previous one (`previous=`: the decide program's way, updating the
previous index in place when only prices and seen_at changed) is the same index as one built
afresh — over any sequence of edits a monitor (or a broken file) can make — and a document the
full build refuses is refused with the same message, the previous index left as it was."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from pipeline.core.config import Config
from pipeline.core.state import Book
from pipeline.core.timefmt import iso
from pipeline.strategies.engine import decide
from pipeline.strategies.snapshot import OddsIndex
from tests.kit.tiers import examples

T0 = datetime(2024, 10, 5, 12, 0, tzinfo=timezone.utc)
COMPS = ("EPL", "ED1", "EFA")
CONFIG = Config.model_validate({"max_odds_age_s": 300, "sessions": [
    {"id": "all", "selection": "favourite", "staking": {"plan": "flat", "stake": 1}},
    {"id": "epl", "selection": "home", "competitions": ["EPL", "EFA"],
     "window": {"from_minutes": 600, "to_minutes": 10}, "staking": {"plan": "flat", "stake": 2}},
    {"id": "dog", "selection": "underdog", "odds": {"min": 2.5, "max": 6},
     "window": {"from_minutes": 120, "to_minutes": 0}, "staking": {"plan": "flat", "stake": 1}},
]})


def base(n: int) -> dict:
    return {"version": 1, "fetched_at": iso(T0), "matches": [
        {"key": f"2024-25_H{i} v A{i}", "competition": COMPS[i % 3], "status": "scheduled",
         "kickoff": iso(T0 + timedelta(minutes=30 * i)), "seen_at": iso(T0),
         "odds": {"home": 2.0 + i / 10, "draw": 3.2, "away": 4.0 - i / 10}}
        for i in range(n)]}


BAD = [1.0, 0, -2.5, "2.1", True, None, float("inf")]


def edit(doc: dict, kind: str, i: int, x: int) -> None:
    """One change to the document, in place (i picks the match, x a value)."""
    ms = doc["matches"]
    if not ms:
        return
    m = ms[i % len(ms)]
    side = ("home", "draw", "away")[x % 3]
    if kind == "price" and isinstance(m.get("odds"), dict):
        m["odds"] = {**m["odds"], side: round(1.05 + (x % 90) / 10, 2)}
    elif kind == "seen":  # a new poll: every match seen now
        doc["fetched_at"] = seen = iso(T0 + timedelta(seconds=x))
        for mm in ms:
            mm["seen_at"] = seen
    elif kind == "seen_one":
        m["seen_at"] = None if x % 4 == 0 else iso(T0 - timedelta(seconds=x * 7))
    elif kind == "no_odds":
        m["odds"] = None
    elif kind == "odds_back":
        m["odds"] = {"home": 1.5 + x % 5, "draw": 3.0, "away": 5.0}
    elif kind == "bad_price":
        m["odds"] = {**(m.get("odds") or {"home": 2, "draw": 3, "away": 4}),
                     side: BAD[x % len(BAD)]}
    elif kind == "status":
        m["status"] = ("scheduled", "live", "finished", "postponed", "void", "bogus")[x % 6]
    elif kind == "kickoff":
        m["kickoff"] = iso(T0 + timedelta(minutes=x))
    elif kind == "competition":
        m["competition"] = COMPS[x % 3]
    elif kind == "remove":
        ms.remove(m)
    elif kind == "add":
        ms.append({"key": f"2024-25_New{x} v Other{x}", "competition": COMPS[x % 3],
                   "status": "scheduled", "kickoff": iso(T0 + timedelta(minutes=x)),
                   "seen_at": iso(T0), "odds": {"home": 2.5, "draw": 3.1, "away": 2.9}})
    elif kind == "swap" and len(ms) > 1:
        j = (i + 1) % len(ms)
        ms[i % len(ms)], ms[j] = ms[j], ms[i % len(ms)]
    elif kind == "duplicate":
        ms.append(copy.deepcopy(m))
    elif kind == "bad_seen":
        m["seen_at"] = ("yesterday", 17, ["x"])[x % 3]
    elif kind == "bad_match":
        ms[i % len(ms)] = ("not a match", None, {"key": m.get("key")})[x % 3]
    elif kind == "drop_field":
        m.pop(("key", "status", "kickoff", "competition")[x % 4], None)


KINDS = ["price", "price", "price", "seen", "seen", "seen_one", "no_odds", "odds_back",
         "bad_price", "status", "kickoff", "competition", "remove", "add", "swap", "duplicate",
         "bad_seen", "bad_match", "drop_field"]


def view(index: OddsIndex, now: datetime) -> dict:
    """Everything the engine reads of an index."""
    out = {"len": len(index), "version": index.version,
           "stale": sorted(index.stale_keys(now, CONFIG.max_odds_age_s)),
           "next_stale": index.next_stale(now, CONFIG.max_odds_age_s)}
    for s in CONFIG.sessions:
        out[s.id] = [(m.key, m.competition, m.kickoff, m.kickoff_iso, dict(m.odds), m.seen_at,
                      m.seen_iso, m.rank) for m in index.select(s, now)]
        out[s.id + "_all"] = [m.key for m in index.select(s, None)]
        out[s.id + "_next"] = (index.next_open(s, now), index.next_close(s, now))
    return out


def build(doc: dict, previous: OddsIndex | None = None) -> OddsIndex | str:
    try:
        return OddsIndex(doc, previous=previous)
    except ValueError as e:
        return f"refused: {e}"


@settings(max_examples=examples(150), deadline=None)
@given(st.integers(0, 12),
       st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 2000)),
                min_size=1, max_size=25),
       st.integers(-60, 2000))
def test_an_index_taken_over_is_the_index_built_afresh(n, edits, now_min):
    now = T0 + timedelta(minutes=now_min)
    doc = base(n)
    chained = OddsIndex(copy.deepcopy(doc))
    for version, (kind, i, x) in enumerate(edits, start=2):
        edit(doc, kind, i, x)
        doc["version"] = version
        fresh = build(copy.deepcopy(doc))
        before = view(chained, now)
        got = build(copy.deepcopy(doc), previous=chained)
        if isinstance(fresh, str):  # refused: the same words, and the last good index intact
            assert got == fresh
            assert view(chained, now) == before
            doc = copy.deepcopy(chained.doc)  # the monitor writes a good file again
            continue
        assert not isinstance(got, str), got
        assert view(got, now) == view(fresh, now)
        assert (decide(got, CONFIG, Book(), now).__dict__
                == decide(fresh, CONFIG, Book(), now).__dict__)
        chained = got


def test_a_new_poll_with_moved_prices_is_taken_over_in_place():
    """The common case does take the fast path (else the test above proves nothing about it):
    the new index shares the previous one's runs, with the new prices and seen_at."""
    doc = base(6)
    first = OddsIndex(copy.deepcopy(doc))
    edit(doc, "seen", 0, 90)
    edit(doc, "price", 2, 4)
    doc["version"] = 2
    second = OddsIndex(copy.deepcopy(doc), previous=first)
    assert second.all is first.all
    moved = next(m for m in second.all.matches if m.key == doc["matches"][2]["key"])
    assert moved.odds == doc["matches"][2]["odds"]
    assert moved.seen_iso == iso(T0 + timedelta(seconds=90))
    edit(doc, "kickoff", 1, 45)  # a kickoff moved: built afresh
    doc["version"] = 3
    assert OddsIndex(copy.deepcopy(doc), previous=second).all is not second.all
