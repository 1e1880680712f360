"""The disk full while appending to the ledger: a real process whose file size limit
(RLIMIT_FSIZE, SIGXFSZ ignored) makes write() fail with EFBIG part-way through an append. The
append raises AppendError naming the file, leaves no torn line, keeps every line before it; the
same process appends again once there is room."""
from __future__ import annotations

import errno
import json
import subprocess
import sys

from pipeline.core.clock import FakeClock
from pipeline.core.jsonl import parse
from pipeline.core.ledger import Ledger
from pipeline.core.paths import REPO
from pipeline.harness.invariants import check_ledger

# appends one event as big as asked, under a file size limit; prints what happened as JSON
APPEND = r"""
import json, resource, signal, sys
from pathlib import Path
from pipeline.core.clock import FakeClock
from pipeline.core.jsonl import AppendError
from pipeline.core.ledger import Ledger

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead
path, limits, pad = Path(sys.argv[1]), [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3])
ledger = Ledger(path, FakeClock("2024-10-05T12:00:00Z"))
for limit in limits:  # one process: full, then room again (a raised soft limit)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        ev = ledger.append({"type": "SESSION_RESET", "session": "s1", "note": "x" * pad})
        print(json.dumps({"appended": ev[0].seq}), flush=True)
    except AppendError as e:
        print(json.dumps({"error": str(e), "errno": e.errno}), flush=True)
"""


def run_appender(path, limits: list[int], pad: int) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", APPEND, str(path), ",".join(map(str, limits)),
                          str(pad)], capture_output=True, text=True, timeout=120, cwd=str(REPO))
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_a_full_disk_fails_the_append_cleanly_and_loses_nothing(tmp_path):
    path = tmp_path / "data" / "bet-record.jsonl"
    ledger = Ledger(path, FakeClock("2024-10-05T12:00:00Z"))
    for i in range(5):
        ledger.append({"type": "SESSION_RESET", "session": f"s{i}"})
    before = path.read_bytes()
    # 100 bytes of room for a ~9 KB line (bigger than any write buffer): the write stops part-way
    full, room = len(before) + 100, len(before) + 100_000
    got = run_appender(path, [full, full, room], pad=9000)
    assert got[0]["errno"] == got[1]["errno"] == errno.EFBIG
    assert str(path) in got[0]["error"] and "nothing of it was kept" in got[0]["error"]
    assert got[2] == {"appended": 6}  # room again: the same process appends, seq goes on
    data = path.read_bytes()
    assert data.startswith(before)  # every line before the failure intact
    result = parse(data)
    assert not result.torn and result.good_bytes == len(data)  # no torn line was ever left
    assert [e["seq"] for e in result.records] == [1, 2, 3, 4, 5, 6]
    assert check_ledger(result.records)["problems"] == []
