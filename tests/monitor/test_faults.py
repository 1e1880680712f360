"""Fault tests: the real `betpipe monitor` (real Chromium) against a sandbox-format page server
that stops answering (closed port; a port that accepts but never answers), answers slowly,
changes its layout, serves a page whose script never yields, or whose browser is killed. The
monitor recovers by itself, never writes a bad snapshot, and its health says what happened.
An empty table on a well-formed page is a legitimate "no fixtures": an empty snapshot."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import pytest

from pipeline.core.clock import anchor
from pipeline.core.filebus import BadFile, atomic_write_json, read_snapshot
from pipeline.core.paths import Home
from pipeline.browser.launch import find_chromium
from tests.kit.contracts import assert_contract, contract_errors, free_port
from tests.kit.http import only, Quiet, reply, serve
from tests.kit.monitor import (browser_main_pid, by_key, good_rows, health, odds, odds_page,
                               profile_pids, START)
from tests.kit.poll import poll

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")

GOOD_KEYS = {"2018-19_Brighton v Manchester City", "2019-20_Liverpool v Norwich",
             "2019-20_West Ham v Manchester City", "2019-20_Manchester United v Chelsea"}
LAYOUT_CHANGED = odds_page(good_rows()).replace(b'id="matches"', b'id="fixtures"')
# a page whose script never yields once the reader looks: page.evaluate blocks for good
NEVER_YIELDS = odds_page(good_rows()).replace(
    b"</body>", b"<script>document.querySelector = () => { for (;;) {} };</script></body>")


class FaultServer:
    """`GET /odds` with a behaviour the test sets: a page, a delay, or no answer at all
    ("hang": the connection is accepted and the request read, never answered). `close()` and
    `reopen()` take the port away and give it back."""

    def __init__(self):
        self.port = free_port()
        self.lock = threading.Lock()
        self.page, self.mode, self.delay_s = odds_page(good_rows()), "good", 0.0
        self.served: Counter = Counter()
        self.release = threading.Event()  # ends every hanging request at teardown
        self.httpd = None
        self.reopen()

    def reopen(self) -> None:
        server = self

        class Handler(Quiet):
            def do_GET(self):
                if not only(self, "/odds"):
                    return
                with server.lock:
                    page, mode, delay = server.page, server.mode, server.delay_s
                    server.served[mode] += 1
                if mode == "hang":
                    server.release.wait(120)
                    return
                if delay:
                    server.release.wait(delay)
                reply(self, page, "text/html; charset=utf-8")

        self.httpd = serve(Handler, self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: str, page: bytes | None = None, delay_s: float = 0.0) -> None:
        with self.lock:
            self.mode, self.delay_s = mode, delay_s
            self.page = page if page is not None else odds_page(good_rows())

    def close(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
def server():
    s = FaultServer()
    yield s
    s.release.set()
    s.close()


class Snapshots:
    """Reads odds-data.json every few ms on a thread; keeps every distinct version it saw."""

    def __init__(self, home: Home):
        self.home, self.seen, self.bad = home, {}, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.01):
            try:
                doc = read_snapshot(self.home.odds)
            except BadFile as e:
                self.bad.append(str(e))
                continue
            if doc and doc["version"] not in self.seen:
                self.seen[doc["version"]] = doc

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(5)
        return self.seen


def setup(home: Home, url: str, interval_s: float = 30, timeout_s: float = 2) -> None:
    anchor(home.clock, start=START, speed=60)  # 30 simulated seconds = half a real second
    atomic_write_json(home.system_config, {"source": {"kind": "sandbox", "url": url,
                                                      "interval_s": interval_s,
                                                      "timeout_s": timeout_s}})


def degraded_with(home: Home, *words: str):
    h = health(home)
    return h if h and h["state"] == "degraded" and all(w in (h["last_error"] or "")
                                                       for w in words) else None


def fault_then_recovery(home, server, program, mode, page, words, timeout=40):
    """Set the fault; the snapshot stands while health degrades with `words`; then the good
    page: a new version and health ok again. Returns the degraded health document."""
    server.set(mode, page)
    poll(lambda: server.served[mode] >= 1, 20, f"the {mode} page asked for", program)
    good = home.odds.read_bytes()  # polls are sequential: the one before has written already
    bad = poll(lambda: degraded_with(home, *words), timeout, f"degraded by {mode}", program)
    assert_contract("health", bad)
    assert home.odds.read_bytes() == good  # the last good snapshot stands
    good = odds(home)
    server.set("good")
    poll(lambda: odds(home)["version"] > good["version"], 30, f"a poll after {mode}", program)
    poll(lambda: health(home)["state"] == "ok", 15, f"health ok after {mode}", program)
    return bad


def check_snapshots(seen: dict, allow_empty: bool = False) -> None:
    assert seen, "no snapshot seen"
    for version, doc in seen.items():
        assert contract_errors("odds-data", doc) == [], version
        keys = set(by_key(doc))
        assert keys == GOOD_KEYS or (allow_empty and keys == set()), (version, keys)


def test_outages_the_source_stops_answering_or_never_answers(home, server, start_monitor):
    setup(home, server.url)
    snapshots = Snapshots(home)
    program = start_monitor()
    poll(lambda: odds(home), 60, "the first snapshot", program)

    # the server goes away: connection refused, retried with backoff, circuit opens
    server.close()
    down = poll(lambda: degraded_with(home, "circuit open", "ERR_CONNECTION_REFUSED"), 40,
                    "degraded while the port is closed", program)
    assert down["failures"] >= 5 and down["circuit"] == "open"
    last = odds(home)
    server.reopen()
    poll(lambda: odds(home)["version"] > last["version"], 30, "polls after reopening",
             program)
    poll(lambda: health(home)["state"] == "ok", 15, "health ok after reopening", program)
    assert program.events("monitor.source_back")

    # a port that accepts and never answers: the navigation times out (source.timeout_s 2)
    hung = fault_then_recovery(home, server, program, "hang", None, ("circuit open", "Timeout"))
    assert hung["last_failure"].startswith("TimeoutError")
    assert any(e["reason"].startswith("TimeoutError") for e in program.events("poll.failed"))
    assert program.events("browser.recycled")  # a timed-out page may be wedged: a new browser
    assert program.stop() == 0
    check_snapshots(snapshots.stop())
    assert snapshots.bad == []
    assert profile_pids(home) == []


def test_slow_answers_changed_layout_empty_table_hung_page_and_a_killed_browser(
        home, server, start_monitor):
    setup(home, server.url, timeout_s=3)
    snapshots = Snapshots(home)
    program = start_monitor()
    first = poll(lambda: odds(home), 60, "the first snapshot", program)

    # slow answers (1.2 s for a poll wanted every 0.5 s): polls go on, the interval stretches
    server.set("slow", delay_s=1.2)
    poll(lambda: program.events("monitor.interval_stretched"), 20, "the stretch", program)
    slow = poll(lambda: (h := health(home)) and (h["last_poll_ms"] or 0) >= 1200
                    and (h["interval_real_s"] or 0) >= 1.2 and h, 20,
                    "health showing the slow polls and the stretched interval", program)
    assert slow["state"] == "ok"
    assert odds(home)["version"] > first["version"]
    server.set("good")

    # the layout changed: no table#matches, the last good snapshot stands
    changed = fault_then_recovery(home, server, program, "layout", LAYOUT_CHANGED,
                                  ("circuit open", "no table#matches"))
    assert changed["counters"]["errors"] >= 5

    # an empty table on a well-formed page: no fixtures now (the summer break) is written
    before = odds(home)
    server.set("empty", odds_page([]))
    empty = poll(lambda: (d := odds(home)) and d["version"] > before["version"]
                     and d["matches"] == [] and d, 20, "an empty snapshot", program)
    assert_contract("odds-data", empty)
    assert health(home)["state"] == "ok"
    server.set("good")
    poll(lambda: len(odds(home)["matches"]) == 4, 20, "the matches back", program)

    # a page whose script never yields: page.evaluate blocks; the guard ends the browser
    server.set("never-yields", NEVER_YIELDS)
    stuck = poll(lambda: degraded_with(home, "hung"), 40, "degraded by the hung page",
                     program)
    assert program.events("poll.hung")
    assert stuck["counters"]["errors"] >= 1
    server.set("good")
    poll(lambda: health(home)["state"] == "ok", 40, "health ok after the hung page", program)
    relaunched = poll(lambda: (n := health(home)["browser_launches"]) >= 2 and n, 10,
                          "health counting the new browser", program)

    # the browser is killed from outside: a new one, the snapshots go on
    version = odds(home)["version"]
    os.kill(browser_main_pid(home), signal.SIGKILL)
    poll(lambda: (health(home)["browser_launches"] or 0) > relaunched, 30,
             "health counting the relaunch", program)
    poll(lambda: odds(home)["version"] > version + 1, 20, "polls after the kill", program)
    assert health(home)["state"] == "ok"

    # SIGTERM while a poll hangs: the guard ends the browser, the program exits in time
    server.set("never-yields", NEVER_YIELDS)
    poll(lambda: server.served["never-yields"] >= 2, 30, "the hung page loaded again",
             program)
    started = time.monotonic()
    assert program.stop(timeout=20) == 0
    assert time.monotonic() - started < 15
    assert profile_pids(home) == []
    check_snapshots(snapshots.stop(), allow_empty=True)
    assert snapshots.bad == []
