"""Small builders shared by the executor and tracker tests: plain documents, real files."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import orjson

from pipeline.core.config import Config
from pipeline.core.paths import REPO, Home
from pipeline.core.timefmt import iso, parse_iso

BETPIPE = str(REPO / ".venv" / "bin" / "betpipe")
T0 = "2024-10-05T12:00:00Z"
KICKOFF = "2024-10-05T14:00:00Z"
KEY = "2024-25_Southampton v Arsenal"


def at(seconds: float, base: str = T0) -> str:
    return iso(parse_iso(base) + timedelta(seconds=seconds))


def match(key: str = KEY, *, status: str = "scheduled", odds=(3.1, 3.4, 2.1),
          seen_at: str | None = T0, result=None, kickoff: str = KICKOFF) -> dict:
    home, away = key.split("_", 1)[1].split(" v ")
    m = {"key": key, "season": "2024-25", "competition": "EPL", "home": home, "away": away,
         "kickoff": kickoff, "status": status,
         "odds": dict(zip(("home", "draw", "away"), odds)) if odds else None, "result": result}
    if seen_at:
        m["seen_at"] = seen_at
    return m


def odds_doc(*matches: dict, version: int = 1, fetched_at: str = T0) -> dict:
    return {"version": version, "written_at": fetched_at, "source": "sandbox",
            "fetched_at": fetched_at, "matches": list(matches) or [match()]}


def decision(key: str = KEY, *, session: str = "s1", selection: str = "away", odds: float = 2.1,
             min_odds: float = 2.05, stake: float = 10.0, expires_at: str = at(3600)) -> dict:
    return {"id": f"{session}|{key}|1X2", "session": session, "match_key": key, "market": "1X2",
            "selection": selection, "odds": odds, "odds_at": T0, "min_odds": min_odds,
            "stake": stake, "reason": "test", "created_at": T0, "expires_at": expires_at}


def decisions_doc(*decisions: dict, version: int = 1) -> dict:
    return {"version": version, "written_at": T0, "odds_version": 1, "config_version": 1,
            "decisions": list(decisions)}


def config_doc(*, limits: dict | None = None, bankroll: float = 1000, max_odds_age_s: float = 300,
               sessions: list[str] = ("s1",), **top) -> dict:
    return {"mode": "paper", "max_odds_age_s": max_odds_age_s,
            "sessions": [{"id": sid, "selection": "away", "bankroll": bankroll,
                          "staking": {"plan": "flat", "stake": 10}, "limits": limits or {}}
                         for sid in sessions], **top}


def config(**kw) -> Config:
    return Config.model_validate(config_doc(**kw))


def ledger_events(home: Home) -> list[dict]:
    if not home.ledger.exists():
        return []
    return [orjson.loads(line) for line in home.ledger.read_bytes().splitlines() if line.strip()]


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def poll(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None,
         log: Path | None = None):
    """Poll `predicate` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def start_program(program: str, home: Home, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
    out = open(log, "ab")
    return subprocess.Popen([BETPIPE, program], env=env, stdout=out, stderr=subprocess.STDOUT)


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
