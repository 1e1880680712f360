"""The home a soak runs (pure): the replay source on real 2019-20 seasons of five leagues, the
step clock, paper mode, and two sessions of every staking plan across competitions (or, with
`--speed`, the sandbox source through Chromium on a fast clock).

The soak starts on 2019-08-09, the first day of the 2019-20 season (EPL and Ligue 1 kick off that
evening, the other leagues within two weeks), so every simulated day of a month has matches on
sale (a fixture is on sale for the 7 days before its kickoff; the September international break
has no kickoffs but prices keep moving for the matches after it).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.core.timefmt import iso, parse_iso

START = "2019-08-09T12:00:00Z"
SEASON = "2019-20"
LEAGUES = ("E0", "D1", "F1", "I1", "SP1")  # EPL, Bundesliga, Ligue 1, Serie A, La Liga
COMPETITIONS = ("EPL", "GSL", "FFL", "ISA", "SFL")  # config/competitions.json codes
PRICE_GRID_S = 3600  # the replay's price steps (source.interval_s): every simulated hour
PLANS = {
    "flat": {"plan": "flat", "stake": 10},
    "percent": {"plan": "percent", "percent": 1},
    "kelly": {"plan": "kelly", "fraction": 0.25, "edge": 0.1},
    "martingale": {"plan": "martingale", "stake": 2, "factor": 2, "max_steps": 4},
    "fibonacci": {"plan": "fibonacci", "stake": 2, "max_steps": 6},
    "ladder": {"plan": "ladder", "stake": 5, "target": 40},
}
WINDOWS = ({"from_minutes": 10080, "to_minutes": 60},  # the whole week on sale
           {"from_minutes": 1440, "to_minutes": 10})  # the last day
SELECTIONS = ("favourite", "underdog", "home", "away", "draw")


def season_files(folder: Path) -> list[Path]:
    """The 2019-20 CSVs of the five leagues that exist in `folder` (ValueError when none)."""
    files = [folder / f"{div}_{SEASON}.csv" for div in LEAGUES]
    found = [f for f in files if f.is_file()]
    if not found:
        raise ValueError(f"{folder}: none of {', '.join(f.name for f in files)}; the soak "
                         "replays those seasons (../shared/data/football-data, or "
                         "betpipe data fetch)")
    return found


def sessions(seed: int) -> list[dict]:
    """Two sessions of every plan: one over all competitions on the week's window, one over two
    (seeded) competitions on the last day's; seeded selections."""
    rng, out = random.Random(seed), []
    for name, staking in PLANS.items():
        for n, window in enumerate(WINDOWS, start=1):
            comps = None if n == 1 else sorted(rng.sample(COMPETITIONS, 2))
            out.append({"id": f"{name}-{n}", "selection": rng.choice(SELECTIONS),
                        **({"competitions": comps} if comps else {}),
                        "odds": {"min": 1.2, "max": 8}, "window": window,
                        "staking": staking, "bankroll": 100_000,
                        "limits": {"max_stake": 500, "max_open_bets": 20}})
    return out


def until(start: str, sim_days: float) -> datetime:
    return parse_iso(start) + timedelta(days=sim_days)


def soak_config(files: list[Path], sim_days: float, seed: int, sandbox_port: int,
                dashboard_port: int, start: str = START, speed: float | None = None) -> dict:
    """system-config.json of the soak home: the replay on the step clock; or, with `speed`, the
    sandbox bookmaker read by the monitor's Chromium on a fast anchored clock (one poll per real
    second, odds stale after 30 real seconds)."""
    common = {"mode": "paper", "halt": False, "sandbox": {"port": sandbox_port},
              "dashboard": {"port": dashboard_port}, "sessions": sessions(seed)}
    if speed:
        return {**common, "max_odds_age_s": 30 * speed, "clock": {"speed": speed, "start": start},
                "source": {"kind": "sandbox", "interval_s": speed}}
    return {
        **common, "max_odds_age_s": 3600,
        "clock": {"mode": "step", "start": start, "step_deadline_s": 60},
        "source": {"kind": "replay", "interval_s": PRICE_GRID_S,
                   "replay": {"files": [str(f) for f in files], "odds": "sandbox",
                              "until": iso(until(start, sim_days))}},
    }
