"""The sandbox bookmaker for tests: its app under uvicorn on a free 127.0.0.1 port in a thread
(LiveServer, login), its odds page parsed, and the real `betpipe bookmaker` program."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import httpx
import uvicorn

from pipeline.core.clock import anchor
from pipeline.core.config import SandboxConfig
from pipeline.core.filebus import atomic_write_json
from pipeline.core.paths import Home
from pipeline.core.timefmt import parse_iso
from pipeline.programs.bookmaker.app import create_app
from pipeline.programs.bookmaker.auth import Credentials, Sessions
from pipeline.programs.bookmaker.market import Market
from pipeline.programs.bookmaker.program import bets_path
from pipeline.programs.bookmaker.store import BetStore
from tests.kit.contracts import free_port
from tests.kit.poll import poll

ACCOUNT = Credentials("tester", "pw-9f1c-never-shown")


class LiveServer:
    """`with LiveServer(market, home, clock) as http:` — an httpx client on the running app.
    `wrap(app)` may put an ASGI layer around the app (a slow or broken network, say).

    A new LiveServer on the same home is a restarted sandbox: same bets and pools on disk, new
    (empty) login sessions.
    """

    def __init__(self, market: Market, home: Home, clock, *, config: SandboxConfig | None = None,
                 account: Credentials = ACCOUNT, log=None, wrap=lambda app: app):
        self.store = BetStore(bets_path(home))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(market, self.store, clock, config=config,
                              sessions=Sessions(account), log=log)
        config = uvicorn.Config(wrap(self.app), host="127.0.0.1", port=self.port,
                                log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        poll(lambda: self.server.started, 30, "uvicorn to start")
        self.client = httpx.Client(base_url=self.url, timeout=10)
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def login(http: httpx.Client, account: Credentials = ACCOUNT) -> httpx.Response:
    """Log the client in through the login form (its cookie jar keeps the session)."""
    return http.post("/login", data={"user": account.user, "password": account.password,
                                     "next": "/bets"}, follow_redirects=True)


class OddsPage(HTMLParser):
    """The monitor's view of /odds: sim-now and every tr.match with its cells."""

    def __init__(self, text: str):
        super().__init__()
        self.sim_now, self.rows, self._cell, self.in_matches = None, [], None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("name") == "sim-now":
            self.sim_now = a["content"]
        elif tag == "table":
            self.in_matches = a.get("id") == "matches"
        elif tag == "tr" and self.in_matches and a.get("class") == "match":
            self.rows.append({"attrs": a, "cells": []})
        elif tag == "td" and self.rows and self.in_matches:
            self._cell = {"class": a.get("class"), "sel": a.get("data-sel"), "text": ""}
            self.rows[-1]["cells"].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "table":
            self.in_matches = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def row(self, match_id: str) -> dict:
        [row] = [r for r in self.rows if r["attrs"]["data-id"] == match_id]
        return row


def start_bookmaker(home: Home, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "betpipe"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(cmd + ["bookmaker"], env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT)


def stop_bookmaker(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def get_ok(url: str):
    try:
        r = httpx.get(url, timeout=2)
        return r if r.status_code == 200 else None
    except httpx.HTTPError:
        return None


def write_home(home: Home, port: int, data: Path, start: str = "2019-08-09T18:30:00Z") -> None:
    anchor(home.clock, start=parse_iso(start), speed=1.0)
    atomic_write_json(home.system_config, {"sandbox": {"port": port, "data": str(data)}})
