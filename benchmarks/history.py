"""Odds history figures (issue 16): what the monitor's history costs, and the history backtest's
throughput.

A day of the monitor's polls, simulated: 1,000 matches in five competitions (1X2 + two AH lines +
two OU lines each, kickoffs every 10 minutes from 00:20: 144 kick off during the day, the rest
later in the week) polled every 30 simulated seconds. At each poll CHANGE_RATE of the matches on
sale (2 %, fixed seed) move one price — 1X2 60 %, AH 20 %, OU 20 % — so a match's prices move
about every 25 minutes; at kickoff a match goes `live`, 110 minutes on `finished` with a result.
Every poll goes through the monitor's `HistoryWriter` (lines + one fsync).

- append: for the first POLLS polls, in the same run and order as the monitor:
  `HistoryWriter.append`, then the odds-data snapshot write (`SnapshotWriter.write`, atomic +
  fsync) of the same matches. Wall times p50/p99.
- bytes_per_day: the day file the simulated day wrote; `gz_ratio` from compressing it (a
  finished day is kept gzipped), `gz_bytes_per_day` with it.
- backtest: `run_history` over the day (SESSIONS: six, five with windows, one in a
  competition the history lacks, AH/OU, a risk control that refuses), throughput in history
  lines (price changes) per second of wall time, the best of RUNS runs (each from scratch on the
  same lines; all runs' seconds are listed); goal >= 200,000/s. Beside it, in the same run and
  taken the same way (best of RUNS), the raw limit: a bare loop that only reads each line and
  folds it into a per-match dict.
"""
from __future__ import annotations

import gzip
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.common import pct
from pipeline.analysis.histback import load_history, run_history
from pipeline.core.config import Config
from pipeline.core.filebus import SnapshotWriter
from pipeline.core.timefmt import iso
from pipeline.history.store import HistoryWriter

MATCHES, POLL_S, POLLS, CHANGE_RATE, RUNS = 1000, 30, 240, 0.02, 3
POLLS_PER_DAY = 86400 // POLL_S
START = datetime(2024, 10, 5, 0, 0, tzinfo=timezone.utc)
COMPETITIONS = ("EPL", "La Liga", "Serie A", "Bundesliga", "Ligue 1")
MARKET_MIX = (("odds", 0.6), ("handicap", 0.2), ("totals", 0.2))
W60 = {"from_minutes": 60, "to_minutes": 0}
SESSIONS = {"max_odds_age_s": 120, "sessions": [
    {"id": "fav", "selection": "favourite", "odds": {"min": 1.3, "max": 3.0}, "window": W60,
     "competitions": ["EPL", "La Liga"], "staking": {"plan": "flat", "stake": 10}},
    {"id": "dog", "selection": "underdog", "odds": {"min": 2.5},
     "staking": {"plan": "flat", "stake": 5}},
    {"id": "ah", "market": "AH", "selection": "underdog",
     "window": {"from_minutes": 120, "to_minutes": 15}, "staking": {"plan": "flat", "stake": 10}},
    {"id": "ou", "market": "OU", "selection": "over", "window": {"from_minutes": 30,
                                                                 "to_minutes": 0},
     "staking": {"plan": "percent", "percent": 2}},
    {"id": "capped", "selection": "favourite", "window": {"from_minutes": 240, "to_minutes": 0},
     "staking": {"plan": "flat", "stake": 10}, "limits": {"max_exposure_match": 15}},
    {"id": "cup", "selection": "home", "competitions": ["FA Cup"], "window": W60,
     "staking": {"plan": "flat", "stake": 10}}]}


def matches(now: datetime) -> list[dict]:
    out = []
    for i in range(MATCHES):
        h = round(1.5 + (i % 40) / 10, 2)
        kickoff = START + timedelta(minutes=20 + 10 * i)
        out.append({
            "key": f"2024-25_Home {i} v Away {i}", "season": "2024-25",
            "competition": COMPETITIONS[i % len(COMPETITIONS)],
            "home": f"Home {i}", "away": f"Away {i}",
            "kickoff": iso(kickoff), "status": "scheduled",
            "odds": {"home": h, "draw": 3.4, "away": round(5.5 - (i % 40) / 10, 2)},
            "handicap": [{"line": -0.5, "home": 1.95, "away": 1.9},
                         {"line": -0.25, "home": 1.7, "away": 2.15}],
            "totals": [{"line": 2.5, "over": 1.85, "under": 1.95},
                       {"line": 2.75, "over": 2.05, "under": 1.8}],
            "seen_at": iso(now), "result": None, "_kickoff": kickoff})
    return out


