"""The soak's checks and its one JSON summary (pure but for reading the stopped home's files).

Goals (issue 8), evaluated as booleans: 30 simulated days in under 15 real minutes (from this
run's pace), each Python program's RSS slope over the second half ≤ 1 MB per simulated day, its
largest RSS ≤ 80 MB, and its open fds and threads equal at the start and the end. A missed goal
is reported; what makes `broke` (exit 1) is a program restarted more than once, an error
(the pipeline did not come up, the clock stalled), a failed invariant or a process left behind.
"""
from __future__ import annotations

from pipeline.core.health import read_health
from pipeline.core.paths import Home
from pipeline.harness.soak.sample import program_figures
from pipeline.harness import invariants

GOAL_REAL_S_FOR_30_DAYS = 15 * 60
GOAL_SLOPE_MB_PER_DAY = 1.0
GOAL_MAX_RSS_MB = 80.0


def checks(home: Home, bets: list[dict], in_flight: list[str]) -> dict:
    """The ledger and the files of the stopped home against the invariants."""
    events = invariants.ledger_events(home)
    ledger = invariants.check_ledger(events)
    one_to_one = invariants.check_one_to_one(bets, events, "paper")
    files = invariants.check_files(home)
    tool = invariants.check_home_tool(home)
    history = invariants.check_history(home)  # data/archive/ too: what check-home cannot see
    problems = (ledger["problems"] + one_to_one["problems"] + files["problems"]
                + [f"check-home.py: {p}" for p in tool.get("problems", [])]
                + [f"history: {p}" for p in history["problems"]]
                + [f"in flight at the end: {ref}" for ref in in_flight])
    return {"events": events, "types": ledger["types"], "at_bookmaker": len(bets),
            "invariants": {"ok": not problems, "problems": problems[:20],
                           "files_checked": files["files"], "ledger_events": ledger["events"]}}


def placed_by_session(events: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for e in events:
        if e.get("type") in ("BET_PLACED", "BET_SETTLED"):
            row = out.setdefault(e["session"], {"placed": 0, "settled": 0})
            row["placed" if e["type"] == "BET_PLACED" else "settled"] += 1
    return dict(sorted(out.items()))


def goals(programs: dict[str, dict], real: dict) -> dict:
    """The pace is that of the stepping (first sample → end of the replay), start-up excluded."""
    measured = [f for f in programs.values() if f.get("samples")]
    days = real.get("stepped_sim_days")
    pace = real["stepping_s"] / days * 30 if days else None
    slopes = [f["rss_slope_mb_per_sim_day"] for f in measured]
    return {
        "projected_real_s_for_30_sim_days": None if pace is None else round(pace, 1),
        "30_sim_days_under_15_real_min": pace is not None and pace < GOAL_REAL_S_FOR_30_DAYS,
        "rss_slope_le_1mb_per_sim_day": bool(measured) and all(
            s is not None and s <= GOAL_SLOPE_MB_PER_DAY for s in slopes),
        "max_rss_le_80mb_each": bool(measured) and all(
            f["max_rss_mb"] <= GOAL_MAX_RSS_MB for f in measured),
        "fds_start_eq_end": bool(measured) and all(
            f["fds"]["start"] == f["fds"]["end"] for f in measured),
        "threads_start_eq_end": bool(measured) and all(
            f["threads"]["start"] == f["threads"]["end"] for f in measured),
    }


def browser_figures(sampler) -> dict:
    """The home's Chromium processes: how many at once, their summed RSS (shared pages are
    counted in each process: an upper bound), at the first and the last sample."""
    rows = sampler.browser_samples if sampler else []
    if not rows:
        return {"pids_seen": 0, "samples": 0}
    return {"pids_seen": len(sampler.browsers), "samples": len(rows),
            "max_at_once": max(r["count"] for r in rows),
            "count": {"first": rows[0]["count"], "end": rows[-1]["count"]},
            "rss_mb_sum": {"first": rows[0]["rss_mb_sum"], "end": rows[-1]["rss_mb_sum"],
                           "max": max(r["rss_mb_sum"] for r in rows)}}


def summary(args, home: Home, sampler, real: dict, found: dict, error: str | None,
            leftover: list[str]) -> dict:
    samples = sampler.samples if sampler else {}
    warmup = min(args.warmup_hours / 24, args.sim_days / 2)
    programs = {name: program_figures(s, args.sim_days, warmup)
                for name, s in sorted(samples.items())}
    for name, pids in (sampler.pids.items() if sampler else ()):  # pids between samples too
        fig = programs.setdefault(name, {"samples": 0})
        fig["pids"], fig["restarts"] = pids, len(pids) - 1
    types = found["types"]
    monitor = read_health(home, "monitor") or {}
    broke = ([error] if error else []) + found["invariants"]["problems"][:5]
    broke += [f"{name} restarted {f['restarts']} times" for name, f in programs.items()
              if f.get("restarts", 0) > 1]
    broke += [f"left running: {p}" for p in leftover[:5]]
    result_goals = goals(programs, real)
    return {
        "ok": not broke and all(v for v in result_goals.values() if isinstance(v, bool)),
        "broke": broke, "goals": result_goals,
        "sim_days": args.sim_days, "start": args.start, "seed": args.seed,
        "source": "sandbox (Chromium)" if args.speed else "replay (step clock)",
        "speed": args.speed,
        "sample_every_sim_h": args.sample_hours, "warmup_sim_h": round(warmup * 24, 2),
        "real": real,
        "steps": monitor.get("counters", {}).get("steps"),
        "late_steps": monitor.get("counters", {}).get("late_steps"),
        "replay": monitor.get("replay"),
        "bets": {"intended": types.get("BET_INTENDED", 0), "placed": types.get("BET_PLACED", 0),
                 "failed": types.get("BET_FAILED", 0), "refused": types.get("BET_REFUSED", 0),
                 "settled": types.get("BET_SETTLED", 0),
                 "halted": types.get("SESSION_HALTED", 0),
                 "at_bookmaker": found["at_bookmaker"]},
        "by_session": placed_by_session(found["events"]),
        "invariants": found["invariants"],
        "programs": programs,
        "browsers": browser_figures(sampler),
        "leftover_processes": leftover,
        "home": str(home.root),
    }
