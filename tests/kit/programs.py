"""The real programs in subprocesses (the installed `betpipe` entry point), their health files and
JSON log lines; the CLI; a Logger that records instead of printing."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import orjson

from pipeline.bookmakers.paper import record_path
from pipeline.core.ledger import Ledger
from pipeline.core.log import Logger
from pipeline.core.paths import REPO, Home
from pipeline.programs.execute.engine import Executor

BETPIPE = str(REPO / ".venv" / "bin" / "betpipe")


def start_program(program: str, home: Home, log: Path, env: dict | None = None) -> subprocess.Popen:
    """`betpipe PROGRAM` on `home`, unbuffered, its output appended to `log`; `env` adds to the
    environment (credentials, URLs)."""
    full = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1", **(env or {})}
    out = open(log, "ab")
    return subprocess.Popen([BETPIPE, program], env=full, stdout=out, stderr=subprocess.STDOUT)


def stop_program(proc: subprocess.Popen, timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise


def health(home: Home, program: str) -> dict:
    try:
        return orjson.loads(home.health(program).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}


def log_lines(log: Path) -> list[dict]:
    out = []
    for line in log.read_bytes().splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pass
    return out


def betpipe(home: Home | Path | None, *args: str, env: dict | None = None, check: bool = False,
            timeout: float = 120, **run) -> subprocess.CompletedProcess:
    """`betpipe ARGS` on `home` (None: whatever BETPIPE_HOME the environment has), wide
    (COLUMNS=250), run from the repository, its output captured as text. `env` adds to the
    environment; `check` asserts exit 0 (showing stderr); other keywords (input=...) go to
    subprocess.run."""
    full = {**os.environ, "COLUMNS": "250"}
    if home is not None:
        full["BETPIPE_HOME"] = str(home.root if isinstance(home, Home) else home)
    r = subprocess.run([BETPIPE, *args], env={**full, **(env or {})}, capture_output=True,
                       text=True, timeout=timeout, cwd=str(REPO), **run)
    if check:
        assert r.returncode == 0, r.stderr
    return r


class Quiet(Logger):
    """A Logger that keeps its lines (level, event, fields) in `.lines` instead of printing."""

    def _emit(self, level, event, fields):
        self.lines = getattr(self, "lines", []) + [(level, event, fields)]


def paper_records(home: Home) -> list[dict]:
    """The paper bookmaker's record of the bets it took (empty before the first)."""
    path = record_path(home)
    return [orjson.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


def executor(home: Home, clock, bookmaker) -> Executor:
    """An in-process Executor on `home`'s ledger that logs to a Quiet logger."""
    return Executor(Ledger(home.ledger, clock), bookmaker, clock, Quiet("execute"))
