"""Fixtures shared by every test, and the two tiers.

`slow`: a test that starts a subprocess, a browser, supervisord or a real program's server. It is
set here, automatically (tests/kit/tiers.py): by folder (tests/e2e, tests/soak), and by what the
test's code reaches — its function, its fixtures, its parameters and the helpers of tests/ they
use, followed through their code — when that names a way to start a process (SPAWNERS). So a new
test that uses start_monitor, kit.programs.start_program or subprocess is slow without a word.
`scripts/test --fast` runs `-m "not slow"` with BETPIPE_TEST_FAST=1, and there a test that starts
a process anyway fails at once: "... needs the slow marker".
"""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from pipeline.browser.launch import ARGS, find_chromium
from pipeline.core.paths import Home
from tests.kit.homes import fill
from tests.kit.http import Recorder
from tests.kit.monitor import PageServer, Program, good_rows, odds_page
from tests.kit.tiers import FAST, classify, forbid_processes


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts a subprocess, a browser, supervisord or a "
                                       "server (set automatically; tests/conftest.py)")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if classify(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fast_tier_guard(request, monkeypatch):
    """In the fast tier, starting a process is an error naming the test (it needs `slow`)."""
    if FAST and request.node.get_closest_marker("slow") is None:
        forbid_processes(monkeypatch, request.node.nodeid)
    yield


@pytest.fixture
def home(tmp_path) -> Home:
    """A fresh temporary BETPIPE_HOME with its folders."""
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def filled(home):
    """`home` with every file the dashboard reads (tests/kit/homes.py)."""
    fill(home)
    return home


@pytest.fixture
def recorder():
    """`recorder(script=())`: a new webhook Recorder (tests/kit/http.py), closed after the test."""
    made = []

    def make(script=()):
        made.append(Recorder(script))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def pages():
    """A PageServer answering GET /odds with the good page (tests/kit/monitor.py)."""
    server = PageServer(odds_page(good_rows()))
    yield server
    server.close()


@pytest.fixture
def start_monitor(home, tmp_path):
    """`start_monitor()`: a real `betpipe monitor` on `home`; every one killed (with its
    browsers) after the test."""
    started = []

    def start():
        program = Program(home, tmp_path / f"monitor-{len(started)}.log")
        started.append(program)
        return program

    yield start
    for program in started:
        program.kill()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (playwright) for the tests of one module."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=ARGS, headless=True)
        yield b
        b.close()


