"""What each key of system-config.json means: the `description` of every field in the JSON Schema
(`betpipe config schema`, config/system-config.schema.json beside the config).

Kept here, one line per field, rather than as `Field(description=…)` in config.py: several
engineers add keys to config.py at once, and a description on every existing line would rewrite
the whole file under them. tests/core/test_config_schema.py fails when a field has no line here
(so a new key gets its description with it) or a line names no field.
"""
from __future__ import annotations

from pipeline.core.plans import PLAN_CLASSES

# the keys of the staking plans (core/plans.py); a new plan: its name in "plan", a line per new key
_STAKING = {
    "plan": "flat, percent (of bankroll), kelly, martingale, fibonacci or ladder",
    "stake": "the base stake (flat, martingale, fibonacci, ladder)",
    "percent": "percent of the current bankroll per bet (plan percent)",
    "fraction": "the share of the Kelly stake to bet, 0 < f <= 1 (plan kelly)",
    "edge": "the assumed edge over the margin-free price (plan kelly)",
    "factor": "multiplier after a loss (martingale)",
    "max_steps": "progression steps before going back to the base stake",
    "target": "the winnings at which a ladder ends and starts again (plan ladder)",
}

HELP: dict[str, dict[str, str]] = {
    "Config": {
        "$schema": "the JSON Schema of this file (editors read it; betpipe ignores it)",
        "mode": "paper: bets go to the sandbox bookmaker; live: to the real site",
        "log_level": "the lowest log level written; lower lines are dropped",
        "max_odds_age_s": "odds older than this (simulated seconds) make no bet",
        "halt": "true stops every new bet at once (open bets still settle)",
        "settle_overdue_h": "an open bet with no result this many simulated hours after kickoff is overdue",
        "clock": "the simulated clock: speed, start, anchored or step mode",
        "source": "where odds come from: sandbox, hkjc or a replay of CSVs",
        "sandbox": "the embedded sandbox bookmaker (paper mode)",
        "dashboard": "the web dashboard",
        "notify": "chat notifications (Discord or Telegram)",
        "execute": "how bets are placed: concurrency, timeouts, retry backoff",
        "browser": "the Chromium the browser programs start",
        "sessions": "the betting sessions: each a rule, a staking plan, a bankroll and limits",
        "model": "the model program: Dixon-Coles probabilities -> data/probabilities.json",
    },
    "Session": {
        "id": "unique name of the session (no '|'); appears in decisions, the ledger and reports",
        "enabled": "false: the session makes no new bets (its open bets still settle)",
        "category": "a free label to group sessions: betpipe sessions/status --category, "
                    "betpipe session enable --category",
        "competitions": "HKJC tournament codes to bet on (e.g. [\"EPL\"]); null: every competition",
        "selection": "which side to back: home, draw, away, favourite (shortest price), underdog "
                     "or value (the largest edge p x odds - 1, needs probability)",
        "odds": "bounds on the price taken",
        "window": "when before kickoff a bet may be placed",
        "slippage": "the share a price may fall between decision and placement and still be taken",
        "staking": "how much to stake on each bet",
        "bankroll": "the session's starting bankroll",
        "limits": "caps on stakes, open bets, exposure and losses; a breached limit halts the session",
        "review": "halt the session (reason review) when its results fall short; null: never",
        "market": "the market bet on: 1X2, AH (Asian handicap) or OU (total goals)",
        "line": "bounds on the handicap or total line (AH, OU); the main line inside them is bet",
        "probability": "where p comes from: {from: market, method}, {from: model} or, in CSV "
                       "backtests only, {from: reference, odds, method}",
        "min_edge": "selection value: the least edge p x odds - 1 bet on (AH, OU from the "
                    "model: the expected profit per unit staked)",
        "max_probability_age_h": "a model probability fitted this many hours before the odds "
                                 "makes no bet",
    },
    "LineBounds": {
        "min": "the lowest line taken; null: no lower bound",
        "max": "the highest line taken; null: no upper bound",
    },
    "Probability": {
        "from": "market (the margin-free price), model (data/probabilities.json) or reference "
                "(another bookmaker's columns of the CSV; backtests only)",
        "method": "margin removal: multiplicative, additive, power, shin or odds_ratio",
        "odds": "from reference: the reference source's columns (e.g. pinnacle)",
    },
    "ModelConfig": {
        "enabled": "true: the model program fits and writes data/probabilities.json",
        "refit_h": "simulated hours between refits (at most one refit per this interval)",
        "xi": "time decay of the fit's weights, per day",
        "data": "folder of football-data CSVs to train on; null: the sandbox's folder",
    },
    "Review": {
        "after_bets": "settled non-void bets since the reset before the review applies",
        "min_roi": "the ROI (profit / staked) below which the session halts, e.g. -0.05",
    },
    "OddsBounds": {
        "min": "the lowest price taken (> 1); null: no lower bound",
        "max": "the highest price taken (> 1); null: no upper bound",
    },
    "Window": {
        "from_minutes": "the earliest bet, in minutes before kickoff; null: as soon as odds show",
        "to_minutes": "the latest bet, in minutes before kickoff",
    },
    # one class per staking plan (core/plans.py): each names its own keys' lines of _STAKING
    **{plan.__name__: {k: _STAKING[k] for k in plan.model_fields if k in _STAKING}
       for plan in PLAN_CLASSES},
    "Limits": {
        "max_bets": "bets in total before the session stops",
        "max_stake": "the largest single stake; a bigger stake is cut to it",
        "max_open_bets": "unsettled bets at once",
        "max_exposure_match": "total stake open on one match",
        "max_exposure_session": "total stake open in the session",
        "daily_loss": "loss in one (simulated) day that halts the session for the day",
        "stop_loss": "total loss that halts the session",
        "take_profit": "total profit that halts the session",
        "max_duration_h": "hours (simulated) after the first bet that the session runs",
    },
    "ClockConfig": {
        "speed": "simulated seconds per real second",
        "start": "the simulated instant the clock starts at (ISO 8601); null: now",
        "mode": "anchored: time flows at speed; step: the replay advances when the programs are done",
        "step_deadline_s": "step mode: real seconds to wait for decide, execute and track",
    },
    "HkjcFullTime": {
        "stage_id": "stageId of the full-time entry in a matchResult answer",
        "result_type": "resultType of the full-time entry in a matchResult answer",
    },
    "HkjcConfig": {
        "odds_url": "HKJC's football odds page",
        "results_url": "HKJC's results page",
        "graphql_url": "HKJC's GraphQL endpoint",
        "results_every_s": "seconds between results reads while a result is due",
        "fulltime": "which results entry is full time; null refuses every results answer",
    },
    "ReplayConfig": {
        "files": "football-data CSVs to replay (relative to the home); null: every CSV of folder",
        "folder": "the folder of CSVs; null: the sandbox's data folder",
        "odds": "whose prices to replay: sandbox, b365, avg, max or pinnacle",
        "until": "step mode: the clock stops advancing at this instant (ISO 8601)",
    },
    "SourceConfig": {
        "kind": "sandbox (embedded bookmaker), hkjc (the real site) or replay (CSVs)",
        "url": "the odds site; null: the sandbox at sandbox.port",
        "interval_s": "seconds between odds reads",
        "timeout_s": "real seconds for a navigation, an answer or a page read",
        "hkjc": "HKJC's addresses and results reading",
        "replay": "what the replay source plays",
    },
    "SandboxConfig": {
        "port": "the sandbox bookmaker's HTTP port",
        "data": "the folder of football-data CSVs; null: ../shared/data/football-data",
        "suspend_before_min": "markets close this many minutes before kickoff",
        "liquidity": "depth of each outcome's constant-product pool (prices move with stakes)",
        "max_stake": "a bigger stake is refused (over_limit)",
        "postponed": "fixture ids or match keys that are postponed (their bets void)",
        "postponed_rate": "the share of all matches postponed, picked by postponed_seed",
        "postponed_seed": "the seed that picks postponed matches",
        "postponed_notice_min": "a postponement is announced this many minutes before kickoff",
    },
    "DashboardConfig": {
        "port": "the dashboard's HTTP port",
        "refresh_s": "real seconds between page refreshes",
    },
    "NotifyConfig": {
        "kind": "discord or telegram",
        "url": "webhook URL (else $BETPIPE_NOTIFY_URL); for telegram the API base",
        "chat_id": "Telegram's chat id (else $BETPIPE_TELEGRAM_CHAT)",
        "events": "which events are sent: placed, settled, halted, program, overdue",
        "per_minute": "messages per minute after a burst",
        "burst": "messages sent at once before per_minute applies",
        "program_grace_s": "real seconds a program is bad before an alert",
    },
    "ExecuteConfig": {
        "max_concurrent": "live mode: browser pages placing at once",
        "url": "live mode: the bookmaker's site; null: the sandbox",
        "timeout_s": "live mode: real seconds before a placement's outcome is unknown",
        "retry_base_s": "simulated seconds before the first retry after a retryable failure",
        "retry_max_s": "the longest wait between retries (simulated seconds)",
    },
    "BrowserConfig": {
        "executable": "the Chromium to run; null: $BETPIPE_CHROMIUM, Playwright's, the system's",
    },
}
