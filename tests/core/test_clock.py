"""The one clock: anchored speed, stop and resume, never back, never over a stop."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.timefmt import iso, parse_iso
from tests.helpers import assert_contract

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
