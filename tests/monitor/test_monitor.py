"""The real `betpipe monitor` in a subprocess, with real Chromium, against pages in the sandbox's
format served from a local HTTP server: it writes odds-data that keeps the contract, keeps the
last good snapshot through a broken page, degrades after the retries, recovers, ends leftover
browsers of its profile at start, and exits 0 on SIGTERM without leaving a browser behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline.core.clock import anchor
from pipeline.core.filebus import atomic_write_json
from pipeline.core.paths import REPO, Home
from pipeline.core.timefmt import parse_iso
from pipeline.browser import launch as browser
from pipeline.browser.launch import find_chromium
from tests.kit.contracts import assert_contract, free_port
from tests.kit.monitor import (BETPIPE, EMPTY_TABLE, NO_TABLE, START, browser_main_pid, by_key,
                               good_rows, health, odds, odds_page, profile_pids, setup_home)
from tests.kit.poll import poll

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")


def test_writes_keeps_last_good_degrades_recovers_and_stops_clean(home, pages, start_monitor):
    setup_home(home, pages.url)
    program = start_monitor()

    first = poll(lambda: odds(home), 30, "the first odds-data.json", program)
    assert_contract("odds-data", first)
    assert first["source"] == "sandbox"
    matches = by_key(first)
    assert set(matches) == {"2018-19_Brighton v Manchester City", "2019-20_Liverpool v Norwich",
                            "2019-20_West Ham v Manchester City",
                            "2019-20_Manchester United v Chelsea"}
    assert matches["2019-20_Liverpool v Norwich"]["odds"] == {"home": 1.14, "draw": 9.5,
                                                              "away": 19.0}
    assert matches["2019-20_West Ham v Manchester City"]["odds"] is None  # "abc"
    assert matches["2019-20_Manchester United v Chelsea"]["odds"] is None  # not on sale
    assert matches["2018-19_Brighton v Manchester City"]["result"] == {"home_goals": 1,
                                                                      "away_goals": 4}
    # simulated time, at speed 60 from 18:30
    assert START <= parse_iso(first["fetched_at"]) < parse_iso("2019-08-09T19:30:00Z")
    assert first["written_at"] >= first["fetched_at"]
    poll(lambda: (odds(home) or {}).get("version", 0) >= first["version"] + 2, 10,
             "polls every half a real second", program)
    beat = poll(lambda: (h := health(home)) and h["counters"].get("polls", 0) >= 3 and h,
                    10, "health counting polls", program)
    assert_contract("health", beat)
    assert beat["state"] == "ok" and beat["counters"]["matches"] == 4
    assert any("abc" in p for p in program.events("odds.problems")[0]["problems"])

    # a garbled page with an empty table where there were rows: the last good snapshot stands
    pages.set("empty", EMPTY_TABLE)
    poll(lambda: pages.served["empty"] >= 1, 10, "the empty page fetched", program)
    last_good = home.odds.read_bytes()  # the poll before that request has written already
    poll(lambda: pages.served["empty"] >= 2, 10, "a retry of the empty page", program)
    assert home.odds.read_bytes() == last_good

    # the layout changed (no table): after the retries the circuit opens, health degraded
    pages.set("no-table", NO_TABLE)
    degraded = poll(lambda: (h := health(home)) and h["state"] == "degraded" and h, 30,
                        "health degraded", program)
    assert "circuit open" in degraded["last_error"]
    assert "no table#matches" in degraded["last_error"]
    assert degraded["counters"]["errors"] >= 5
    assert_contract("health", degraded)
    assert home.odds.read_bytes() == last_good
    failed = program.events("poll.failed")
    assert any("zero match rows" in f["reason"] for f in failed)
    # once per reason: a line only when the reason changes, counting up; the repeats are quiet
    assert all(a["reason"] != b["reason"] and a["failures"] < b["failures"]
               for a, b in zip(failed, failed[1:])), failed
    assert "no table#matches" in failed[-1]["reason"]
    assert failed[-1]["failures"] < degraded["failures"], (failed, degraded)

    # the page is back with a new price: the version advances again, health ok
    pages.set("good", odds_page(good_rows(liverpool_home="1.20")))
    back = poll(lambda: (d := odds(home)) and d["version"] > orjson.loads(last_good)["version"]
                    and d, 20, "a new version after the page came back", program)
    assert_contract("odds-data", back)
    assert by_key(back)["2019-20_Liverpool v Norwich"]["odds"]["home"] == 1.2
    poll(lambda: health(home)["state"] == "ok", 10, "health ok again", program)

    assert profile_pids(home), "the monitor's browser runs with its own profile directory"
    assert program.stop(timeout=20) == 0
    assert profile_pids(home) == [], "a browser of the monitor's profile outlived it"
    assert program.events("stopped")
    assert all(line.get("program") == "monitor" for line in program.lines())
    final = health(home)
    assert final["stopped"] is True


def test_ends_a_leftover_browser_at_start_and_relaunches_after_a_crash(home, pages,
                                                                       start_monitor):
    setup_home(home, pages.url, interval_s=6)  # 0.1 real s at speed 60: stretched to 0.2
    profile = home.profile_dir("monitor")
    profile.mkdir(parents=True)
    orphan = subprocess.Popen(
        [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile.resolve()}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        poll(lambda: os.path.lexists(profile / "SingletonLock"), 20,
                 "the leftover browser holding the profile")
        assert orphan.poll() is None

        program = start_monitor()
        poll(lambda: orphan.poll() is not None, 30, "the leftover browser ended", program)
        assert orphan.returncode in (-signal.SIGTERM, -signal.SIGKILL, 0)
        ended = poll(lambda: program.events("browser.orphans_ended"), 10,
                         "the clean-up logged", program)
        assert orphan.pid in ended[0]["pids"]
        # and the monitor's own browser then works with that profile
        doc = poll(lambda: odds(home), 30, "odds-data after the clean-up", program)
        assert "2019-20_Liverpool v Norwich" in by_key(doc)
        poll(lambda: program.events("monitor.interval_stretched"), 10,
                 "the stretched interval logged", program)
        poll(lambda: odds(home)["version"] >= doc["version"] + 3, 10, "more polls", program)
        assert len(program.events("monitor.interval_stretched")) == 1

        # the browser crashes (killed from outside): the monitor launches a new one
        crashed = browser_main_pid(home)
        os.kill(crashed, signal.SIGKILL)
        before = odds(home)["version"]
        poll(lambda: any(e["launches"] == 2 for e in program.events("browser.launched")),
                 20, "a second browser launch", program)
        poll(lambda: odds(home)["version"] >= before + 2, 10, "polls after the relaunch",
                 program)
        assert browser_main_pid(home) != crashed
        assert program.stop() == 0
        assert profile_pids(home) == []
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(10)


def test_unknown_clock_then_unsupported_source_stay_up_failing(home, pages, start_monitor):
    program = start_monitor()  # no clock anchor, no config yet
    # the very first beat (before the clock is looked at) may still say ok: wait for the verdict
    first = poll(lambda: (h := health(home)) and h["state"] != "ok" and h, 15,
                     "a health beat saying why", program)
    assert first["state"] == "failing" and "clock" in first["last_error"]
    setup_home(home, pages.url, kind="hkjc")  # at speed 60: the real site needs speed 1
    failing = poll(lambda: (h := health(home)) and "speed 1" in (h["last_error"] or "")
                       and h, 15, "health naming the source the clock forbids", program)
    assert failing["state"] == "failing" and "hkjc" in failing["last_error"]
    assert program.proc.poll() is None  # stays up (never exits into supervisord's FATAL)
    assert not home.odds.exists() and pages.served.total() == 0
    assert program.stop() == 0


def test_reads_the_real_sandbox_bookmaker(home, start_monitor, tmp_path):
    """Both programs as subprocesses: the bookmaker's own /odds page through the monitor."""
    from tests.kit.contracts import FOOTBALL_DATA

    if not (FOOTBALL_DATA / "E0_2019-20.csv").exists():
        pytest.skip(f"no football-data CSVs in {FOOTBALL_DATA}")
    port = free_port()
    anchor(home.clock, start=START, speed=60)
    atomic_write_json(home.system_config, {"source": {"kind": "sandbox", "interval_s": 30},
                                           "sandbox": {"port": port}})
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
    with open(tmp_path / "bookmaker.log", "wb") as out:
        bookmaker = subprocess.Popen([str(BETPIPE), "bookmaker"], env=env, cwd=REPO,
                                     stdout=out, stderr=subprocess.STDOUT)
    try:
        program = start_monitor()
        key = "2019-20_Liverpool v Norwich"
        doc = poll(lambda: (d := odds(home)) and key in by_key(d) and d, 60,
                       f"{key} in odds-data", program)
        assert_contract("odds-data", doc)
        match = by_key(doc)[key]
        assert match["kickoff"] == "2019-08-09T19:00:00Z" and match["competition"] == "EPL"
        assert match["status"] == "scheduled" and match["season"] == "2019-20"
        assert match["odds"] is not None and match["odds"]["home"] < match["odds"]["away"]
        assert program.stop() == 0
        assert profile_pids(home) == []
    finally:
        if bookmaker.poll() is None:
            bookmaker.send_signal(signal.SIGTERM)
            try:
                bookmaker.wait(20)
            except subprocess.TimeoutExpired:
                bookmaker.kill()
                bookmaker.wait(10)
    assert bookmaker.returncode == 0, (tmp_path / "bookmaker.log").read_text()[-2000:]


