"""Prometheus metrics (text exposition format 0.0.4) from the dashboard's gathered state.

`families(state)` turns `pipeline.programs.dashboard.state.gather()`'s dict into metric families;
`render(families)` writes them as text. Durations of the odds snapshot are simulated seconds
(like `max_odds_age_s`) except `betpipe_scrape_duration_seconds`, which is real seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[dict, float]] = field(default_factory=list)

    def add(self, value, **labels) -> "Family":
        if value is not None:
            self.samples.append((labels, float(value)))
        return self


def _label(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def render(fams: list[Family]) -> str:
    lines = []
    for f in fams:
        lines.append(f"# HELP {f.name} {f.help}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        for labels, value in f.samples:
            inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{f.name}{{{inner}}} {_number(value)}" if inner else f"{f.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def families(state: dict) -> list[Family]:
    fams = []

    def fam(name, kind, help_text) -> Family:
        fams.append(Family(name, kind, help_text))
        return fams[-1]

    up = fam("betpipe_program_up", "gauge", "1 when the program beats its health file")
    st = fam("betpipe_program_state", "gauge", "the program's health state (1 for the current one)")
    age = fam("betpipe_program_beat_age_seconds", "gauge", "real seconds since the last beat")
    errors = fam("betpipe_program_errors_total", "counter", "errors counted in the program's health")
    counters = fam("betpipe_program_counter", "gauge", "every counter of the program's health file")
    for name, p in state["programs"].items():
        up.add(1 if p["liveness"] == "running" else 0, program=name)
        for s in ("ok", "degraded", "failing"):
            st.add(1 if p.get("state") == s else 0, program=name, state=s)
        age.add(p.get("beat_age_s"), program=name)
        c = p.get("counters") or {}
        errors.add(sum(v for k, v in c.items() if "error" in k or "fail" in k), program=name)
        for k, v in sorted(c.items()):
            counters.add(v, program=name, counter=k)

    events = fam("betpipe_ledger_events_total", "counter", "ledger events by type and session")
    placed = fam("betpipe_bets_placed_total", "counter", "bets placed (BET_PLACED), all time")
    settled = fam("betpipe_bets_settled_total", "counter", "bets settled by outcome, all time")
    for kind, per_session in sorted(state["event_counts"].items()):
        for session, n in sorted(per_session.items()):
            events.add(n, type=kind, session=session)
    for s in state["sessions"]:
        placed.add(state["event_counts"].get("BET_PLACED", {}).get(s["id"], 0), session=s["id"])
    for sid, outcomes in sorted(state["settled_counts"].items()):
        for outcome, n in sorted(outcomes.items()):
            settled.add(n, session=sid, outcome=outcome)

    per_session = {
        "enabled": ("betpipe_session_enabled", "1 when the session is enabled in the config"),
        "bankroll": ("betpipe_session_bankroll", "starting bankroll + settled profit"),
        "staked": ("betpipe_session_staked", "stakes of every placed bet but void ones"),
        "profit": ("betpipe_session_profit", "settled profit of every settlement"),
        "open": ("betpipe_session_open_bets", "placed bets not settled yet"),
        "in_flight": ("betpipe_session_in_flight", "intents without an outcome yet"),
    }
    for key, (name, help_text) in per_session.items():
        f = fam(name, "gauge", help_text)
        for s in state["sessions"]:
            f.add(s.get(key), session=s["id"])
    since = fam("betpipe_session_profit_since_reset", "gauge",
                "settled profit since the last reset (what stop_loss and take_profit see)")
    for s in state["sessions"]:
        since.add((s.get("since_reset") or {}).get("profit"), session=s["id"])
    halted = fam("betpipe_session_halted", "gauge", "1 while the session is halted")
    standing = fam("betpipe_standing_decisions", "gauge", "standing decisions per session")
    by_session: dict[str, int] = {s["id"]: 0 for s in state["sessions"]}
    for d in state["decisions"]:
        by_session[d.get("session", "?")] = by_session.get(d.get("session", "?"), 0) + 1
    for s in state["sessions"]:
        halted.add(1 if s.get("halted") else 0, session=s["id"])
    for sid, n in by_session.items():
        standing.add(n, session=sid)

    odds = state["odds"]
    fam("betpipe_odds_age_seconds", "gauge",
        "simulated seconds since the odds snapshot was fetched").add(odds.get("age_s"))
    fam("betpipe_odds_price_age_max_seconds", "gauge",
        "simulated seconds since the stalest price on sale was seen").add(odds.get("max_price_age_s"))
    fam("betpipe_scrape_duration_seconds", "gauge",
        "real seconds the last odds snapshot took to fetch").add(odds.get("scrape_s"))
    fam("betpipe_odds_matches", "gauge", "matches in the odds snapshot").add(odds.get("matches"))
    fam("betpipe_odds_on_sale", "gauge", "matches with prices on sale").add(odds.get("on_sale"))
    fam("betpipe_odds_version", "gauge", "version of the odds snapshot").add(odds.get("version"))
    fam("betpipe_ledger_seq", "gauge", "the ledger's last seq").add(state["ledger_seq"])
    fam("betpipe_config_valid", "gauge", "1 when system-config.json validates").add(
        1 if state["config"]["ok"] else 0)
    return fams
