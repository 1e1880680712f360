"""The configuration of the end-to-end pipeline runs (tests/e2e, tests/security)."""
from __future__ import annotations

SPEED = 300  # simulated seconds per real second
START = "2019-08-09T17:30:00Z"  # 90 simulated min (18 real s) before the first kickoff: room to start


def e2e_config(sandbox_port: int, dashboard_port: int) -> dict:
    return {
        "mode": "paper",
        "max_odds_age_s": 30 * SPEED,  # 30 real seconds at this speed
        "clock": {"speed": SPEED, "start": START},
        "source": {"kind": "sandbox", "interval_s": 30},
        "sandbox": {"port": sandbox_port},
        "dashboard": {"port": dashboard_port},
        "sessions": [
            {"id": "fav-week", "competitions": ["EPL"], "selection": "favourite",
             "odds": {"min": 1.05, "max": 3.0}, "window": {"from_minutes": 10080, "to_minutes": 0},
             "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000},
        ],
    }
