"""The replay source on the real football-data CSVs: the sandbox's pricing and timeline, the next
change the step clock jumps to (never missing one), ragged rows, the latin-1 byte, a real file
saved with a UTF-8 BOM, and the config that names the files."""
from __future__ import annotations

import csv
import os
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest

from pipeline.core import clock as clockmod
from pipeline.core.config import Config
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import REPO, Home
from pipeline.core.timefmt import iso, parse_iso
from pipeline.programs.bookmaker.market import prices_at, quote_of
from pipeline.programs.monitor.program import make_source
from pipeline.history.football_data import parse_file
from pipeline.sources.replay import Replay, ReplaySource, load_fixtures, make_replay_source
from tests.kit.contracts import assert_contract, FOOTBALL_DATA
from tests.kit.poll import poll

TABLES = load_tables()
E0_2019 = FOOTBALL_DATA / "E0_2019-20.csv"
LIVERPOOL = "2019-20_Liverpool v Norwich"
KICKOFF = parse_iso("2019-08-09T19:00:00Z")

pytestmark = pytest.mark.skipif(not E0_2019.exists(), reason=f"no CSVs in {FOOTBALL_DATA}")


@pytest.fixture(scope="module")
def season():
    return parse_file(E0_2019, TABLES)


@pytest.fixture(scope="module")
def replay(season):
    return Replay(season, TABLES, grid_s=3600)


def snapshot(replay: Replay, now) -> dict:
    matches, problems = replay.matches_at(now, iso(now))
    doc = {"version": 1, "written_at": iso(now), "source": "replay", "fetched_at": iso(now),
           "matches": matches}
    assert_contract("odds-data", doc)
    return {m["key"]: m for m in matches}


def content(replay: Replay, now) -> dict:
    """A snapshot without its time stamps: what decide would see change."""
    return {k: {f: v for f, v in m.items() if f != "seen_at"}
            for k, m in snapshot(replay, now).items()}


def test_the_sandbox_timeline_and_pricing(replay, season):
    fixture = next(f for f in season if f.key == LIVERPOOL)
    quote = quote_of(fixture)
    assert snapshot(replay, KICKOFF - timedelta(days=7, seconds=1)).get(LIVERPOOL) is None
    opening = snapshot(replay, KICKOFF - timedelta(days=7))[LIVERPOOL]
    assert opening["status"] == "scheduled"
    assert tuple(opening["odds"].values()) == fixture.odds("b365")  # B365 at kickoff - 7 days
    at = parse_iso("2019-08-09T18:30:00Z")
    now = snapshot(replay, at)[LIVERPOOL]
    assert (now["odds"]["home"], now["odds"]["draw"], now["odds"]["away"]) == \
        prices_at(quote, KICKOFF, at)  # the sandbox's own function, towards the closing prices
    assert (now["home"], now["away"], now["competition"], now["season"], now["kickoff"]) == \
        ("Liverpool", "Norwich", "EPL", "2019-20", "2019-08-09T19:00:00Z")
    assert now["source_ref"] == "E0_2019-20.csv:0"
    live = snapshot(replay, KICKOFF)[LIVERPOOL]
    assert (live["status"], live["odds"], live["result"]) == ("live", None, None)
    done = snapshot(replay, KICKOFF + timedelta(minutes=110))[LIVERPOOL]
    assert (done["status"], done["result"]) == ("finished", {"home_goals": 4, "away_goals": 1})
    assert LIVERPOOL not in snapshot(replay, KICKOFF + timedelta(days=3))


def test_steps_never_miss_a_change_and_land_on_milliseconds(replay):
    now, end = parse_iso("2019-08-09T18:00:00Z"), parse_iso("2019-08-11T18:00:00Z")
    edges = [3600.0, 600.0]  # sessions' windows: an hour and ten minutes before kickoff
    steps = [now]
    while steps[-1] < end:
        steps.append(replay.next_change(steps[-1], edges))
    assert all(a < b for a, b in zip(steps, steps[1:]))
    assert all(s.microsecond % 1000 == 0 for s in steps)
    assert KICKOFF in steps and KICKOFF + timedelta(minutes=110) in steps
    assert KICKOFF - timedelta(hours=1) in steps and KICKOFF - timedelta(minutes=10) in steps
    changed = 0
    before = content(replay, steps[0])
    for a, b in zip(steps, steps[1:]):  # `before`: what step a shows
        # every grid instant between two steps shows what the first step showed
        t = a + (timedelta(seconds=3600) - timedelta(seconds=a.timestamp() % 3600))
        while t < b:
            assert content(replay, t) == before, (a, t, b)
            t += timedelta(seconds=3600)
        after = content(replay, b)
        changed += after != before
        before = after
    assert changed >= len(steps) - 1 - 8  # a few steps are window edges, where only time moved


def test_the_replay_ends_at_until_and_at_the_end_of_the_data(season):
    until = parse_iso("2019-08-10T12:00:00Z")
    short = Replay(season, TABLES, grid_s=3600, until=until)
    assert short.next_change(until - timedelta(minutes=1)) is None or \
        short.next_change(until - timedelta(minutes=1)) <= until
    assert short.next_change(until) is None
    last = max(f.kickoff for f in season) + timedelta(days=3)
    assert Replay(season, TABLES).next_change(last) is None


