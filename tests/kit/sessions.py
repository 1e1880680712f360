"""Sessions of every staking plan and selection, with limits, as the backtest and state tests
configure them."""
from __future__ import annotations

PLANS = {
    "flat": {"plan": "flat", "stake": 10},
    "percent": {"plan": "percent", "percent": 3},
    "kelly": {"plan": "kelly", "fraction": 0.5, "edge": 0.08},
    "martingale": {"plan": "martingale", "stake": 5, "factor": 2, "max_steps": 4},
    "fibonacci": {"plan": "fibonacci", "stake": 5, "max_steps": 6},
    "ladder": {"plan": "ladder", "stake": 5, "target": 40},
}
SIDE = {"home": "H", "draw": "D", "away": "A"}


def sessions(plan: str) -> list[dict]:
    st = PLANS[plan]
    return [
        {"id": f"{plan}-fav", "selection": "favourite", "odds": {"min": 1.3, "max": 2.6},
         "staking": st, "bankroll": 1000, "limits": {"max_stake": 60, "daily_loss": 25}},
        {"id": f"{plan}-dog", "selection": "underdog", "odds": {"min": 2.5}, "staking": st,
         "bankroll": 300, "limits": {"max_stake": 40, "max_open_bets": 3, "stop_loss": 250}},
        {"id": f"{plan}-draw", "selection": "draw", "staking": st, "bankroll": 200,
         "limits": {"max_bets": 60, "take_profit": 150}},
        {"id": f"{plan}-home", "selection": "home", "odds": {"max": 1.9}, "staking": st,
         "competitions": ["EPL"], "window": {"from_minutes": 10, "to_minutes": 5}},
    ]
