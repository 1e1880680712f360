"""Serving a Starlette app from a program on 127.0.0.1 with uvicorn, the Runtime in charge.

`bind` retries a taken port (health failing, naming the config key) until it listens or a stop
is asked for; `serve` runs uvicorn on that socket with the Runtime's signal handlers (not
uvicorn's), calls `tick()` every couple of real seconds (config reload, health fields) and ends
the server, letting requests in flight finish, once SIGTERM arrives.
"""
from __future__ import annotations

import contextlib
import socket
import threading
from typing import Callable

import uvicorn

from pipeline.core.runtime import Runtime

HOST = "127.0.0.1"
RETRY_PORT_REAL_S = 2.0
TICK_REAL_S = 2.0


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the Runtime's handlers stay in charge."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def bind(rt: Runtime, port: int, setting: str) -> socket.socket | None:
    """A listening socket on 127.0.0.1:port; None when stopped before it could bind."""
    while not rt.stopping.is_set():
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it every answer waited ~40 ms for a delayed ACK (Nagle)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
            sock.listen(128)
            sock.set_inheritable(True)
            return sock
        except OSError as e:
            sock.close()
            rt.fail(f"cannot listen on {HOST}:{port} (config {setting}): {e}")
            rt.wait(RETRY_PORT_REAL_S)
    return None


def uvicorn_config(app) -> uvicorn.Config:
    """No access log, and uvicorn's own records (warnings and up) through the program's JSON
    log (`log_config=None`: uvicorn installs no plain-text handlers of its own)."""
    return uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                          log_config=None)


def serve(rt: Runtime, app, sock: socket.socket, tick: Callable[[], None]) -> None:
    """Serve `app` on `sock` until a stop is asked for; `tick()` runs every TICK_REAL_S."""
    server = QuietServer(uvicorn_config(app))

    def watch() -> None:
        while not rt.wait(TICK_REAL_S):
            tick()
        server.should_exit = True

    threading.Thread(target=watch, name=f"{rt.program}-watch", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
