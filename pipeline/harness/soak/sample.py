"""What the soak measures of a process (psutil), and the figures made of it.

Pure functions a test can call: `sample_pid` (RSS, open fds, threads of one pid), `browser_pids`
(Chromium processes of a home, by the `--user-data-dir` under its data/browser/), `slope` (least
squares) and `program_figures` (one program's samples → its summary figures).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

PROC = Path("/proc")  # fd_targets only: psutil names no pipe or socket an fd points at


def sample_pid(pid: int, reads: int = 3) -> dict | None:
    """{"pid", "rss_mb", "fds", "threads"} of a live process; None when it is gone or a zombie.

    fds and threads are the fewest of `reads` looks a few milliseconds apart, so a file being
    read (or a short-lived worker thread) at that instant is not taken for a leak."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        rss = round(proc.memory_info().rss / 2**20, 2)
        fds, threads = [], []
        for n in range(reads):
            if n:
                time.sleep(0.005)
            fds.append(proc.num_fds())
            threads.append(proc.num_threads())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    return {"pid": pid, "rss_mb": rss, "fds": min(fds), "threads": min(threads),
            "fd_targets": fd_targets(pid)}


def fd_targets(pid: int, proc: Path = PROC) -> list[str]:
    """What a process's fds point at (files, sockets, pipes), sorted; [] when it is gone."""
    base = proc / str(pid) / "fd"
    out = []
    try:
        names = os.listdir(base)
    except OSError:
        return []
    for name in names:
        try:
            out.append(os.readlink(base / name))
        except OSError:
            continue  # closed meanwhile
    return sorted(out)


def _kind(target: str) -> str:
    """socket:[123] → socket: the inode differs between processes and runs."""
    return target.split(":[", 1)[0] if ":[" in target else target


def fd_change(first: list[str], last: list[str]) -> dict:
    """Targets open at the end and not at the start ("new"), and the other way ("gone")."""
    a, b = [_kind(t) for t in first], [_kind(t) for t in last]
    new, gone = list(b), []
    for t in a:
        if t in new:
            new.remove(t)
        else:
            gone.append(t)
    return {"new": new, "gone": gone}


def browser_pids(profile_root: Path) -> list[int]:
    """Chromium processes whose --user-data-dir lies under `profile_root` (a home's
    data/browser): the browsers of that home, never processes found by name."""
    mark = f"--user-data-dir={profile_root}"
    return sorted(p.pid for p in psutil.process_iter(["cmdline"])
                  if mark in "\0".join(p.info["cmdline"] or ()))


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (x, y) points; None with fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def program_figures(samples: list[dict], sim_days: float, warmup_days: float = 0.0) -> dict:
    """One program's samples ({"sim_day", "pid", "rss_mb", "fds", "threads"}, in time order) →
    max RSS, the RSS slope over the second half in MB per simulated day, the pids seen (a new pid
    is a restart), and fds and threads at the first sample, at the start (the first sample after
    `warmup_days`, once every kind of work — a bet, a settlement — has opened what it keeps
    open) and at the end; `fds_changed` names what differs between start and end."""
    if not samples:
        return {"samples": 0}
    half = [(s["sim_day"], s["rss_mb"]) for s in samples if s["sim_day"] >= sim_days / 2]
    first, last = samples[0], samples[-1]
    start = next((s for s in samples if s["sim_day"] >= warmup_days), last)
    pids = list(dict.fromkeys(s["pid"] for s in samples))
    s = slope(half)

    def counts(key: str) -> dict:
        return {"first": first[key], "start": start[key], "end": last[key],
                "max": max(x[key] for x in samples)}

    out = {"samples": len(samples), "max_rss_mb": max(x["rss_mb"] for x in samples),
           "rss_first_mb": first["rss_mb"], "rss_end_mb": last["rss_mb"],
           "rss_slope_mb_per_sim_day": None if s is None else round(s, 3),
           "slope_samples": len(half), "start_sim_day": start["sim_day"],
           "fds": counts("fds"), "threads": counts("threads"), "pids": pids,
           "restarts": len(pids) - 1}
    if start["fds"] != last["fds"]:
        out["fds_changed"] = fd_change(start.get("fd_targets", []), last.get("fd_targets", []))
    return out
