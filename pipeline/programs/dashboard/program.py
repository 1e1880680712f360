"""The `dashboard` program (`betpipe dashboard`): the operator's web view on 127.0.0.1.

Start-up: beat health at once, wait for the clock anchor and a valid config (Runtime), bind
`dashboard.port` (retrying while it is taken; a new port needs a restart), then serve with
uvicorn until SIGTERM. It reads every file of the home and writes nothing but
system-config.json (a session switched on/off with the token, recorded in data/audit.jsonl).
"""
from __future__ import annotations

import os

from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home, football_data_dir
from pipeline.core.runtime import Runtime
from pipeline.core.webserve import HOST, bind, serve
from pipeline.programs.dashboard.app import create_app
from pipeline.programs.dashboard.configedit import TOKEN_ENV
from pipeline.programs.dashboard.drillview import DrillModel

PROGRAM = "dashboard"


def main(home: Home | None = None) -> int:
    rt = Runtime(PROGRAM, home)
    try:
        if not rt.start():
            return 0
        port = rt.config.dashboard.port
        sock = bind(rt, port, "dashboard.port")
        if sock is None:
            return 0
        drill = DrillModel(football_data_dir(rt.home, rt.config.sandbox.data), load_tables(rt.home))
        app = create_app(rt.home, rt.clock, drill=drill, log=rt.log)

        def tick() -> None:  # keep health honest; say when a new port waits for a restart
            if rt.reload_config() and rt.config.dashboard.port != port:
                rt.log.warning("dashboard.port_changed", serving=port,
                               configured=rt.config.dashboard.port, needs="a restart")
            rt.recover()

        url = f"http://{HOST}:{port}"
        writes = bool(os.environ.get(TOKEN_ENV))
        rt.health.info.update(url=url, writes=writes)
        rt.recover()  # clears a busy-port failure
        rt.health.beat()
        rt.log.info("dashboard.listening", url=url, writes=writes, drill_data=str(drill.folder))
        serve(rt, app, sock, tick)
        return 0
    finally:
        rt.close()
