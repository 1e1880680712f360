"""The real `betpipe dashboard` program: waits for a taken port (health says which setting),
serves the home, and ends cleanly on SIGTERM."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request

import orjson

from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.paths import REPO
from tests.kit.contracts import assert_contract, free_port
from tests.kit.poll import poll



def _health(home):
    try:
        return read_json(home.health("dashboard"))
    except (FileNotFoundError, ValueError):
        return None


def test_program_waits_for_its_port_serves_and_stops(filled):
    port = free_port()
    cfg = read_json(filled.system_config)
    cfg["dashboard"]["port"] = port
    atomic_write_json(filled.system_config, cfg)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    env = {**os.environ, "BETPIPE_HOME": str(filled.root)}
    proc = subprocess.Popen([str(REPO / ".venv/bin/betpipe"), "dashboard"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        doc = poll(lambda: (h := _health(filled)) and h["state"] == "failing" and h, 60, "failing")
        assert "config dashboard.port" in doc["last_error"] and str(port) in doc["last_error"]
        blocker.close()
        poll(lambda: (h := _health(filled)) and h.get("url") and h["state"] == "ok", 60, "serving")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=10) as r:
            state = orjson.loads(r.read())
        assert state["open_bets"][0]["bet_ref"] == "P-2"
        assert_contract("health", _health(filled))
    finally:
        blocker.close()
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, out
    assert _health(filled)["stopped"] is True
    assert [orjson.loads(line)["event"] for line in out.splitlines()][-1] == "stopped"
