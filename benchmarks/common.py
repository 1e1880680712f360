"""Helpers shared by the benchmarks: percentiles, synthetic odds, a watcher that times hops."""
from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path

from watchdog.events import FileCreatedEvent, FileMovedEvent, FileSystemEventHandler
from watchdog.observers import Observer

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


def bench_sessions(n: int) -> list[dict]:
    sels = ["home", "away", "favourite", "underdog", "draw"]
    return [{"id": f"s{i}", "selection": sels[i % 5], "odds": {"min": 1.2, "max": 8},
             "window": {"from_minutes": 10080, "to_minutes": 0},
             "staking": {"plan": "flat", "stake": 1}, "bankroll": 1_000_000} for i in range(n)]
