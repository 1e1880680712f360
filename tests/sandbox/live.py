"""The real sandbox app under uvicorn on a free 127.0.0.1 port, in a thread, for tests."""
from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from pipeline.core.config import SandboxConfig
from pipeline.core.paths import Home
from pipeline.programs.bookmaker.app import create_app
from pipeline.programs.bookmaker.auth import Credentials, Sessions
from pipeline.programs.bookmaker.market import Market
from pipeline.programs.bookmaker.program import bets_path
from pipeline.programs.bookmaker.store import BetStore
from tests.helpers import free_port

ACCOUNT = Credentials("tester", "pw-9f1c-never-shown")


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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
        wait_for(lambda: self.server.started, what="uvicorn to start")
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
