"""What the bad-input guards cost, beside the raw operation they guard, in the same run.

- snapshot_read: `read_snapshot` (size cap: fstat + bounded read) of an N-match odds-data file
  vs the raw `read_bytes` + `orjson.loads`.
- huge_refused: `read_snapshot` refusing a 100 MB file from its size vs reading it whole (what
  a reader did before the cap).
- ledger_append: `Ledger.append` (unbuffered write, cut back on failure, fsync) vs a raw
  `os.write` + `fsync` of the same line.
- check_odds: execute's and track's odds-data check (unique keys, prices) on N matches vs
  the `orjson.loads` of the same file.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import orjson

from benchmarks.common import odds_body, pct
from pipeline.core.clock import FakeClock, real_now
from pipeline.core.filebus import BadFile, atomic_write_json, read_snapshot
from pipeline.core.ledger import Ledger
from pipeline.core.files import check_odds


def timed(fn, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def paired(raw, guarded, samples: int) -> tuple[list[float], list[float]]:
    """Both timed alternately, so the machine's load falls on both alike."""
    a, b = [], []
    for _ in range(samples):
        a += timed(raw, 1)
        b += timed(guarded, 1)
    return a, b


def snapshot_read(tmp: Path, n: int, samples: int) -> dict:
    path = tmp / "odds-data.json"
    atomic_write_json(path, {"version": 1, **odds_body(n, real_now())})
    raw, guarded = paired(lambda: orjson.loads(path.read_bytes()), lambda: read_snapshot(path),
                          samples)
    return {"bytes": path.stat().st_size, "raw": pct(raw), "guarded": pct(guarded)}


def huge_refused(tmp: Path, samples: int) -> dict:
    from tests.badinput.corpus import HUGE_BYTES, write_huge
    path = write_huge(tmp / "huge.json", HUGE_BYTES)

    def refuse():
        try:
            read_snapshot(path)
        except BadFile:
            return
        raise AssertionError("a 100 MB snapshot was read")

    try:
        return {"bytes": HUGE_BYTES, "raw_read_whole": pct(timed(path.read_bytes, 3)),
                "guarded_refusal": pct(timed(refuse, samples))}
    finally:
        path.unlink()


def ledger_append(tmp: Path, samples: int) -> dict:
    ledger = Ledger(tmp / "bet-record.jsonl", FakeClock("2024-10-05T12:00:00Z"))
    body = {"type": "BET_REFUSED", "session": "s1", "decision_id": "s1|k|1X2",
            "control": "StaleOdds", "reason": "odds older than max_odds_age_s 90"}
    line = orjson.dumps({"seq": 1, "ts": "2024-10-05T12:00:00.000Z", **body}) + b"\n"
    fd = os.open(tmp / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        raw, guarded = paired(lambda: (os.write(fd, line), os.fsync(fd)),
                              lambda: ledger.append(body), samples)
    finally:
        os.close(fd)
    return {"raw_write_fsync": pct(raw), "ledger_append": pct(guarded)}


def check_odds_cost(tmp: Path, n: int, samples: int) -> dict:
    path = tmp / "odds-check.json"
    atomic_write_json(path, {"version": 1, **odds_body(n, real_now())})
    data = path.read_bytes()
    doc = orjson.loads(data)
    raw, guarded = paired(lambda: orjson.loads(data), lambda: check_odds(doc, path), samples)
    return {"matches": n, "raw_loads": pct(raw), "check_odds": pct(guarded)}


def run(tmp: Path, args) -> dict:
    samples = min(args.samples, 100)
    snap = snapshot_read(tmp, args.matches, samples)
    append = ledger_append(tmp, samples)
    return {
        "matches": args.matches, "snapshot_read": snap,
        "snapshot_read_p50_vs_raw": round(snap["guarded"]["p50_ms"] / snap["raw"]["p50_ms"], 2),
        "huge_refused": huge_refused(tmp, samples),
        "ledger_append": append,
        "ledger_append_p50_vs_raw": round(append["ledger_append"]["p50_ms"]
                                          / append["raw_write_fsync"]["p50_ms"], 2),
        "check_odds": check_odds_cost(tmp, args.matches, samples),
    }