def test_ragged_rows_and_the_latin1_byte_replay():
    for name in ("E0_2002-03.csv", "E0_2003-04.csv", "E0_2004-05.csv"):
        fixtures = parse_file(FOOTBALL_DATA / name, TABLES)
        assert len(fixtures) == 380
    # a row with more fields than the header (read here with the csv module, by position)
    rows = list(csv.reader((FOOTBALL_DATA / "E0_2002-03.csv").read_text("latin-1").splitlines()))
    header = rows[0]
    ragged = next(r for r in rows[1:] if len(r) > len(header))
    assert (ragged[2], ragged[3]) == ("Aston Villa", "Blackburn")
    replay = Replay(parse_file(FOOTBALL_DATA / "E0_2002-03.csv", TABLES), TABLES)
    i = next(i for i, f in enumerate(replay.fixtures) if (f.home, f.away) == (ragged[2], ragged[3])
             and f.fthg == int(ragged[4]))
    kickoff = replay.kickoffs[i]
    opening = snapshot(replay, kickoff - timedelta(days=7))["2002-03_Aston Villa v Blackburn"]
    assert opening["odds"] == {sel: float(ragged[header.index(col)])
                               for sel, col in (("home", "B365H"), ("draw", "B365D"),
                                                ("away", "B365A"))}
    # E0 2004-05 holds one latin-1 byte (in Aston Villa v Bolton's referee): the match plays
    replay = Replay(parse_file(FOOTBALL_DATA / "E0_2004-05.csv", TABLES), TABLES)
    assert b"\xa0U Rennie" in (FOOTBALL_DATA / "E0_2004-05.csv").read_bytes()
    villa = parse_iso("2005-04-23T14:00:00Z")  # 15:00 BST
    match = snapshot(replay, villa + timedelta(minutes=110))["2004-05_Aston Villa v Bolton"]
    assert (match["status"], match["result"]) == ("finished", {"home_goals": 1, "away_goals": 1})


def test_a_real_file_saved_with_a_bom_replays_the_same(tmp_path, replay):
    data = E0_2019.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    (tmp_path / "E0_2019-20.csv").write_bytes(b"\xef\xbb\xbf" + data)  # as newer files are
    home = Home(tmp_path / "home").ensure()
    config = Config.model_validate({"source": {"kind": "replay", "interval_s": 3600, "replay": {
        "files": [str(tmp_path / "E0_2019-20.csv")]}}})
    source = make_replay_source(home, config, TABLES)
    at = "2019-08-09T18:30:00.000Z"
    assert isinstance(source, ReplaySource) and len(source.replay) == 380
    with_bom, problems = source.fetch(at)
    assert problems == [] and with_bom == replay.matches_at(parse_iso(at), at)[0]
    assert with_bom[0]["key"] == LIVERPOOL  # the header's first column ("Div") was found


def test_the_configured_files_folder_and_odds(tmp_path):
    home = Home(tmp_path / "home").ensure()

    def cfg(**replay):
        return Config.model_validate({"source": {"kind": "replay", "replay": replay}}).source.replay

    with pytest.raises(ValueError, match="no such file.*nope.csv"):
        load_fixtures(home, cfg(files=["nope.csv"]), None, TABLES)
    (home.root / "empty").mkdir()
    with pytest.raises(ValueError, match="no football-data fixtures"):
        load_fixtures(home, cfg(folder="empty"), None, TABLES)
    # the default is the sandbox's folder: every real file
    assert len(load_fixtures(home, cfg(), str(FOOTBALL_DATA), TABLES)) > 8000
    fixtures = load_fixtures(home, cfg(files=[str(E0_2019)]), None, TABLES)
    pinnacle = Replay(fixtures, TABLES, odds="pinnacle")
    opening = snapshot(pinnacle, KICKOFF - timedelta(days=7))[LIVERPOOL]
    liverpool = next(f for f in fixtures if f.key == LIVERPOOL)
    assert tuple(opening["odds"].values()) == liverpool.odds("pinnacle")
    closing = snapshot(pinnacle, KICKOFF - timedelta(milliseconds=1))[LIVERPOOL]
    assert tuple(closing["odds"].values()) == liverpool.odds("pinnacle-closing")


def test_the_monitor_refuses_a_step_clock_for_a_browser_source(tmp_path):
    home = Home(tmp_path / "home").ensure()
    clockmod.anchor(home.clock, start=KICKOFF, speed=1, mode="step")
    rt = SimpleNamespace(home=home, clock=clockmod.load_clock(home.clock),
                         config=Config.model_validate({"source": {"kind": "sandbox"}}))
    with pytest.raises(ValueError, match="clock.mode 'step' needs source.kind 'replay'"):
        make_source(rt, None)
    rt.config = Config.model_validate({"source": {"kind": "replay", "interval_s": 3600,
                                                  "replay": {"files": [str(E0_2019)]}}})
    assert make_source(rt, None).kind == "replay"


def test_the_monitor_plays_a_replay_on_an_anchored_clock(home, tmp_path):
    """No browser: the real program writes the replay's snapshot at the clock's time."""
    clockmod.anchor(home.clock, start=parse_iso("2019-08-09T18:30:00Z"), speed=60)
    atomic_write_json(home.system_config, {"source": {"kind": "replay", "interval_s": 30,
                                                      "replay": {"files": [str(E0_2019)]}}})
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    with open(tmp_path / "monitor.log", "wb") as out:
        proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "betpipe"), "monitor"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        doc = poll(lambda: (d := read_snapshot(home.odds)) and d["version"] >= 3 and d, 60,
                       "three replay snapshots")
        assert_contract("odds-data", doc)
        assert doc["source"] == "replay"
        liverpool = {m["key"]: m for m in doc["matches"]}[LIVERPOOL]
        at = parse_iso(doc["fetched_at"])
        assert liverpool["status"] == "scheduled" and liverpool["seen_at"] == doc["fetched_at"]
        assert tuple(liverpool["odds"].values()) == prices_at(
            quote_of(next(f for f in parse_file(E0_2019, TABLES) if f.key == LIVERPOOL)),
            KICKOFF, at)
        assert not list((home.data / "browser").glob("*"))  # no browser for a replay
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
