"""Paper bets per second through the real executor code path, beside the raw fsync limit.

- bare_append_fsync: one JSON line appended + flushed + fsynced, again and again, in the same
  folder: the rate the disk allows for one durable append.
- paper: `Executor.run_pass` with the `PaperBookmaker` on a fresh home, `--sessions` sessions ×
  matches standing decisions, every one placed: per bet a write-ahead BET_INTENDED (ledger
  append under the file lock, controls re-checked), the paper bookmaker's durable record and
  BET_PLACED (ledger append). Batches of engine.BATCH share their fsyncs (group commit: the
  intents' before the bookmaker is called, the bookings', the outcomes'); one fsync per append
  would cap the rate at bare_append_fsync / 3 (`one_fsync_per_append_bound`).
"""
from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.common import odds_body
from pipeline.bookmakers.paper import PaperBookmaker
from pipeline.core.clock import FakeClock, real_now
from pipeline.core.config import Config
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.log import Logger
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso
from pipeline.programs.execute.engine import Executor

DEFAULT_BETS = 2000


def bare_append_fsync(path: Path, n: int) -> float:
    line = b'{"seq":1,"type":"BET_PLACED","session":"s1","client_ref":"x#1","bet_ref":"P-1"}\n'
    with open(path, "ab") as f:
        t0 = time.perf_counter()
        for _ in range(n):
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return n / (time.perf_counter() - t0)


def decisions_for(odds: dict, sessions: int, n: int, now) -> list[dict]:
    out = []
    for m in odds["matches"]:
        for s in range(sessions):
            out.append({"id": f"s{s}|{m['key']}|1X2", "session": f"s{s}", "match_key": m["key"],
                        "market": "1X2", "selection": "home", "odds": m["odds"]["home"],
                        "odds_at": iso(now), "min_odds": 1.01, "stake": 1.0, "reason": "bench",
                        "created_at": iso(now), "expires_at": iso(now + timedelta(days=1))})
    return out[:n]


def paper_rate(tmp: Path, n_bets: int, n_sessions: int) -> dict:
    home = Home(tmp / "home").ensure()
    now = real_now()
    clock = FakeClock(now)
    odds = {"version": 1, "written_at": iso(now), **odds_body(-(-n_bets // n_sessions), now)}
    atomic_write_json(home.odds, odds)
    config = Config.model_validate({"max_odds_age_s": 3600, "sessions": [
        {"id": f"s{i}", "selection": "home", "staking": {"plan": "flat", "stake": 1},
         "bankroll": 1_000_000} for i in range(n_sessions)]})
    decisions = decisions_for(odds, n_sessions, n_bets, now)
    fsyncs, real_fsync = [0], os.fsync

    def counted(fd):
        fsyncs[0] += 1
        real_fsync(fd)

    with open(os.devnull, "w") as devnull:
        ex = Executor(Ledger(home.ledger, clock), PaperBookmaker(home, clock), clock,
                      Logger("execute", stream=devnull))
        os.fsync = counted
        try:
            t0 = time.perf_counter()
            counts = ex.run_pass(decisions, odds, config)
            took = time.perf_counter() - t0
        finally:
            os.fsync = real_fsync
    if counts["placed"] != len(decisions):
        raise RuntimeError(f"expected {len(decisions)} placed, got {dict(counts)}")
    return {"bets": counts["placed"], "seconds": round(took, 3),
            "bets_per_s": round(counts["placed"] / took, 1), "ledger_events": ex.book.seq,
            "fsyncs_per_bet": round(fsyncs[0] / counts["placed"], 3)}


def run(tmp: Path, args) -> dict:
    n = getattr(args, "bets", None) or DEFAULT_BETS
    bare = bare_append_fsync(tmp / "bare.jsonl", n)
    paper = paper_rate(tmp, n, args.sessions)
    return {"bare_append_fsync_per_s": round(bare, 1), "paper": paper,
            "one_fsync_per_append_bound": round(bare / 3, 1),
            "paper_vs_bare_append": round(paper["bets_per_s"] / bare, 2),
            "goal_bets_per_s": 2000, "goal_met": paper["bets_per_s"] >= 2000}
