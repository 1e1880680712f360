"""Health beats: `beat_soon` writes the health file from the beat thread, not the caller's (a
pass must not wait for its fsyncs), and at once on the caller's before the thread runs."""
from __future__ import annotations

import threading

from pipeline.core import health as healthmod
from pipeline.core.filebus import read_json
from pipeline.core.health import Health
from tests.kit.poll import poll


def test_beat_soon_before_start_writes_at_once(home):
    h = Health(home, "execute")
    h.info["odds_version"] = 7
    h.beat_soon()
    assert read_json(home.health("execute"))["odds_version"] == 7


def test_beat_soon_writes_from_the_beat_thread_soon_and_every_wish_is_written(home,
                                                                            monkeypatch):
    h = Health(home, "execute")
    writers: list[str] = []
    real = healthmod.Health._beat

    def spy(self):
        writers.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(healthmod.Health, "_beat", spy)
    h.start(every_real_s=3600)  # the periodic beat never comes during the test
    try:
        for version in range(1, 6):
            h.info["odds_version"] = version
            h.beat_soon()
            poll(lambda: read_json(home.health("execute")).get("odds_version") == version, 30,
                 f"the beat with odds_version {version}", every=0.01)
        assert writers[0] == "MainThread"  # start's first beat
        assert set(writers[1:]) == {"health-execute"}  # never the caller's thread
    finally:
        h.stop()
    assert not h._thread.is_alive()
