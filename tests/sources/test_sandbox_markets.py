"""The monitor's read of the sandbox's /odds page (real server on 127.0.0.1, real Chromium, the
one page.evaluate of SandboxSource) gives the handicap and totals the replay source gives for
the same instant: both price AH and O/U on the same paths (pipeline/history/prices.py)."""
from __future__ import annotations

import pytest

from pipeline.browser.launch import Browser, find_chromium, profile_processes
from pipeline.core.clock import FakeClock
from pipeline.core.files import check_odds
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import parse_iso
from pipeline.history.football_data import parse_file
from pipeline.programs.bookmaker.market import Market
from pipeline.sources.replay import Replay
from pipeline.sources.sandbox import SandboxSource
from tests.kit.contracts import FOOTBALL_DATA, assert_contract
from tests.kit.bookmaker import LiveServer

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")

# Newcastle v Arsenal (kickoff 2019-08-11T13:00Z) has AHh 0.75 -> AHCh 0.25: before and after
# its line moves (kickoff - 3.5 days), and a busy Saturday; no kickoff within the sandbox's
# 2-minute suspension of any of them (the replay has none)
INSTANTS = ("2019-08-06T13:00:00Z", "2019-08-09T18:30:00Z", "2019-08-10T12:00:00Z")
NEW_ARS = "2019-20_Newcastle v Arsenal"


def lines_of(matches: list[dict]) -> dict:
    return {m["key"]: (m["status"], m.get("handicap"), m.get("totals")) for m in matches}


def test_the_monitors_read_gives_the_replays_handicap_and_totals(home, tmp_path):
    tables = load_tables()
    fixtures = parse_file(FOOTBALL_DATA / "E0_2019-20.csv", tables)
    replay = Replay(fixtures, tables, odds="sandbox")
    clock = FakeClock(INSTANTS[0])
    browser = Browser(home, "monitor")
    try:
        with LiveServer(Market(fixtures), home, clock) as _http:
            source = SandboxSource(browser, f"http://127.0.0.1:{_http.base_url.port}", tables)
            seen = {}
            for at in INSTANTS:
                clock.set(at)
                read, problems = source.fetch(at)
                assert problems == [] and source.sim_now == at
                doc = {"version": 1, "written_at": at, "source": "sandbox", "fetched_at": at,
                       "matches": read}
                assert check_odds(doc, tmp_path / "odds-data.json") is doc
                assert_contract("odds-data", doc)
                expected, _ = replay.matches_at(parse_iso(at), at)
                assert lines_of(read) == lines_of(expected)
                on_sale = [m for m in read if m.get("handicap") and m.get("totals")]
                assert len(on_sale) >= 5, at  # the comparison is not of empty lists
                seen[at] = lines_of(read)[NEW_ARS][1]
            assert seen[INSTANTS[0]][0]["line"] == 0.75 and seen[INSTANTS[2]][0]["line"] == 0.25
    finally:
        browser.close()
    assert profile_processes(home.profile_dir("monitor")) == []
