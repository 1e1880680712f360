"""The one clock: anchored speed, stop and resume, never back, never over a stop."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.timefmt import iso, parse_iso
from tests.kit.contracts import assert_contract

START = datetime(2019, 8, 9, 18, 30, tzinfo=timezone.utc)


def test_anchored_clock_runs_at_speed():
    real0 = clockmod.real_now() - timedelta(seconds=10)
    c = clockmod.AnchoredClock(real0, START, speed=60)
    elapsed = (c.now() - START).total_seconds()
    assert 600 <= elapsed < 700  # 10+ real seconds at speed 60


def test_fresh_home_starts_at_config_start_and_resumes_after_stop(home):
    doc = clockmod.anchor(home.clock, start=START, speed=60)
    assert_contract("clock", doc) or assert_contract("clock", read_json(home.clock))
    assert doc["sim_start"] == iso(START)
    # pretend the run lasted 100 real seconds
    doc["real_start"] = iso(parse_iso(doc["real_start"]) - timedelta(seconds=100))
    atomic_write_json(home.clock, doc)
    stopped = clockmod.stop(home.clock)
    assert_contract("clock", stopped)
    at_stop = parse_iso(stopped["stopped_at"])
    assert at_stop >= START + timedelta(seconds=6000)
    again = clockmod.anchor(home.clock, start=START, speed=60)
    assert parse_iso(again["sim_start"]) == at_stop  # resumes, neither back nor jumping
    assert again["version"] > stopped["version"]


def test_after_a_crash_the_clock_resumes_from_the_last_health_beat(home):
    clockmod.anchor(home.clock, start=START, speed=60)
    beat = START + timedelta(hours=3)
    atomic_write_json(home.health("monitor"), {"last_beat": iso(beat)})
    again = clockmod.anchor(home.clock, start=START, speed=60)
    assert parse_iso(again["sim_start"]) == beat


def test_fake_clock_moves_only_by_hand():
    c = clockmod.FakeClock("2019-08-09T18:30:00Z")
    assert c.now() == START
    c.advance(90)
    assert c.now() == START + timedelta(seconds=90)


def _later_real_instant(after: datetime) -> datetime:
    """Poll (no sleep) until the wall clock has moved past `after` by at least 5 ms."""
    deadline = after + timedelta(seconds=30)
    while (now := clockmod.real_now()) < after + timedelta(milliseconds=5):
        assert now < deadline
    return now


def test_a_stopped_clock_stands_still_at_stopped_at_for_every_reader(home, capsys):
    """Issue 15, defect 5: after scripts/stop, `clock now` ran on past stopped_at."""
    from pipeline.cli import main

    doc = clockmod.anchor(home.clock, start=START, speed=60)
    stopped = clockmod.stop(home.clock)
    at_stop = parse_iso(stopped["stopped_at"])
    # the home stays stopped 7 real minutes (7 simulated hours at speed 60): the anchor's real
    # start moves back, as the wall clock would have moved on
    stopped["real_start"] = iso(parse_iso(doc["real_start"]) - timedelta(minutes=7))
    atomic_write_json(home.clock, stopped)
    first = clockmod.load_clock(home.clock).now()
    _later_real_instant(clockmod.real_now())
    second = clockmod.load_clock(home.clock).now()
    assert first == second == at_stop
    assert main(["--home", str(home.root), "clock", "now"]) == 0
    assert capsys.readouterr().out.strip() == stopped["stopped_at"]
    # the next start resumes there, and the clock runs again
    again = clockmod.anchor(home.clock, start=START, speed=60)
    assert parse_iso(again["sim_start"]) == at_stop and "stopped_at" not in again
    running = clockmod.load_clock(home.clock)
    t0 = running.now()
    _later_real_instant(clockmod.real_now())
    assert running.now() > t0 >= at_stop
