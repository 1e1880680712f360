"""`betpipe ctl` against a real supervisord: the repository's supervisord.conf, byte for byte, on a
temporary home, its programs stood in by a stub `betpipe` (a shell that says its name and sleeps)
so the test starts no browser. supervisorctl talks to it through `betpipe ctl` / scripts/ctl."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.paths import REPO, Home
from pipeline.programs import PROGRAMS
from tests.kit.poll import poll
from tests.kit.programs import betpipe

@pytest.fixture
def supervised(tmp_path):
    """supervisord started on the repository's conf (copied beside a stub .venv/bin/betpipe)."""
    fake_repo = tmp_path / "repo"
    (fake_repo / ".venv" / "bin").mkdir(parents=True)
    shutil.copyfile(REPO / "supervisord.conf", fake_repo / "supervisord.conf")
    stub = fake_repo / ".venv" / "bin" / "betpipe"
    stub.write_text('#!/bin/sh\necho "stub $1 started"\nexec sleep 600\n')
    stub.chmod(0o755)
    home = Home(Path(os.path.realpath(tmp_path / "home"))).ensure()
    env = dict(os.environ, BETPIPE_HOME=str(home.root), BETPIPE_SOCK=str(home.socket))
    supervisord = Path(sys.executable).parent / "supervisord"
    subprocess.run([str(supervisord), "-c", str(fake_repo / "supervisord.conf")], env=env,
                   check=True, timeout=60)
    pid = int(poll(lambda: (home.data / "supervisord.pid").is_file()
                   and (home.data / "supervisord.pid").read_text().strip(), 30,
                   "supervisord's pid file", log=home.logs))
    try:
        yield home
    finally:
        betpipe(home, "ctl", "shutdown")
        poll(lambda: not Path(f"/proc/{pid}").exists(), 60, "supervisord to exit")


def statuses(home: Home) -> dict[str, tuple[str, str]]:
    out = betpipe(home, "ctl", "status").stdout
    return {m[0]: (m[1], m[2]) for m in re.findall(r"^betpipe:(\w+)\s+(\w+)\s+(pid \d+)?", out, re.M)}


def test_ctl_status_restart_and_tail_reach_this_homes_supervisord(supervised):
    home = supervised
    running = poll(lambda: (s := statuses(home)) and all(v[0] == "RUNNING" for v in s.values())
                   and len(s) == len(PROGRAMS) and s, 30, "every program RUNNING",
                   log=lambda: betpipe(home, "ctl", "status").stdout)
    assert set(running) == set(PROGRAMS)
    before = running["decide"][1]
    out = betpipe(home, "ctl", "restart", "decide")
    assert out.returncode == 0, out.stderr
    assert "betpipe:decide: started" in out.stdout
    after = statuses(home)
    assert after["decide"][0] == "RUNNING" and after["decide"][1] != before
    assert after["execute"][1] == running["execute"][1]  # the others untouched
    tail = betpipe(home, "ctl", "tail", "execute")
    assert "stub execute started" in tail.stdout


def test_scripts_ctl_is_the_same_command(supervised):
    env = dict(os.environ, BETPIPE_HOME=str(supervised.root))
    out = subprocess.run([str(REPO / "scripts" / "ctl"), "status", "monitor"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert re.search(r"^betpipe:monitor\s+(RUNNING|STARTING)", out.stdout, re.M), out


def test_ctl_without_a_supervisord_says_so_and_fails(tmp_path):
    home = Home(tmp_path / "nohome").ensure()
    out = betpipe(home, "ctl", "status")
    assert out.returncode != 0
    assert "no such file" in (out.stdout + out.stderr).lower()
