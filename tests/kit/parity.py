"""The parity runs' configuration (tests/e2e/test_parity.py says why these settings make live and
backtest comparable) and the ledger's bets and exposure refusals as they compare them."""
from __future__ import annotations

import orjson

from tests.kit.contracts import assert_contract, FOOTBALL_DATA

SEASON = FOOTBALL_DATA / "E0_2019-20.csv"
START, UNTIL = "2019-08-09T18:00:00Z", "2019-08-19T21:30:00Z"  # two weekends + a Monday game
LAST_MINUTE = {"from_minutes": 1, "to_minutes": 0}
SESSIONS = [
    {"id": "fav-flat", "selection": "favourite", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000},
    {"id": "dog-percent", "selection": "underdog", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "percent", "percent": 5}, "bankroll": 500},
    {"id": "fav-kelly", "selection": "favourite", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "kelly", "fraction": 0.5, "edge": 0.08}, "bankroll": 1000},
    # result-dependent plans: one bet at a time, the next one waits for the last one's result
    {"id": "dog-martingale", "selection": "underdog", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "martingale", "stake": 5, "factor": 2, "max_steps": 4},
     "bankroll": 1000},
    {"id": "dog-fibonacci", "selection": "underdog", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "fibonacci", "stake": 5}, "bankroll": 1000},
    {"id": "fav-ladder", "selection": "favourite", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "ladder", "stake": 10, "target": 20}, "bankroll": 1000},
    {"id": "ah-dog", "market": "AH", "selection": "underdog", "window": LAST_MINUTE,
     "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000},
    {"id": "ou-over-percent", "market": "OU", "selection": "over", "window": LAST_MINUTE,
     "staking": {"plan": "percent", "percent": 5}, "bankroll": 500},
    # risk controls: all sessions' stake on a match up to 100 (refused on most matches), and at
    # most three bets of 10 open at once (refused on the busiest Saturday)
    {"id": "fav-match-cap", "selection": "favourite", "odds": {"max": 10}, "window": LAST_MINUTE,
     "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000,
     "limits": {"max_exposure_match": 100}},
    {"id": "dog-session-cap", "selection": "underdog", "odds": {"max": 10},
     "window": LAST_MINUTE, "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000,
     "limits": {"max_exposure_session": 30}},
]
EXPOSURE = ("MatchExposure", "SessionExposure")
SESSION_IDS = [s["id"] for s in SESSIONS]
CONFIG = {
    "max_odds_age_s": 60,
    "clock": {"mode": "step", "start": START, "step_deadline_s": 60},
    "source": {"kind": "replay", "interval_s": 604800,  # price steps: at most one a week
               "replay": {"files": [str(SEASON)], "odds": "b365", "until": UNTIL}},
    "sessions": SESSIONS,
}


def live_bets(home) -> list[tuple]:
    events = [orjson.loads(line) for line in home.ledger.read_bytes().splitlines()]
    for ev in events:
        assert_contract("bet-record-event", ev)
    intents = {e["client_ref"]: e for e in events if e["type"] == "BET_INTENDED"}
    settled = {e["bet_ref"]: e for e in events if e["type"] == "BET_SETTLED"}
    out = []
    for e in events:
        if e["type"] == "BET_PLACED":
            intent = intents[e["client_ref"]]
            out.append((e["session"], intent["match_key"], intent.get("market", "1X2"),
                        intent.get("line"), intent["selection"], e["odds"], e["stake"],
                        settled[e["bet_ref"]]["profit"]))
    return sorted(out)


def live_refusals(home) -> list[tuple]:
    """(decision id, control) of the exposure controls' refusals in the ledger."""
    events = [orjson.loads(line) for line in home.ledger.read_bytes().splitlines()]
    return sorted((e["decision_id"], e["control"]) for e in events
                  if e["type"] == "BET_REFUSED" and e["control"] in EXPOSURE)
