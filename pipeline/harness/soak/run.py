"""The soak (scripts/soak --sim-days N): the real supervisord.conf on a temporary home with the
replay source and the step clock (`pipeline.harness.soak.plan`), sampled every few simulated hours.
With `--speed S` the source is the sandbox bookmaker read by the monitor's Chromium on a clock
S times real time instead, so that the browser's processes are sampled too.

It starts supervisord as scripts/chaos does (`pipeline.harness.supervise.Pipeline`: `betpipe clock
anchor`, then supervisord, driven over its socket), waits until simulated time reaches start + N days,
samples every program's RSS, open fds and threads (`pipeline.harness.soak.sample`, the pids from
supervisord's XML-RPC) and the home's browser processes, stops everything cleanly, then checks
the ledger and the files (`pipeline.harness.invariants`, ../shared/tools/check-home.py) and
prints one JSON summary (`pipeline.harness.soak.report`).

Exit 0 even when a goal is missed (the JSON says so); 1 when the pipeline broke: a program
restarted more than once, the clock stalled, an invariant failed, a process was left behind.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import xmlrpc.client
from datetime import timedelta
from pathlib import Path

import orjson

from pipeline.core.clock import ClockError, load_clock
from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.health import read_health
from pipeline.core.paths import Home, football_data_dir
from pipeline.core.timefmt import parse_iso
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER
from pipeline.harness.soak import plan
from pipeline.harness.supervise import Pipeline, free_port, leftovers, quiesce
from pipeline.harness.soak.report import checks, summary
from pipeline.harness.soak.sample import browser_pids, sample_pid
from pipeline.bookmakers.paper import PaperBookmaker

POLL_S = 0.25  # real seconds between looks at the clock and supervisord's pids
WEB_PROGRAMS = ("bookmaker", "dashboard")


def sim_day(home: Home, start) -> float:
    """Simulated days since `start` by the home's clock (0 while its file is unreadable)."""
    try:
        return (load_clock(home.clock).now() - start) / timedelta(days=1)
    except ClockError:
        return 0.0


def finished(home: Home, day: float, sim_days: float) -> bool:
    """The replay reached `until` (step mode); the fast clock passed the last day (sandbox)."""
    if read_json_or_empty(home.clock).get("mode") == "step":
        return (read_health(home, "monitor") or {}).get("replay") == "finished"
    return day >= sim_days


def read_json_or_empty(path: Path) -> dict:
    try:
        doc = read_json(path)
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def serving(home: Home) -> bool:
    """The web programs have bound their ports (their health carries the url)."""
    return all((read_health(home, p) or {}).get("url") for p in WEB_PROGRAMS)


class Sampler:
    """Every program's samples by supervisord's pids; the home's browsers; pids seen."""

    def __init__(self, pipe, home: Home):
        self.pipe, self.home = pipe, home
        self.samples: dict[str, list[dict]] = {}
        self.pids: dict[str, list[int]] = {}
        self.browsers: set[int] = set()
        self.browser_samples: list[dict] = []  # {"sim_day", "count", "rss_mb_sum"}
        self.first: tuple[float, float] | None = None  # (monotonic s, sim day) of the first sample

    def processes(self) -> dict[str, dict]:
        try:
            procs = self.pipe.processes()
        except (OSError, xmlrpc.client.Fault):
            return {}
        for name, p in procs.items():
            seen = self.pids.setdefault(name, [])
            if p["pid"] and p["pid"] not in seen:
                seen.append(p["pid"])
        return procs

    def take(self, day: float) -> None:
        for name, p in sorted(self.processes().items()):
            got = sample_pid(p["pid"]) if p["statename"] == "RUNNING" and p["pid"] else None
            if got:
                self.samples.setdefault(name, []).append({"sim_day": round(day, 4), **got})
        found = browser_pids(self.home.data / "browser")
        self.browsers.update(found)
        rss = [got["rss_mb"] for got in map(lambda pid: sample_pid(pid, reads=1), found) if got]
        self.browser_samples.append({"sim_day": round(day, 4), "count": len(found),
                                     "rss_mb_sum": round(sum(rss), 1)})


