"""Decision-engine figures (issue 4), each beside a raw limit measured in the same run.

- hop (realistic): odds-data written → decisions.json written by the real `betpipe decide`
  program, at `--matches` (1,000) × `--sessions` (20) realistic sessions; beside it the raw hop
  (atomic write → inotify → read + orjson.loads) of the same odds file. Goal: p99 ≤ 3 × raw p99.
- hop (worst case): the same with every session matching every match (20,000 decisions).
- cycle: one decide cycle in-process (the pure `decide`, snapshot indexing included) at 10,000
  matches × 100 realistic sessions with a ledger of open and settled bets. Goal: ≤ 100 ms.
  Beside it: the same cycle with the garbage collector deferred to its end (as the program runs
  it), on an already indexed snapshot (what a config or ledger change costs the program), and
  the raw cost of merely parsing that odds file. Wall-clock and CPU (thread) time.
- cycle (worst case): every session matching every match, at 1,000 × 20 and at 10,000 × 10.

Realistic = what users configure: each session follows one or two competitions, has a window
(10 minutes to a week before kickoff), odds bounds and one of the six staking plans; matches are
spread over 16 competitions and two weeks of kickoffs at the usual kick-off times.
"""
from __future__ import annotations

import gc
import os
import random
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import orjson

from benchmarks.common import bench_sessions, pct, watch
from benchmarks.filebus import raw_hop
from pipeline.core import clock as clockmod
from pipeline.core.config import Config
from pipeline.core.events import from_dicts
from pipeline.core.filebus import SnapshotWriter, atomic_write_json, dumps, read_snapshot
from pipeline.core.paths import REPO, Home
from pipeline.core.state import replay
from pipeline.core.timefmt import iso
from pipeline.strategies.engine import OddsIndex, decide

COMPETITIONS = ["EPL", "ED1", "ED2", "ED3", "SFL", "SF2", "GSL", "GD2", "ISA", "FFL", "FF2",
                "DFL", "PFL", "SPL", "BFL", "EFA"]
KICKOFF_HOURS = [(11, 30), (14, 0), (16, 30), (19, 0), (19, 45)]  # UTC
WINDOWS = [(10, 0), (60, 5), (180, 30), (1440, 60), (10080, 60), (10080, 0)]  # minutes
PLANS = [{"plan": "flat", "stake": 10}, {"plan": "percent", "percent": 1},
         {"plan": "kelly", "fraction": 0.25, "edge": 0.05},
         {"plan": "martingale", "stake": 2, "max_steps": 5},
         {"plan": "fibonacci", "stake": 2, "max_steps": 8},
         {"plan": "ladder", "stake": 5, "target": 100}]


def realistic_odds(n: int, now, seed: int = 1) -> dict:
    """n matches over 16 competitions and 14 days, at the usual kick-off times, with 1X2 prices
    carrying a ~5 % margin."""
    rnd = random.Random(seed)
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    matches = []
    for i in range(n):
        h, m = rnd.choice(KICKOFF_HOURS)
        ko = day0 + timedelta(days=rnd.randrange(15), hours=h, minutes=m)
        if ko <= now:
            ko += timedelta(days=14)
        p_home = rnd.uniform(0.15, 0.75)
        p_draw = min(0.3, 1 - p_home - 0.05)
        p_away = 1 - p_home - p_draw
        odds = {k: round(max(1.01, 1 / (p * 1.05)), 2)
                for k, p in (("home", p_home), ("draw", p_draw), ("away", p_away))}
        comp = COMPETITIONS[i % len(COMPETITIONS)]
        matches.append({"key": f"2024-25_{comp} Home{i} v Away{i}", "season": "2024-25",
                        "competition": comp, "home": f"{comp} Home{i}", "away": f"Away{i}",
                        "kickoff": iso(ko), "status": "scheduled", "odds": odds,
                        "seen_at": iso(now), "result": None})
    return {"source": "replay", "fetched_at": iso(now), "matches": matches}


