"""Dashboard figures: what one refresh of the page costs on a busy home, beside the raw limit.

- raw_read: read + orjson.loads of every file a refresh reads (odds-data, decisions, results,
  the ledger line by line, health files, the config) — no work beyond parsing.
- gather: `pipeline.programs.dashboard.state.gather` (the state behind the page, /api/state, /metrics)
  with the app's shared ledger cache and config holder, as the running dashboard calls it.
- live_html: gather + rendering the panels (`GET /live`, what the page fetches every refresh_s).
- metrics: gather + the Prometheus text (`GET /metrics`).
"""
from __future__ import annotations

import time
from pathlib import Path

import orjson

from benchmarks.common import bench_sessions, odds_body, pct
from pipeline.core.clock import FakeClock
from pipeline.core.config import ConfigHolder, load_config
from pipeline.core.filebus import SnapshotWriter, atomic_write_json
from pipeline.core.health import Health
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.programs import PROGRAMS
from pipeline.core.state import replay
from pipeline.programs.dashboard.app import templates
from pipeline.programs.dashboard.state import LedgerView, gather
from pipeline.programs.dashboard import metrics
from pipeline.strategies.settlement import results_body

NOW = "2019-08-09T18:30:00Z"


def busy_home(tmp: Path, n_matches: int, n_sessions: int, n_bets: int) -> tuple[Home, FakeClock]:
    home = Home(tmp / "home").ensure()
    clock = FakeClock(NOW)
    atomic_write_json(home.system_config, {"max_odds_age_s": 3600,
                                           "sessions": bench_sessions(n_sessions)})
    odds = odds_body(n_matches, clock.now())
    SnapshotWriter(home.odds).write(odds, written_at=NOW)
    keys = [m["key"] for m in odds["matches"]]
    SnapshotWriter(home.decisions).write({"odds_version": 1, "config_version": 1, "decisions": [
        {"id": f"s{i % n_sessions}|{keys[i % len(keys)]}|1X2", "session": f"s{i % n_sessions}",
         "match_key": keys[i % len(keys)], "market": "1X2", "selection": "home", "odds": 2.0,
         "min_odds": 1.96, "odds_at": NOW, "stake": 1.0, "reason": "bench", "created_at": NOW,
         "expires_at": NOW} for i in range(min(200, len(keys)))]}, written_at=NOW)
    events = []
    for i in range(n_bets):
        sid, key = f"s{i % n_sessions}", f"{keys[i % len(keys)]}#{i}"
        did = f"{sid}|{key}|1X2"
        events += [{"type": "BET_INTENDED", "session": sid, "decision_id": did, "client_ref": did,
                    "attempt": 1, "match_key": key, "selection": "home", "odds": 2.0, "stake": 1.0,
                    "mode": "paper"},
                   {"type": "BET_PLACED", "session": sid, "decision_id": did, "client_ref": did,
                    "bet_ref": f"B{i}", "odds": 2.0, "stake": 1.0, "match_key": key,
                    "selection": "home"}]
        if i % 2:
            events.append({"type": "BET_SETTLED", "session": sid, "decision_id": did,
                           "bet_ref": f"B{i}", "outcome": "won" if i % 3 else "lost",
                           "payout": 2.0 if i % 3 else 0.0, "profit": 1.0 if i % 3 else -1.0})
    ledger = Ledger(home.ledger, clock)
    for start in range(0, len(events), 1000):
        ledger.append(*events[start:start + 1000])
    SnapshotWriter(home.results).write(
        results_body(replay(ledger.read()), load_config(home.system_config)), written_at=NOW)
    for program in PROGRAMS:
        Health(home, program, clock).beat()
    return home, clock


def raw_read(home: Home) -> None:
    for path in (home.odds, home.decisions, home.results, home.system_config,
                 *home.health_dir.glob("*.json")):
        orjson.loads(path.read_bytes())
    for line in home.ledger.read_bytes().splitlines():
        orjson.loads(line)


def timed(fn, samples: int) -> dict:
    fn()  # warm-up (caches, templates)
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return pct(out)


def run(tmp: Path, args) -> dict:
    n_bets = 2000
    home, clock = busy_home(tmp, args.matches, args.sessions, n_bets)
    ledger, holder = LedgerView(home.ledger), ConfigHolder(home.system_config)
    live = templates().get_template("live.html")
    samples = min(args.samples, 50)
    raw = timed(lambda: raw_read(home), samples)
    state = timed(lambda: gather(home, clock, ledger, holder), samples)
    page = timed(lambda: live.render(s=gather(home, clock, ledger, holder)), samples)
    text = timed(lambda: metrics.render(metrics.families(gather(home, clock, ledger, holder))),
                 samples)
    return {"matches": args.matches, "sessions": args.sessions, "bets": n_bets,
            "ledger_events": ledger.applied, "raw_read": raw, "gather": state,
            "live_html": page, "metrics": text,
            "live_p50_vs_raw": round(page["p50_ms"] / raw["p50_ms"], 2) if raw["p50_ms"] else None}