def drive(home: Home, sampler: Sampler, start, sim_days: float, every_h: float,
          stall_s: float, log) -> None:
    """Sample until the end (`finished`); RuntimeError when the clock stalls for `stall_s`."""
    last_day, moved_at, next_day, first = -1.0, time.monotonic(), None, True
    while True:
        day = sim_day(home, start)
        if day != last_day:
            last_day, moved_at = day, time.monotonic()
        done = finished(home, day, sim_days)
        if first and ((day > 0 and serving(home)) or done):  # the start: a first step
            sampler.take(day)
            sampler.first = (time.monotonic(), day)
            first, next_day = False, day + every_h / 24
            log(f"first step done; sampling every {every_h} simulated hours")
        elif next_day is not None and (day >= next_day or done):
            sampler.take(day)
            while next_day <= day:
                next_day += every_h / 24
            log(f"sim day {day:.2f} of {sim_days}")
        else:
            sampler.processes()
        if done and not first:
            return
        if time.monotonic() - moved_at > stall_s:
            raise RuntimeError(f"the step clock did not move for {stall_s:.0f} real seconds "
                               f"(sim day {day:.3f}); see {home.logs}/monitor.log")
        time.sleep(POLL_S)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim-days", type=float, required=True)
    ap.add_argument("--home", help="a new home to use (default: a new temporary one, removed "
                                   "after a run that did not break)")
    ap.add_argument("--seed", type=int, default=1, help="sessions' selections and competitions")
    ap.add_argument("--json-out", help="also write the summary to this file")
    ap.add_argument("--sample-hours", type=float, default=3.0, help="simulated hours per sample")
    ap.add_argument("--warmup-hours", type=float, default=12.0,
                    help="simulated hours before the fds/threads 'start' figure (a first bet "
                         "and settlement open what programs keep open, e.g. the ledger lock)")
    ap.add_argument("--speed", type=float,
                    help="instead of the replay on the step clock: the sandbox source through "
                         "the monitor's Chromium on a clock this fast (simulated s per real s, "
                         "e.g. 3600: a simulated day in 24 real seconds)")
    ap.add_argument("--stall-s", type=float, default=180.0,
                    help="real seconds without a clock step before the soak gives up")
    ap.add_argument("--start", default=plan.START, help="simulated start (inside a season)")
    return ap.parse_args(argv)


def prepare(args) -> tuple[Home, dict]:
    """The home with its config; the environment supervisord gets."""
    root = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="betpipe-soak-"))
    home = Home(root.resolve())
    if home.ledger.exists() or home.clock.exists():
        raise SystemExit(f"scripts/soak: {home.root} has run before ({home.clock.name} or "
                         f"{home.ledger.name} exists); a soak needs a new home")
    home.ensure()
    files = plan.season_files(football_data_dir(home))
    cfg = plan.soak_config(files, args.sim_days, args.seed, free_port(), free_port(),
                           start=args.start, speed=args.speed)
    atomic_write_json(home.system_config, cfg)
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "BETPIPE_SOCK": str(home.socket),
           ENV_USER: os.environ.get(ENV_USER) or "soak",
           ENV_PASSWORD: os.environ.get(ENV_PASSWORD) or secrets.token_urlsafe(16)}
    return home, env


def real_figures(t0: float, t_end: float | None, end_day: float | None,
                 first: tuple[float, float] | None, load_before: float) -> dict:
    """Real seconds of the whole run and of the stepping alone (first sample → end)."""
    stepped = (t_end - first[0], end_day - first[1]) if t_end and first else None
    return {"run_s": round((t_end or time.monotonic()) - t0, 1),
            "stepping_s": round(stepped[0], 1) if stepped else None,
            "stepped_sim_days": round(stepped[1], 3) if stepped else None,
            "sim_days_reached": None if end_day is None else round(end_day, 3),
            "total_s": round(time.monotonic() - t0, 1),
            "load_avg_1m": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
            "cpus": os.cpu_count()}


def soak(args, log) -> tuple[dict, Home]:
    home, env = prepare(args)
    pipe, sampler = Pipeline(home, env), None
    start = parse_iso(args.start)
    error, left, bets, leftover = None, [], [], []
    load_before, t0 = os.getloadavg()[0], time.monotonic()
    t_end = end_day = None
    try:
        pipe.start()
        sampler = Sampler(pipe, home)
        if not pipe.all_running(120):
            raise RuntimeError("the pipeline did not come up within 120 s")
        log(f"running in {home.root}: {args.sim_days} simulated days from {args.start}")
        drive(home, sampler, start, args.sim_days, args.sample_hours, args.stall_s, log)
        t_end, end_day = time.monotonic(), sim_day(home, start)
        left = quiesce(pipe, log)
        bets = PaperBookmaker.history(home)  # the paper bookmaker's own record
    except Exception as e:  # reported in the summary, which then says the pipeline broke
        error = f"{type(e).__name__}: {e}"
        log(f"stopped early: {error}")
    finally:
        pipe.shutdown()
        leftover = leftovers(home)
        for line in leftover:  # processes of this run only (their environment names its home)
            try:
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
            except OSError:
                pass
    real = real_figures(t0, t_end, end_day, sampler.first if sampler else None, load_before)
    found = checks(home, bets, left)
    result = summary(args, home, sampler, real, found, error, leftover)
    return result, home


def main(argv=None) -> int:
    args = parse_args(argv)
    log = (lambda msg: print(f"soak: {msg}", file=sys.stderr, flush=True))
    result, home = soak(args, log)
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    print(text)
    if not result["broke"] and not args.home:
        shutil.rmtree(home.root, ignore_errors=True)
    return 1 if result["broke"] else 0


if __name__ == "__main__":
    sys.exit(main())