def realistic_sessions(n: int, seed: int = 2) -> list[dict]:
    """n sessions as users configure them: one or two competitions, a window, bounds, a plan."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        comps = rnd.sample(COMPETITIONS, rnd.choice([1, 1, 2]))
        lo = rnd.choice([1.3, 1.5, 1.8, 2.0])
        frm, to = rnd.choice(WINDOWS)
        out.append({"id": f"s{i}", "competitions": comps,
                    "selection": rnd.choice(["home", "away", "draw", "favourite", "underdog"]),
                    "odds": {"min": lo, "max": round(lo + rnd.choice([0.7, 1.5, 3.0]), 2)},
                    "window": {"from_minutes": frm, "to_minutes": to},
                    "staking": PLANS[i % len(PLANS)], "bankroll": 5000,
                    "limits": {"max_stake": 100, "max_open_bets": 50}})
    return out


def bench_ledger(sessions: list[dict], n_bets: int, now) -> list[dict]:
    """A ledger of n_bets placed bets of these sessions, two thirds of them settled."""
    rnd = random.Random(3)
    events, ts = [], iso(now - timedelta(days=3))
    for i in range(n_bets):
        sid = sessions[i % len(sessions)]["id"]
        did, ref = f"{sid}|2024-25_Old{i} v Past{i}|1X2", f"{sid}|old{i}#1"
        base = {"ts": ts, "session": sid, "decision_id": did, "client_ref": ref}
        events += [{**base, "type": "BET_INTENDED", "attempt": 1, "match_key": f"old{i}",
                    "selection": "home", "odds": 2.0, "stake": 2.0, "mode": "paper"},
                   {**base, "type": "BET_PLACED", "bet_ref": f"B{i}", "odds": 2.0, "stake": 2.0}]
        if i % 3:
            won = rnd.random() < 0.5
            events.append({**base, "type": "BET_SETTLED", "bet_ref": f"B{i}",
                           "outcome": "won" if won else "lost", "payout": 4.0 if won else 0.0,
                           "profit": 2.0 if won else -2.0})
    return [{**e, "seq": i + 1} for i, e in enumerate(events)]


# --------------------------------------------------------------------------- the hop

PACE_S = 0.1  # between odds writes, as a monitor writes them (0.5 s at the demo's speed 60)
MOVES = 20  # prices that move between two writes


def next_poll(body: dict, rnd: random.Random) -> dict:
    """The next snapshot as a monitor writes it: every match seen now, a few prices moved."""
    now = iso(clockmod.real_now())
    matches = [{**m, "seen_at": now} for m in body["matches"]]
    for i in rnd.sample(range(len(matches)), min(MOVES, len(matches))):
        odds = matches[i]["odds"]
        side = rnd.choice(["home", "draw", "away"])
        moved = round(max(1.01, odds[side] + rnd.choice([-0.05, 0.05])), 2)
        matches[i]["odds"] = {**odds, side: moved}
    return {**body, "fetched_at": now, "matches": matches}


def hop(tmp: Path, body: dict, sessions: list[dict], samples: int) -> dict:
    """odds-data written → decisions.json written by a real `betpipe decide`. Each write is the
    next poll (`next_poll`: new seen_at, MOVES prices moved); writes are paced (PACE_S):
    back-to-back writes would measure decide's burst throttle (50 ms), not the hop."""
    home = Home(tmp).ensure()
    atomic_write_json(home.system_config, {"max_odds_age_s": 3600, "sessions": sessions})
    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "betpipe"), "decide"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    obs, waiter = watch(home.decisions, lambda p: read_snapshot(p)["odds_version"])
    writer, out, rnd = SnapshotWriter(home.odds), [], random.Random(4)
    try:
        for i in range(3 + samples):  # three warm-up writes: start-up, config, ledger
            body = next_poll(body, rnd)
            time.sleep(PACE_S)
            t0 = time.perf_counter()
            doc = writer.write(body, written_at=iso(clockmod.real_now()))
            t1 = waiter.wait(lambda got, v=doc["version"]: got == v, 60 if i < 3 else 30)
            if t1 is None and i < 3:
                raise RuntimeError("decide did not answer a warm-up write within 60 s")
            if t1 is not None and i >= 3:
                out.append(t1 - t0)
        decided = read_snapshot(home.decisions)
    finally:
        obs.stop()
        obs.join()
        proc.terminate()
        proc.wait(timeout=30)
    return {**pct(out), "lost": samples - len(out), "paced_s": PACE_S, "sessions": len(sessions),
            "decisions": len(decided["decisions"]),
            "decisions_kb": round(len(dumps(decided)) / 1024, 1)}


