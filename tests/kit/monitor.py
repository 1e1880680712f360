"""The monitor under test: odds pages in the sandbox's format and a server answering with them,
the real `betpipe monitor` in a subprocess, and the browser processes of its profile."""
from __future__ import annotations

import html
import os
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import orjson

from pipeline.core.clock import anchor
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.paths import REPO, Home
from pipeline.core.timefmt import parse_iso
from tests.kit.http import Quiet, only, reply, serve

BETPIPE = REPO / ".venv" / "bin" / "betpipe"
START = parse_iso("2019-08-09T18:30:00Z")
DASH = "\u2013"


# --------------------------------------------------------------------------- pages

def match_row(ident, home, away, kickoff, prices=(DASH, DASH, DASH), status="scheduled",
              score="", season="2019-20") -> str:
    cells = "".join(f'<td class="price" data-sel="{sel}">{html.escape(p)}</td>'
                    for sel, p in zip(("home", "draw", "away"), prices))
    return (f'<tr class="match" data-id="{ident}" data-competition="EPL" data-season="{season}" '
            f'data-kickoff="{kickoff}" data-status="{status}"><td class="kickoff">{kickoff[11:16]}'
            f'</td><td class="home">{html.escape(home)}</td><td class="away">{html.escape(away)}'
            f'</td>{cells}<td class="score">{score}</td></tr>')


def odds_page(rows: list[str], sim_now: str = "2019-08-09T18:30:00Z") -> bytes:
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="sim-now" '
            f'content="{sim_now}"><title>Odds</title></head><body><h1>Odds</h1>'
            f'<table id="matches"><thead><tr><th>Kick-off</th><th>Home</th><th>Away</th>'
            f'<th>1</th><th>X</th><th>2</th><th>Score</th></tr></thead><tbody>{"".join(rows)}'
            f'</tbody></table></body></html>').encode()


def good_rows(liverpool_home="1.14") -> list[str]:
    return [
        match_row("E0_2018-19.csv:379", "Brighton", "Man City", "2019-05-12T14:00:00Z",
                  status="finished", score="1-4", season="2018-19"),
        match_row("E0_2019-20.csv:0", "Liverpool", "Norwich", "2019-08-09T19:00:00Z",
                  (liverpool_home, "9.50", "19.00")),
        match_row("E0_2019-20.csv:1", "West Ham", "Man City", "2019-08-10T11:30:00Z",
                  ("12.00", "6.50", "abc")),  # a bad price: odds null, match kept
        match_row("E0_2019-20.csv:9", "Man United", "Chelsea", "2019-08-11T15:30:00Z"),
    ]


NO_TABLE = b'<!doctype html><html><body><div id="maintenance">Back soon</div></body></html>'
# garbled: an empty table on a page without its sim-now meta (an empty table on a well-formed
# page is a legitimate "no fixtures": tests/monitor/test_faults.py)
EMPTY_TABLE = odds_page([]).replace(b'<meta name="sim-now" content="2019-08-09T18:30:00Z">', b"")


class PageServer:
    """`GET /odds` answers with whatever page the test set last; counts what it served."""

    def __init__(self, page: bytes):
        self.page, self.name = page, "initial"
        self.served: Counter = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(Quiet):
            def do_GET(self):
                if not only(self, "/odds"):
                    return
                with server._lock:
                    body, name = server.page, server.name
                    server.served[name] += 1
                reply(self, body, "text/html; charset=utf-8")

        self.httpd = serve(Handler)
        self.port = self.httpd.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, name: str, page: bytes) -> None:
        with self._lock:
            self.page, self.name = page, name

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------- the program

def profile_pids(home: Home) -> list[int]:
    """Processes whose command line names this home's monitor profile (read from /proc here,
    independently of the module under test)."""
    profile = str(home.profile_dir("monitor").resolve())
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"--user-data-dir={profile} " in cmd + " ":
            pids.append(int(entry))
    return pids


class Program:
    def __init__(self, home: Home, log: Path):
        self.home, self.log_path = home, log
        self._out = open(log, "wb")
        env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([str(BETPIPE), "monitor"], env=env, cwd=REPO,
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def poll(self):
        return self.proc.poll()

    def lines(self) -> list[dict]:
        out = []
        for raw in self.log_path.read_bytes().splitlines():
            if raw.startswith(b"{"):
                out.append(orjson.loads(raw))
        return out

    def events(self, name: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == name]

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()
        for pid in profile_pids(self.home):  # browsers this test started, through the monitor
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def setup_home(home: Home, url: str, interval_s: float = 30, kind: str = "sandbox") -> None:
    anchor(home.clock, start=START, speed=60)
    atomic_write_json(home.system_config,
                      {"source": {"kind": kind, "url": url, "interval_s": interval_s}})


def odds(home: Home) -> dict | None:
    return read_snapshot(home.odds)


def health(home: Home) -> dict | None:
    return read_snapshot(home.health("monitor"))


def by_key(doc: dict) -> dict:
    return {m["key"]: m for m in doc["matches"]}


# --------------------------------------------------------------------------- tests


def browser_main_pid(home: Home) -> int:
    """The browser process itself: its command line is not rewritten and has no --type=."""
    mains = [pid for pid in profile_pids(home)
             if b"--type=" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(mains) == 1, mains
    return mains[0]
