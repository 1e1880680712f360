"""Benchmarks printed as JSON (scripts/bench). Each figure sits beside the raw limit measured in
the same run, since these machines are shared and noisy.

- raw_hop: atomic write of odds-data (1,000 matches) → inotify event → read + orjson.loads.
- odds_to_decisions: odds-data written → decisions.json written by the real `betpipe decide`
  program (20 sessions), seen by the same kind of watcher: two hops plus a decide cycle.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import orjson
from watchdog.events import FileCreatedEvent, FileMovedEvent, FileSystemEventHandler
from watchdog.observers import Observer

from pipeline.core import clock as clockmod
from pipeline.core.filebus import SnapshotWriter, atomic_write_json, read_snapshot
from pipeline.core.paths import REPO, Home
from pipeline.core.timefmt import iso


def pct(samples: list[float]) -> dict:
    s = sorted(samples)
    q = lambda p: s[min(len(s) - 1, int(round(p * (len(s) - 1))))]
    return {"n": len(s), "p50_ms": round(q(0.5) * 1000, 2), "p99_ms": round(q(0.99) * 1000, 2),
            "mean_ms": round(statistics.fmean(s) * 1000, 2)}


def odds_body(n: int, now, version_hint: int = 0) -> dict:
    matches = []
    for i in range(n):
        ko = now + timedelta(minutes=30 + i)
        odds = {"home": round(1.5 + (i % 40) / 10, 2), "draw": 3.4,
                "away": round(5.5 - (i % 40) / 10, 2)}
        matches.append({"key": f"2019-20_Home {i} v Away {i}", "season": "2019-20",
                        "competition": "EPL", "home": f"Home {i}", "away": f"Away {i}",
                        "kickoff": iso(ko), "status": "scheduled", "odds": odds,
                        "seen_at": iso(now), "result": None})
    return {"source": "replay", "fetched_at": iso(now), "matches": matches}


class Waiter(FileSystemEventHandler):
    """Calls `check(path)` on created/moved events of `target` (how the pipeline's readers see
    atomic writes) and wakes whoever waits for a condition."""

    def __init__(self, target: Path, check):
        self.target, self.check, self.cond = str(target), check, threading.Condition()
        self.last = None

    def on_any_event(self, event):
        path = getattr(event, "dest_path", "") or event.src_path
        if path == self.target:
            try:
                value = self.check(Path(path))
            except Exception:
                return
            with self.cond:
                self.last = (time.perf_counter(), value)
                self.cond.notify_all()

    def wait(self, pred, timeout: float):
        with self.cond:
            ok = self.cond.wait_for(lambda: self.last and pred(self.last[1]), timeout)
            return self.last[0] if ok else None


def watch(path: Path, check) -> tuple[Observer, Waiter]:
    waiter = Waiter(path, check)
    obs = Observer()
    obs.schedule(waiter, str(path.parent), recursive=False,
                 event_filter=[FileMovedEvent, FileCreatedEvent])
    obs.start()
    return obs, waiter


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


def bench_sessions(n: int) -> list[dict]:
    sels = ["home", "away", "favourite", "underdog", "draw"]
    return [{"id": f"s{i}", "selection": sels[i % 5], "odds": {"min": 1.2, "max": 8},
             "window": {"from_minutes": 10080, "to_minutes": 0},
             "staking": {"plan": "flat", "stake": 1}, "bankroll": 1_000_000} for i in range(n)]


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--matches", type=int, default=1000)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="betpipe-bench-") as tmp:
        tmp = Path(tmp)
        raw = raw_hop(tmp, args.matches, args.samples)
        pipe = odds_to_decisions(tmp, args.matches, args.sessions, args.samples)
    result = {"matches": args.matches, "raw_hop": raw, "odds_to_decisions": pipe,
              "p99_vs_raw_hop": round(pipe["p99_ms"] / raw["p99_ms"], 2) if raw["p99_ms"] else None}
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
