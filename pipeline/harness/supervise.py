"""The whole pipeline under the repository's supervisord.conf on one home, driven over its unix
socket: what the scripts that run it whole (scripts/chaos, scripts/soak) and their tests share —
start, the programs' pids, a clean stop with nothing in flight, the processes a home left."""
from __future__ import annotations

import socket
import subprocess
import time
import xmlrpc.client
from pathlib import Path

import psutil
from supervisor.xmlrpc import SupervisorTransport

from pipeline.core.filebus import read_json
from pipeline.core.paths import REPO, Home
from pipeline.harness import invariants

VENV = REPO / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pipeline:
    """supervisord with the repository's supervisord.conf on one home, driven over its socket."""

    def __init__(self, home: Home, env: dict):
        self.home, self.env = home, env
        transport = SupervisorTransport(None, None, f"unix://{home.socket}")
        self.rpc = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, cwd=REPO, capture_output=True, text=True,
                              timeout=120)

    def start(self) -> None:
        self.run(str(VENV / "betpipe"), "clock", "anchor")
        out = self.run(str(VENV / "supervisord"), "-c", str(REPO / "supervisord.conf"))
        if out.returncode != 0:
            raise RuntimeError(f"supervisord did not start: {out.stderr or out.stdout}")

    def processes(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.rpc.supervisor.getAllProcessInfo()}

    def beat(self, program: str) -> dict:
        try:
            return read_json(self.home.health(program))
        except (OSError, ValueError):
            return {}

    def all_running(self, timeout: float) -> bool:
        """Every program RUNNING under supervisord with a beat of its current pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                procs = self.processes()
            except (OSError, xmlrpc.client.Fault):
                procs = {}
            if procs and all(p["statename"] == "RUNNING" and self.beat(n).get("pid") == p["pid"]
                             for n, p in procs.items()):
                return True
            time.sleep(0.2)
        return False

    def shutdown(self) -> None:
        pidfile = self.home.data / "supervisord.pid"
        try:
            pid = int(pidfile.read_text())
            self.rpc.supervisor.shutdown()
        except (OSError, ValueError, xmlrpc.client.Fault):
            return
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and psutil.pid_exists(pid):
            time.sleep(0.2)
        self.run(str(VENV / "betpipe"), "clock", "stop")


def quiesce(pipe: Pipeline, log) -> list[str]:
    """Stop the executor cleanly with no intent left in flight (it reconciles at start)."""
    for _ in range(5):
        pipe.rpc.supervisor.stopProcess("betpipe:execute", True)
        left = invariants.unresolved(pipe.home)
        if not left:
            return []
        log(f"{len(left)} intents in flight after stopping execute: starting it again")
        pipe.rpc.supervisor.startProcess("betpipe:execute", True)
        deadline = time.monotonic() + 30
        while invariants.unresolved(pipe.home) and time.monotonic() < deadline:
            time.sleep(0.2)
    return invariants.unresolved(pipe.home)


def _ancestors() -> set[int]:
    """This process and its ancestors (never counted as a home's)."""
    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.parents())}


def home_processes(root: Path) -> dict[int, str]:
    """Processes of the home at `root`, pid -> command line: programs and supervisord
    (BETPIPE_HOME=<root> in their environment) and browsers (a profile under <root>/data on
    their command line); never this process or its ancestors."""
    data_mark = f"{root}/data/"
    mine, out = _ancestors(), {}
    for proc in psutil.process_iter(["cmdline", "environ"]):
        if proc.pid in mine:
            continue
        cmd = " ".join(proc.info["cmdline"] or ())
        if (proc.info["environ"] or {}).get("BETPIPE_HOME") == str(root) or data_mark in cmd:
            out[proc.pid] = cmd
    return out


def leftovers(home: Home) -> list[str]:
    """Processes of this home still alive, as `pid: command line` (see home_processes)."""
    shown = {pid: cmd[:120] for pid, cmd in home_processes(home.root).items()}
    return [f"{pid}: {cmd}" for pid, cmd in sorted(shown.items())]
