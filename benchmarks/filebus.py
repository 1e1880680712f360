"""File-bus figures: the raw hop, and odds-data written → decisions written by `betpipe decide`.

- raw_hop: atomic write of odds-data (N matches) → inotify event → read + orjson.loads.
- odds_to_decisions: odds-data written → decisions.json written by the real `betpipe decide`
  program, seen by the same kind of watcher: two hops plus a decide cycle.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import orjson

from benchmarks.common import bench_sessions, odds_body, pct, watch
from pipeline.core import clock as clockmod
from pipeline.core.filebus import SnapshotWriter, atomic_write_json, read_snapshot
from pipeline.core.paths import REPO, Home
from pipeline.core.timefmt import iso


def raw_hop(tmp: Path, n_matches: int, samples: int) -> dict:
    path = tmp / "raw" / "odds-data.json"
    path.parent.mkdir(parents=True)
    obs, waiter = watch(path, lambda p: orjson.loads(p.read_bytes())["version"])
    body = odds_body(n_matches, clockmod.real_now())
    out = []
    try:
        for v in range(1, samples + 1):
            t0 = time.perf_counter()
            atomic_write_json(path, {"version": v, **body})
            t1 = waiter.wait(lambda got, v=v: got == v, 10)
            if t1 is not None:
                out.append(t1 - t0)
    finally:
        obs.stop()
        obs.join()
    return pct(out)


def odds_to_decisions(tmp: Path, n_matches: int, n_sessions: int, samples: int) -> dict:
    home = Home(tmp / "home").ensure()
    atomic_write_json(home.system_config, {"max_odds_age_s": 3600,
                                           "sessions": bench_sessions(n_sessions)})
    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "betpipe"), "decide"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    obs, waiter = watch(home.decisions, lambda p: read_snapshot(p)["odds_version"])
    writer = SnapshotWriter(home.odds)
    out, decisions = [], 0
    try:
        body = odds_body(n_matches, clockmod.real_now())
        # warm-up: the first cycle loads config and the ledger
        for _ in range(3):
            doc = writer.write(body, written_at=iso(clockmod.real_now()))
            if waiter.wait(lambda got, v=doc["version"]: got == v, 60) is None:
                raise RuntimeError("decide did not answer the warm-up write within 60 s")
        for _ in range(samples):
            t0 = time.perf_counter()
            doc = writer.write(body, written_at=iso(clockmod.real_now()))
            t1 = waiter.wait(lambda got, v=doc["version"]: got == v, 30)
            if t1 is not None:
                out.append(t1 - t0)
        decisions = len(read_snapshot(home.decisions)["decisions"])
    finally:
        obs.stop()
        obs.join()
        proc.terminate()
        proc.wait(timeout=30)
    return {**pct(out), "sessions": n_sessions, "decisions": decisions}




def run(tmp: Path, args) -> dict:
    raw = raw_hop(tmp, args.matches, args.samples)
    pipe = odds_to_decisions(tmp, args.matches, args.sessions, args.samples)
    return {"matches": args.matches, "raw_hop": raw, "odds_to_decisions": pipe,
            "p99_vs_raw_hop": round(pipe["p99_ms"] / raw["p99_ms"], 2) if raw["p99_ms"] else None}