# --------------------------------------------------------------------------- the cycle

def _gc_deferred(fn, *args):
    """As the decide program runs a cycle: the garbage collector waits until it is done."""
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


def cycle(body: dict, sessions: list[dict], events: list[dict], now, samples: int) -> dict:
    """The pure decide, in-process: from the parsed document (indexing included) and from an
    already indexed snapshot. Wall-clock and CPU time (thread_time: what the cycle itself costs,
    whatever else the shared machine runs)."""
    config = Config.model_validate({"max_odds_age_s": 3600, "sessions": sessions})
    book = replay(from_dicts(events))
    doc = {"version": 1, "written_at": iso(now), **body}
    raw = orjson.dumps(doc)
    index = OddsIndex(doc)
    runs = {"cycle": (lambda: decide(doc, config, book, now)),
            "cycle_gc_deferred": (lambda: _gc_deferred(decide, doc, config, book, now)),
            "cycle_indexed": (lambda: decide(index, config, book, now)),
            "raw_orjson_loads": (lambda: orjson.loads(raw))}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(samples):
        for name, fn in runs.items():
            c0, t0 = time.thread_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.thread_time() - c0)
    out = {"matches": len(body["matches"]), "sessions": len(sessions),
           "ledger_events": len(events), "decisions": len(runs["cycle"]().decisions)}
    for name in runs:
        c = pct(cpu[name])
        out[name] = {**pct(wall[name]), "cpu_p50_ms": c["p50_ms"], "cpu_p99_ms": c["p99_ms"]}
    return out


def run(tmp: Path, args) -> dict:
    now = clockmod.real_now()
    m, s, samples = args.matches, args.sessions, args.samples
    body = realistic_odds(m, now)
    raw = raw_hop(tmp / "raw", m, samples)
    real = hop(tmp / "real", body, realistic_sessions(s), samples)
    worst = hop(tmp / "worst", body, bench_sessions(s), max(20, samples // 4))
    big_sessions = realistic_sessions(100)
    big = cycle(realistic_odds(10_000, now), big_sessions, bench_ledger(big_sessions, 2000, now),
                now, 20)
    worst_small = cycle(body, bench_sessions(s), [], now, 10)
    worst_big = cycle(realistic_odds(10_000, now), bench_sessions(10), [], now, 3)
    return {
        "hop": {"matches": m, "raw_hop": raw, "realistic": real, "worst_case": worst,
                "p99_vs_raw_hop": round(real["p99_ms"] / raw["p99_ms"], 2),
                "worst_p99_vs_raw_hop": round(worst["p99_ms"] / raw["p99_ms"], 2),
                "goal": "realistic p99 <= 3 x raw hop p99"},
        "cycle": {**big, "goal": "cycle p99 <= 100 ms at 10,000 matches x 100 sessions"},
        "cycle_worst_case": {"1000x20": worst_small, "10000x10": worst_big},
        "sessions_used": "realistic: 1-2 of 16 competitions each, windows from 10 min to a week, "
                         "odds bounds, the six plans in turn; worst case: every session "
                         "matches every match (benchmarks.common.bench_sessions)",
    }
