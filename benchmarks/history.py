"""Odds history figures (issue 16): what the monitor's history costs, and the history backtest's
throughput.

- append: 1,000 scheduled matches (1X2 + two AH lines + two OU lines each, kickoffs spread over
  the week) polled every 30 simulated seconds for POLLS polls; at each poll CHANGE_RATE of the
  matches (2 %, drawn with a fixed seed) move one price. Per poll, in the same run and order as
  the monitor: `HistoryWriter.append` (lines + one fsync), then the odds-data snapshot write
  (`SnapshotWriter.write`, atomic + fsync) of the same 1,000 matches. Wall times p50/p99.
- bytes_per_day: the first poll's full lines (one per match: a day file's first sight) plus
  2,880 polls/day x the mean bytes of a change poll; `gz_ratio` from compressing the file the
  run wrote (a finished day is kept gzipped), `gz_bytes_per_day` with it.
- backtest: `run_history` over the history just written (two sessions: favourites in the hour
  before kickoff, underdogs any time), throughput in history lines (price changes) per second of
  wall time; goal >= 200,000/s.
"""
from __future__ import annotations

import gzip
import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.common import pct
from pipeline.analysis.histback import load_history, run_history
from pipeline.core.config import Config
from pipeline.core.filebus import SnapshotWriter
from pipeline.core.timefmt import iso
from pipeline.history.store import HistoryWriter

MATCHES, POLL_S, POLLS, CHANGE_RATE = 1000, 30, 240, 0.02
POLLS_PER_DAY = 86400 // POLL_S
START = datetime(2024, 10, 5, 0, 0, tzinfo=timezone.utc)
SESSIONS = {"max_odds_age_s": 120, "sessions": [
    {"id": "fav", "selection": "favourite", "odds": {"min": 1.3, "max": 3.0},
     "window": {"from_minutes": 60, "to_minutes": 0}, "staking": {"plan": "flat", "stake": 10}},
    {"id": "dog", "selection": "underdog", "odds": {"min": 2.5},
     "staking": {"plan": "flat", "stake": 5}}]}


def matches(now: datetime) -> list[dict]:
    out = []
    for i in range(MATCHES):
        h = round(1.5 + (i % 40) / 10, 2)
        out.append({
            "key": f"2024-25_Home {i} v Away {i}", "season": "2024-25", "competition": "EPL",
            "home": f"Home {i}", "away": f"Away {i}",
            "kickoff": iso(START + timedelta(minutes=20 + 10 * i)), "status": "scheduled",
            "odds": {"home": h, "draw": 3.4, "away": round(5.5 - (i % 40) / 10, 2)},
            "handicap": [{"line": -0.5, "home": 1.95, "away": 1.9},
                         {"line": -0.25, "home": 1.7, "away": 2.15}],
            "totals": [{"line": 2.5, "over": 1.85, "under": 1.95},
                       {"line": 2.75, "over": 2.05, "under": 1.8}],
            "seen_at": iso(now), "result": None})
    return out


def run(tmp: Path, _args=None) -> dict:
    rng = random.Random(16)
    folder, odds_path = tmp / "odds-history", tmp / "odds-data.json"
    writer, snap = HistoryWriter(folder), SnapshotWriter(odds_path)
    now = START
    ms = matches(now)
    append_s, snapshot_s, poll_bytes, lines = [], [], [], 0
    size = 0
    for poll in range(POLLS):
        now = START + timedelta(seconds=POLL_S * poll)
        t = iso(now)
        for m in rng.sample(ms, int(MATCHES * CHANGE_RATE)) if poll else ():
            side = rng.choice(("home", "draw", "away"))
            m["odds"] = {**m["odds"], side: round(max(1.02, m["odds"][side] + rng.choice(
                (-0.05, 0.05))), 2)}
        live = [m for m in ms if m["kickoff"] > t]
        for m in live:
            m["seen_at"] = t
        t0 = time.perf_counter()
        lines += writer.append("replay", live, t)
        t1 = time.perf_counter()
        snap.write({"source": "replay", "fetched_at": t, "matches": live}, written_at=t)
        t2 = time.perf_counter()
        new_size = (folder / f"{t[:10]}.jsonl").stat().st_size
        poll_bytes.append(new_size - size)
        size = new_size
        if poll:
            append_s.append(t1 - t0)
            snapshot_s.append(t2 - t1)
    writer.close()
    raw = (folder / f"{START.date()}.jsonl").read_bytes()
    gz_ratio = len(gzip.compress(raw)) / len(raw)
    change_poll = statistics.fmean(poll_bytes[1:])
    per_day = poll_bytes[0] + POLLS_PER_DAY * change_poll
    hist = load_history(folder)
    config = Config.model_validate(SESSIONS)
    t0 = time.perf_counter()
    bt = run_history(hist, config)
    took = time.perf_counter() - t0
    rate = bt.changes / took
    return {
        "matches": MATCHES, "poll_s": POLL_S, "polls": POLLS, "change_rate": CHANGE_RATE,
        "markets": "1X2 + AH (2 lines) + OU (2 lines)",
        "append": pct(append_s), "snapshot_write": pct(snapshot_s),
        "first_poll_bytes": poll_bytes[0], "change_poll_bytes_mean": round(change_poll),
        "bytes_per_day": round(per_day), "gz_ratio": round(gz_ratio, 3),
        "gz_bytes_per_day": round(per_day * gz_ratio),
        "backtest": {"lines": bt.changes, "bets": sum(len(bt.session_book(s).bets)
                                                     for s in ("fav", "dog")),
                     "run_s": round(took, 3), "changes_per_s": round(rate),
                     "goal_changes_per_s": 200_000, "goal_met": rate >= 200_000},
    }