# --------------------------------------------------------------------------- the browser module

def _executable(path: Path) -> str:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_chromium_is_found_in_the_documented_order(tmp_path, monkeypatch):
    configured, from_env = _executable(tmp_path / "configured"), _executable(tmp_path / "env")
    monkeypatch.delenv(browser.ENV, raising=False)
    assert browser.locate(configured)[0] == configured
    monkeypatch.setenv(browser.ENV, from_env)
    assert browser.locate(configured)[0] == configured
    path, tried = browser.locate(str(tmp_path / "missing"))
    assert path == from_env and "missing" in tried[0]
    # nothing anywhere: the error names every place tried
    monkeypatch.setenv(browser.ENV, str(tmp_path / "nope"))
    monkeypatch.setattr(browser, "_playwright_bundled", lambda _pw=None: str(tmp_path / "pw"))
    monkeypatch.setattr(browser, "SYSTEM_PATHS", (str(tmp_path / "usr-bin-chromium"),))
    monkeypatch.setattr(browser.shutil, "which", lambda _name: None)
    path, tried = browser.locate(None)
    assert path is None and browser.find_chromium() is None
    message = str(browser.BrowserNotFound(tried))
    for place in ("browser.executable", "BETPIPE_CHROMIUM", "nope", "Playwright", "pw",
                  "usr-bin-chromium", "chromium-browser", "google-chrome"):
        assert place in message
    # Playwright's own browser, when downloaded, comes before the system's
    monkeypatch.setattr(browser, "_playwright_bundled", lambda _pw=None: from_env)
    assert browser.locate(None)[0] == from_env
    # scripts call find_chromium() bare: it honours the home's config browser.executable
    home = Home(tmp_path / "home").ensure()
    atomic_write_json(home.system_config, {"browser": {"executable": configured}})
    monkeypatch.setenv("BETPIPE_HOME", str(home.root))
    assert browser.find_chromium() == configured


def _stand_in(profile_arg: str, ignore_term: bool = False) -> subprocess.Popen:
    """A process carrying a --user-data-dir argument, ready once it printed a line."""
    code = ("import signal, sys, time\n"
            + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "")
            + "print('ready', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, f"--user-data-dir={profile_arg}"],
                            stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_orphan_clean_up_ends_only_its_own_profile_and_kills_the_stubborn(tmp_path):
    profile = (tmp_path / "browser" / "monitor").resolve()
    mine = _stand_in(str(profile))
    stubborn = _stand_in(f"{profile}/", ignore_term=True)
    other = _stand_in(f"{profile}2")  # another program's profile that merely starts alike
    nested = _stand_in(f"{profile}/sub")
    try:
        assert sorted(browser.profile_processes(profile)) == sorted([mine.pid, stubborn.pid])
        assert sorted(browser.end_orphans(profile, grace_s=0.5)) == sorted([mine.pid,
                                                                            stubborn.pid])
        assert mine.wait(5) == -signal.SIGTERM
        assert stubborn.wait(5) == -signal.SIGKILL
        assert other.poll() is None and nested.poll() is None
        assert browser.profile_processes(profile) == []
    finally:
        for proc in (mine, stubborn, other, nested):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stdout.close()
