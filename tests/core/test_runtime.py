"""Runtime: a program waits for clock and config in a failing state, and a bad config edit
degrades health until a good file is back — even the very same good file as before."""
from __future__ import annotations

import threading

import orjson

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.runtime import Runtime
from tests.kit.poll import poll

GOOD = {"sessions": [{"id": "a", "selection": "home", "staking": {"plan": "flat", "stake": 1}}]}


def test_failing_until_clock_and_config_exist_then_ok(home):
    rt = Runtime("decide", home)
    rt.install_signals = lambda: None  # not the main thread's signals in a test
    started = threading.Event()
    t = threading.Thread(target=lambda: started.set() if rt.start() else None)
    t.start()
    try:
        poll(lambda: home.health("decide").exists(), 30, "decide's first health file", every=0.02)
        doc = read_json(home.health("decide"))
        assert doc["state"] == "failing" and "clock" in doc["last_error"]
        clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
        atomic_write_json(home.system_config, GOOD)
        assert started.wait(30)
        assert read_json(home.health("decide"))["state"] == "ok"
    finally:
        rt.stopping.set()
        t.join(10)
        rt.close()


def test_bad_edit_degrades_and_restoring_the_same_file_recovers(home):
    atomic_write_json(home.system_config, GOOD)
    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
    rt = Runtime("decide", home)
    rt.install_signals = lambda: None
    assert rt.start()
    try:
        home.system_config.write_bytes(b'{"sessions": [')
        rt.reload_config()
        doc = read_json(home.health("decide"))
        assert doc["state"] == "degraded" and "not JSON" in doc["last_error"]
        assert rt.config.sessions[0].id == "a"  # last good config still running
        home.system_config.write_bytes(orjson.dumps(GOOD))
        assert rt.reload_config() is False  # same config as before: nothing new to apply
        doc = read_json(home.health("decide"))
        assert doc["state"] == "ok" and doc["last_error"] is None
    finally:
        rt.close()


def test_start_freezes_start_up_objects_and_passes_collect_only_after_they_end(home):
    import gc

    from pipeline.core.gcpause import collect_after

    atomic_write_json(home.system_config, GOOD)
    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
    rt = Runtime("decide", home)
    rt.install_signals = lambda: None
    gc.unfreeze()
    try:
        assert rt.start()
        assert gc.get_freeze_count() > 0  # what start-up made is left out of collections
        assert gc.isenabled()
        with collect_after():
            assert not gc.isenabled()
            with collect_after():  # nested: still off until the outer block ends
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()  # a caller that had it off keeps it off
        with collect_after():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
        rt.stopping.set()
        rt.close()
