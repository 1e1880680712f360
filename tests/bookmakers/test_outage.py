"""The REAL `betpipe execute` (live, Chromium) while the REAL `betpipe bookmaker` is stopped and
started again on its port: while it is down, execute holds the decisions (no burst of tries),
probes it and says so in health and the log; once it is back, every decision is placed — each
exactly once, the sandbox's bets and the ledger's one to one."""
from __future__ import annotations

from pipeline.core.filebus import atomic_write_json
from tests.kit.builders import decisions_doc, ledger_events, odds_doc, of_type
from tests.kit.live import (decision, live_home, placed_one_to_one, sandbox_bets, sandbox_matches,
                            START, start, start_both, stop_all)
from tests.kit.poll import poll
from tests.kit.programs import health, log_lines, stop_program

PROBES_WHILE_DOWN = 4


def intents_of(events: list[dict], decision_id: str) -> int:
    return sum(1 for e in of_type(events, "BET_INTENDED") if e["decision_id"] == decision_id)


def test_execute_holds_while_the_bookmaker_is_down_and_places_once_when_it_is_back(home,
                                                                                  tmp_path):
    url = live_home(home, tmp_path, max_concurrent=1, retry_base_s=1, retry_max_s=8)
    matches = sandbox_matches(3)
    a, b, c = (decision(m, i) for i, m in enumerate(matches))
    atomic_write_json(home.odds, odds_doc(*matches, version=1, fetched_at=START))
    atomic_write_json(home.decisions, decisions_doc(a, version=1))

    book_log, exec_log = tmp_path / "bookmaker.log", tmp_path / "execute.log"
    bookmaker, execute = start_both(home, url, book_log, exec_log)
    try:
        poll(lambda: of_type(ledger_events(home), "BET_PLACED"), 120, "the first bet", execute,
             exec_log)

        assert stop_program(bookmaker) == 0  # the bookmaker goes away ...
        atomic_write_json(home.decisions, decisions_doc(a, b, c, version=2))  # ... bets come
        down = poll(lambda: ((h := health(home, "execute")).get("bookmaker") or {})
                    .get("reachable") is False and h.get("state") == "degraded" and h, 90,
                    "execute to see it down", execute, exec_log)
        assert down["last_error"].startswith("bookmaker unreachable since "), down
        assert " next try at " in down["last_error"]
        probes = down["bookmaker"]["probes"]
        poll(lambda: (health(home, "execute").get("bookmaker") or {}).get("probes", 0)
             >= probes + PROBES_WHILE_DOWN, 90, f"{PROBES_WHILE_DOWN} more probes", execute,
             exec_log)
        events = ledger_events(home)
        # b was sent as the site went (its outcome unknown until it is back), c is held: no
        # burst of tries (before the backoff: up to 10 within seconds, then refused for good)
        assert intents_of(events, b["id"]) == 1 and intents_of(events, c["id"]) == 0, events
        assert not of_type(events, "BET_REFUSED")

        bookmaker = start("bookmaker", home, book_log)  # back, on the same port
        poll(lambda: len(of_type(ledger_events(home), "BET_PLACED")) == 3, 120,
             "b and c placed once it is back", execute, exec_log)
        poll(lambda: health(home, "execute").get("state") == "ok", 60, "execute ok again",
             execute, exec_log)
        assert stop_program(execute) == 0
        bets = sandbox_bets(url)
    finally:
        stop_all(home, execute, bookmaker)

    placed = placed_one_to_one(home, bets)  # exactly once: the sandbox's bets and the ledger's
    assert sorted(e["decision_id"] for e in placed) == sorted(d["id"] for d in (a, b, c))
    said = [x.get("event") for x in log_lines(exec_log)]
    assert "bookmaker.unreachable" in said and "bookmaker.back" in said
    assert "bookmaker.probe_failed" in said
