"""The whole pipeline under the real supervisord.conf, started and stopped by the README's own
scripts on a temporary home with a fast clock: a bet flows from the sandbox's web page through
the files to a settled result, and every file it writes keeps the contracts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.ledger import Ledger
from pipeline.core.clock import FakeClock
from pipeline.core.paths import REPO, Home
from tests.kit.contracts import assert_contract, free_port, SHARED
from tests.kit.e2e import e2e_config
from tests.kit.poll import poll

pytestmark = pytest.mark.e2e


def run(cmd: list[str], home: Home, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def events(home: Home) -> list[dict]:
    return Ledger(home.ledger, FakeClock("2000-01-01T00:00:00Z")).records()  # the lines



def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:160]}")
    return found


@pytest.fixture
def pipeline_home(tmp_path):
    home = Home(tmp_path / "home").ensure()
    atomic_write_json(home.system_config, e2e_config(free_port(), free_port()))
    yield home
    run(["scripts/stop"], home, timeout=120)  # whatever the test did, leave nothing behind


def test_scripts_start_a_pipeline_that_places_and_settles_a_bet(pipeline_home):
    home = pipeline_home
    started = run(["scripts/start"], home)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "/odds" in started.stdout and "scripts/stop" in started.stdout

    placed = poll(lambda: [e for e in events(home) if e["type"] == "BET_PLACED"], 120,
                  "a BET_PLACED", log=home.logs, every=0.25)
    # Liverpool v Norwich (19:00) settles ~40 real s in when the programs are up within 18 real
    # s; a loaded machine may miss it, and then the next day's first match settles ~250 s in
    settled = poll(lambda: [e for e in events(home) if e["type"] == "BET_SETTLED"], 420,
                   "a BET_SETTLED", log=home.logs, every=0.25)
    assert placed[0]["decision_id"].startswith("fav-week|2019-20_")
    assert settled[0]["outcome"] in ("won", "lost", "void")

    status = run([str(REPO / ".venv/bin/betpipe"), "status", "--json"], home)
    info = orjson.loads(status.stdout)
    assert all(p["liveness"] == "running" for p in info["programs"].values()), info["programs"]
    assert info["sessions"]["fav-week"]["bets"] >= 1

    # every file written keeps its contract; the shared checker holds invariants 1-3
    assert_contract("odds-data", read_json(home.odds))
    assert_contract("decisions", read_json(home.decisions))
    assert_contract("results", poll(lambda: home.results.exists() and read_json(home.results),
                                    30, "results.json", log=home.logs, every=0.25))
    assert_contract("clock", read_json(home.clock))
    for hp in home.health_dir.glob("*.json"):
        assert_contract("health", read_json(hp))
    check = run([sys.executable, str(SHARED / "tools" / "check-home.py"), str(home.root),
                 "--need-placed", "1", "--need-settled", "1"], home)
    assert check.returncode == 0, check.stdout

    pids = [read_json(hp)["pid"] for hp in home.health_dir.glob("*.json")]
    stopped = run(["scripts/stop"], home, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert [p for p in pids if Path(f"/proc/{p}").exists()] == []
    assert processes_mentioning(str(home.root)) == []  # programs and browsers all gone
    clock = read_json(home.clock)
    assert clock.get("stopped_at"), clock
    after = orjson.loads(run([str(REPO / ".venv/bin/betpipe"), "status", "--json"], home).stdout)
    assert (after["state"], after["sim_now"]) == ("stopped", clock["stopped_at"])  # stands still
    assert {p["liveness"] for p in after["programs"].values()} == {"stopped"}, after["programs"]
    check = run([sys.executable, str(SHARED / "tools" / "check-home.py"), str(home.root),
                 "--need-placed", "1", "--need-settled", "1"], home)
    assert check.returncode == 0, check.stdout  # the home the run leaves, stopped
