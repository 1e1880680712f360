"""The jq recipes of the README's "Operating it" run as written on a home's real files, and
docs/lnav/betpipe.json names the fields pipeline/core/log.py writes (issue 20)."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta

import orjson
import pytest

from pipeline.core.clock import real_now
from pipeline.core.log import LEVELS, Logger
from pipeline.core.paths import REPO
from pipeline.core.timefmt import iso


def recipes() -> dict[str, str]:
    """comment line -> the command under it, from the sh block of "Reading the logs"."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"\*\*Reading the logs\*\*.*?```sh\n(.*?)```", text, re.S).group(1)
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return {c.lstrip("# "): cmd for c, cmd in zip(lines[::2], lines[1::2])}


def test_the_lnav_format_reads_the_fields_the_logger_writes():
    fmt = orjson.loads((REPO / "docs" / "lnav" / "betpipe.json").read_bytes())["betpipe_log"]
    out = io.StringIO()
    Logger("execute", stream=out).error("bet.failed", session="s1", error="Timeout: x")
    line = orjson.loads(out.getvalue())
    assert fmt["json"] is True
    assert fmt["timestamp-field"] in line and fmt["level-field"] in line
    assert fmt["body-field"] == "event" and line["event"] == "bet.failed"
    assert [re.fullmatch(fmt["level"][lv], lv) is not None for lv in LEVELS] == [True] * 4
    named = [f["field"] for f in fmt["line-format"] if isinstance(f, dict)]
    assert all(f.startswith("__") or f in line for f in named)
    assert re.search(fmt["file-pattern"], "/home/x/data/logs/execute.log")
    assert re.search(fmt["file-pattern"], "/home/x/data/logs/execute.log.1")


@pytest.mark.skipif(shutil.which("jq") is None, reason="no jq")
def test_the_jq_recipes_answer_on_real_files(tmp_path):
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    out = io.StringIO()
    log = Logger("execute", stream=out)
    log.error("bet.failed", session="s1", error="recent")
    log.info("bet.placed", session="s1")
    old = {"ts": iso(real_now() - timedelta(hours=2)), "level": "error", "program": "execute",
           "event": "bet.failed", "error": "two hours ago"}
    (logs / "execute.log").write_text(orjson.dumps(old).decode() + "\n" + out.getvalue())
    (logs / "monitor.log").write_text("".join(
        orjson.dumps({"ts": iso(real_now()), "level": "info", "program": "monitor",
                      "event": e}).decode() + "\n" for e in ["poll", "poll", "poll", "odds.written"]))
    events = [{"seq": 1, "type": "BET_PLACED", "session": "a", "stake": 10.0},
              {"seq": 2, "type": "BET_SETTLED", "session": "a", "profit": 5.0},
              {"seq": 3, "type": "BET_PLACED", "session": "b", "stake": 2.5},
              {"seq": 4, "type": "BET_PLACED", "session": "a", "stake": 4.0}]
    (tmp_path / "data" / "bet-record.jsonl").write_text(
        "".join(orjson.dumps(e).decode() + "\n" for e in events))

    def sh(cmd: str) -> str:
        r = subprocess.run(["sh", "-c", cmd], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    r = recipes()
    errors = [orjson.loads(x) for x in sh(r["errors of execute in the last hour"]).splitlines()]
    assert [e["error"] for e in errors] == ["recent"]
    placed = orjson.loads(sh(r["bets placed per session: count and stakes, from the ledger"]))
    assert placed == [{"session": "a", "bets": 2, "staked": 14.0},
                      {"session": "b", "bets": 1, "staked": 2.5}]
    top = sh(r["which events a program logs most (what to look at first)"]).split()
    assert top[:2] == ["3", "poll"]