def move(m: dict, rng: random.Random) -> None:
    """One price of one market moves by a tick."""
    market = rng.choices([k for k, _ in MARKET_MIX], [w for _, w in MARKET_MIX])[0]
    if market == "odds":
        side = rng.choice(("home", "draw", "away"))
        m["odds"] = {**m["odds"], side: round(max(1.02, m["odds"][side]
                                                   + rng.choice((-0.05, 0.05))), 2)}
    else:
        entries = m[market]
        k = rng.randrange(len(entries))
        side = rng.choice([s for s in entries[k] if s != "line"])
        entry = {**entries[k], side: round(max(1.02, entries[k][side]
                                               + rng.choice((-0.03, 0.03))), 2)}
        m[market] = entries[:k] + [entry] + entries[k + 1:]


def poll_state(ms: list[dict], now: datetime, rng: random.Random) -> None:
    """Kickoffs and results of this poll."""
    for m in ms:
        if m["status"] == "scheduled" and now >= m["_kickoff"]:
            m["status"] = "live"
        elif m["status"] == "live" and now >= m["_kickoff"] + timedelta(minutes=110):
            m["status"] = "finished"
            m["result"] = {"home_goals": rng.randrange(4), "away_goals": rng.randrange(4)}


def raw_limit(lines: list[dict]) -> float:
    """Lines per second of a bare loop that folds each line into its match's state."""
    t0 = time.perf_counter()
    state: dict[str, dict] = {}
    for r in lines:
        prev = state.get(r["key"])
        state[r["key"]] = {**prev, **r} if prev is not None else r
    return len(lines) / (time.perf_counter() - t0)


def run(tmp: Path, _args=None) -> dict:
    rng = random.Random(16)
    folder, odds_path = tmp / "odds-history", tmp / "odds-data.json"
    writer, snap = HistoryWriter(folder), SnapshotWriter(odds_path)
    ms = matches(START)
    append_s, snapshot_s = [], []
    for poll in range(POLLS_PER_DAY):
        now = START + timedelta(seconds=POLL_S * poll)
        t = iso(now)
        poll_state(ms, now, rng)
        on_sale = [m for m in ms if m["status"] == "scheduled"]
        for m in rng.sample(on_sale, int(len(on_sale) * CHANGE_RATE)) if poll else ():
            move(m, rng)
        listed = [m for m in ms if m["_kickoff"] + timedelta(hours=3) > now]
        for m in listed:
            m["seen_at"] = t
        t0 = time.perf_counter()
        writer.append("replay", listed, t)
        t1 = time.perf_counter()
        if poll < POLLS:
            snap.write({"source": "replay", "fetched_at": t,
                        "matches": [{k: v for k, v in m.items() if k != "_kickoff"}
                                    for m in listed]}, written_at=t)
            t2 = time.perf_counter()
            if poll:
                append_s.append(t1 - t0)
                snapshot_s.append(t2 - t1)
    writer.close()
    raw = (folder / f"{START.date()}.jsonl").read_bytes()
    gz_ratio = len(gzip.compress(raw)) / len(raw)
    hist = load_history(folder)
    config = Config.model_validate(SESSIONS)
    limit = max(raw_limit(hist) for _ in range(RUNS))
    runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        bt = run_history(hist, config)
        runs.append(time.perf_counter() - t0)
    took = min(runs)
    rate = bt.changes / took
    return {
        "matches": MATCHES, "poll_s": POLL_S, "polls": POLLS_PER_DAY, "change_rate": CHANGE_RATE,
        "markets": "1X2 + AH (2 lines) + OU (2 lines)",
        "append": pct(append_s), "snapshot_write": pct(snapshot_s),
        "bytes_per_day": len(raw), "gz_ratio": round(gz_ratio, 3),
        "gz_bytes_per_day": round(len(raw) * gz_ratio),
        "backtest": {"lines": bt.changes, "sessions": len(config.sessions),
                     "bets": {s.id: len(bt.session_book(s.id).bets) for s in config.sessions},
                     "refused": len(bt.refused), "run_s": round(took, 3),
                     "runs_s": [round(r, 3) for r in runs],
                     "changes_per_s": round(rate), "raw_limit_changes_per_s": round(limit),
                     "goal_changes_per_s": 200_000, "goal_met": rate >= 200_000},
    }
