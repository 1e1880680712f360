"""Chaos (scripts/chaos): the whole pipeline under the real supervisord.conf on a temporary home,
a fast clock and sessions that bet a lot, with a random program (the sandbox `bookmaker`
included) SIGKILLed every few seconds (seeded). Then it checks and prints one JSON object:
- every killed program was back within --max-recovery real seconds (a new pid with a fresh beat
  in data/health: DESIGN, programs), with the measured max and p50;
- no decision id has two BET_PLACED, seq strictly increases, every file parses and keeps its
  contract (pipeline.harness.invariants, and ../shared/tools/check-home.py);
- the bookmaker's accepted bets and the ledger's placed bets match one to one (paper: its record
  data/paper/bets.jsonl; live: the sandbox's GET /api/bets), after the executor was stopped
  cleanly with nothing in flight;
- no reconciliation halt and no process of the home left behind.
Exit 1 when a check fails.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.core.clock import real_now  # noqa: E402
from pipeline.core.filebus import atomic_write_json  # noqa: E402
from pipeline.core.paths import REPO, Home  # noqa: E402
from pipeline.core.timefmt import iso, parse_iso  # noqa: E402
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER  # noqa: E402
from pipeline.harness.supervise import Pipeline, free_port, leftovers, quiesce  # noqa: E402
from pipeline.harness import invariants  # noqa: E402
from pipeline.bookmakers import HistoryUnavailable  # noqa: E402
from pipeline.bookmakers.account import sandbox_history  # noqa: E402
from pipeline.bookmakers.paper import PaperBookmaker  # noqa: E402
from pipeline.bookmakers.reconcile import UNKNOWN_BET  # noqa: E402

VENV = REPO / ".venv" / "bin"
WINDOWS = [(10080, "favourite"), (2880, "underdog"), (1440, "home"), (360, "away"), (60, "draw")]


def priority() -> dict:
    """This run's CPU priority: its nice, and whether the kernel groups tasks by session
    (autogroup on: nice does not reach across sessions, so other work on a loaded host
    delays a restarting program as much as without it)."""
    try:
        autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        autogroup = None
    return {"nice": os.nice(0), "autogroup": autogroup}


def chaos_config(mode: str, speed: float) -> dict:
    """Five sessions whose windows open at different times before kickoff, so bets keep coming."""
    sessions = [{"id": f"{sel}-{minutes}", "selection": sel, "window": {"from_minutes": minutes},
                 "staking": {"plan": "flat", "stake": 1}, "bankroll": 1_000_000}
                for minutes, sel in WINDOWS]
    return {"mode": mode, "max_odds_age_s": 30 * speed, "halt": False,
            "clock": {"speed": speed, "start": "2019-08-09T18:30:00Z"},
            "source": {"kind": "sandbox", "interval_s": 30},
            "sandbox": {"port": free_port()}, "dashboard": {"port": free_port()},
            "execute": {"max_concurrent": 2 if mode == "live" else 1}, "sessions": sessions}


# --------------------------------------------------------------------------- killing

def came_back(pipe: Pipeline, program: str, old_pid: int, killed_at) -> float | None:
    """Real seconds from the kill to the first beat of a new pid, None while there is none."""
    doc = pipe.beat(program)
    if doc.get("pid") in (None, old_pid) or not doc.get("last_beat_real"):
        return None
    beat = parse_iso(doc["last_beat_real"])
    return round((beat - killed_at).total_seconds(), 3) if beat >= killed_at else None


def kill_loop(pipe: Pipeline, rng: random.Random, seconds: float, every: tuple[float, float],
              log, give_up_s: float = 15.0) -> list[dict]:
    """SIGKILL a random program every `every` real seconds for `seconds`; meanwhile watch each
    killed one come back (a new pid with a fresh beat)."""
    kills: list[dict] = []
    pending: dict[str, dict] = {}  # program -> its kill, until it is back
    names = sorted(pipe.processes())
    end, next_kill = time.monotonic() + seconds, time.monotonic() + rng.uniform(*every)

    def watch() -> None:
        for name, kill in list(pending.items()):
            took = came_back(pipe, name, kill["pid"], kill["_at"])
            if took is not None or time.monotonic() - kill["_t"] > give_up_s:
                kill["recovery_s"] = took
                del pending[name]
                log(f"killed {name} (pid {kill['pid']}): back in {took} s")

    while time.monotonic() < end or pending:
        watch()
        if time.monotonic() < min(next_kill, end):
            time.sleep(0.01)
            continue
        if time.monotonic() >= end:
            continue  # no more kills: wait for the last ones to come back
        next_kill = time.monotonic() + rng.uniform(*every)
        wanted, procs = rng.choice(names), pipe.processes()
        ready = [n for n in names if n not in pending and procs[n]["statename"] == "RUNNING"
                 and procs[n]["pid"] and procs[n]["now"] - procs[n]["start"] >= 1.5]
        if not ready:
            continue
        name = wanted if wanted in ready else rng.choice(ready)
        kill = {"program": name, "pid": procs[name]["pid"], "_at": real_now(),
                "_t": time.monotonic()}
        os.kill(kill["pid"], signal.SIGKILL)
        kill["at"] = iso(kill["_at"])
        kills.append(kill)
        pending[name] = kill
    return [{k: v for k, v in kill.items() if not k.startswith("_")} for kill in kills]


# --------------------------------------------------------------------------- the end

def first_bet(home: Home, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == "BET_PLACED" for e in invariants.ledger_events(home)):
            return True
        time.sleep(0.5)
    return False


def bookmaker_bets(pipe: Pipeline, mode: str, url: str) -> list[dict]:
    if mode == "paper":
        return PaperBookmaker.history(pipe.home)
    deadline = time.monotonic() + 60
    while True:
        try:
            return sandbox_history(url)
        except HistoryUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def summary(args, home: Home, kills: list[dict], bets: list[dict], left: list[str],
            leftover: list[str], error: str | None) -> dict:
    events = invariants.ledger_events(home)
    times = [k["recovery_s"] for k in kills if k["recovery_s"] is not None]
    slow = [k for k in kills if k["recovery_s"] is None or k["recovery_s"] > args.max_recovery]
    ledger = invariants.check_ledger(events)
    one_to_one = invariants.check_one_to_one(bets, events, args.mode)
    files = invariants.check_files(home)
    tool = invariants.check_home_tool(home)
    history = invariants.check_history(home)  # data/archive/ too: what check-home cannot see
    halts = [e for e in events if e["type"] == "SESSION_HALTED"
             and str(e.get("reason", "")).startswith(UNKNOWN_BET)]
    checks = {
        "no_decision_placed_twice": not ledger["placed_twice"],
        "seq_strictly_increasing": not [p for p in ledger["problems"] if p.startswith("seq")],
        "bookmaker_matches_ledger": not one_to_one["problems"] and not left,
        "files_parse_and_keep_contracts": not files["problems"] and not tool.get("problems"),
        "killed_programs_back_in_time": not slow and len(kills) > 0,
        "no_reconcile_halts": not halts,
        "every_bet_settled_once_after_placement": not history["problems"],
        "no_processes_left": not leftover,
        "bets_placed": one_to_one["ledger_placed"] > 0,
        "ran_to_the_end": error is None,
    }
    types = ledger["types"]
    return {
        "ok": all(checks.values()), "checks": checks, "mode": args.mode, "seed": args.seed,
        "minutes": args.minutes, "speed": args.speed, "home": str(home.root),
        "kills": len(kills),
        "kills_by_program": dict(sorted(Counter(k["program"] for k in kills).items())),
        "recovery_s": {"max": max(times, default=None),
                       "p50": round(statistics.median(times), 3) if times else None,
                       "limit": args.max_recovery, "late": slow},
        "bets": {"intended": types.get("BET_INTENDED", 0), "placed": types.get("BET_PLACED", 0),
                 "failed": types.get("BET_FAILED", 0), "refused": types.get("BET_REFUSED", 0),
                 "settled": types.get("BET_SETTLED", 0), "at_bookmaker": len(bets)},
        "ledger_events": ledger["events"],
        "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "priority": priority(),
        "problems": ([error] if error else []) + ledger["problems"] + one_to_one["problems"]
        + files["problems"] + tool.get("problems", []) + history["problems"]
        + [f"in flight at the end: {r}" for r in left]
        + [f"reconcile halt: {e['reason']}" for e in halts[:5]]
        + [f"left running: {p}" for p in leftover[:5]],
        "files_checked": files["files"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, required=True, help="how long to kill programs")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--mode", choices=["paper", "live"], default="live")
    ap.add_argument("--json", action="store_true", help="print the summary on one line")
    ap.add_argument("--speed", type=float, default=1800, help="simulated s per real s")
    ap.add_argument("--every", default="2-4", help="real seconds between kills, MIN-MAX")
    ap.add_argument("--max-recovery", type=float, default=2.0, help="real seconds (DESIGN: 2)")
    ap.add_argument("--home", help="the home to use (default: a new temporary one, removed "
                                   "after a passing run)")
    args = ap.parse_args()
    every = tuple(float(x) for x in args.every.split("-"))
    root = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="betpipe-chaos-"))
    home = Home(root.resolve()).ensure()
    cfg = chaos_config(args.mode, args.speed)
    atomic_write_json(home.system_config, cfg)
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "BETPIPE_SOCK": str(home.socket),
           ENV_USER: os.environ.get(ENV_USER) or "chaos",
           ENV_PASSWORD: os.environ.get(ENV_PASSWORD) or secrets.token_urlsafe(16)}
    log = (lambda msg: print(f"chaos: {msg}", file=sys.stderr, flush=True))
    pipe = Pipeline(home, env)
    kills, bets, left, leftover, error = [], [], [], [], None
    try:
        pipe.start()
        if not pipe.all_running(120):
            raise RuntimeError("the pipeline did not come up within 120 s")
        if not first_bet(home, 180):  # kill while bets flow, not while Chromium warms up
            raise RuntimeError("no BET_PLACED within 180 s of the start")
        log(f"running in {home.root}; killing for {args.minutes} min (seed {args.seed})")
        kills = kill_loop(pipe, random.Random(args.seed), args.minutes * 60, every, log)
        pipe.all_running(60)
        left = quiesce(pipe, log)
        bets = bookmaker_bets(pipe, args.mode, f"http://127.0.0.1:{cfg['sandbox']['port']}")
    except Exception as e:  # reported in the summary, which then fails
        error = f"{type(e).__name__}: {e}"
        log(f"stopped early: {error}")
    finally:
        pipe.shutdown()
        leftover = leftovers(home)
        for line in leftover:  # processes of this run only (their command line names its home)
            try:
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
            except OSError:
                pass
    result = summary(args, home, kills, bets, left, leftover, error)
    print(orjson.dumps(result, option=0 if args.json else orjson.OPT_INDENT_2).decode())
    if result["ok"] and not args.home:
        shutil.rmtree(home.root, ignore_errors=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
