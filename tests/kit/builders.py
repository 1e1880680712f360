"""Plain documents as the programs read and write them: matches, odds-data, decisions, configs,
ledger events; and the ledger read back as plain dicts."""
from __future__ import annotations

from datetime import timedelta

import orjson

from pipeline.core.config import Config
from pipeline.core.events import from_dicts
from pipeline.core.paths import Home
from pipeline.core.state import Book, replay
from pipeline.core.timefmt import iso, parse_iso

T0 = "2024-10-05T12:00:00Z"
KICKOFF = "2024-10-05T14:00:00Z"
KEY = "2024-25_Southampton v Arsenal"


def at(seconds: float, base: str = T0) -> str:
    return iso(parse_iso(base) + timedelta(seconds=seconds))


def match(key: str = KEY, *, status: str = "scheduled", odds=(3.1, 3.4, 2.1),
          seen_at: str | None = T0, result=None, kickoff: str = KICKOFF,
          competition: str = "EPL") -> dict:
    home, away = key.split("_", 1)[1].split(" v ")
    m = {"key": key, "season": "2024-25", "competition": competition, "home": home, "away": away,
         "kickoff": kickoff, "status": status,
         "odds": dict(zip(("home", "draw", "away"), odds)) if odds else None, "result": result}
    if seen_at:
        m["seen_at"] = seen_at
    return m


def history_line_match(key="2019-20_Arsenal v Burnley", home=2.0, status="scheduled", result=None,
                       **extra) -> dict:
    """An odds-history match (pipeline.history.store): home price `home`, odds only while
    scheduled; `extra` adds handicap/totals."""
    return {"key": key, "season": "2019-20", "competition": "E0", "home": "Arsenal",
            "away": "Burnley", "kickoff": "2019-08-17T14:00:00Z", "status": status,
            "odds": None if status != "scheduled" else {"home": home, "draw": 3.4, "away": 4.1},
            "result": result, **extra}


def odds_doc(*matches: dict, version: int = 1, fetched_at: str = T0) -> dict:
    return {"version": version, "written_at": fetched_at, "source": "sandbox",
            "fetched_at": fetched_at, "matches": list(matches) or [match()]}


def decision(key: str = KEY, *, session: str = "s1", selection: str = "away", odds: float = 2.1,
             min_odds: float = 2.05, stake: float = 10.0, expires_at: str = at(3600)) -> dict:
    return {"id": f"{session}|{key}|1X2", "session": session, "match_key": key, "market": "1X2",
            "selection": selection, "odds": odds, "odds_at": T0, "min_odds": min_odds,
            "stake": stake, "reason": "test", "created_at": T0, "expires_at": expires_at}


def decisions_doc(*decisions: dict, version: int = 1) -> dict:
    return {"version": version, "written_at": T0, "odds_version": 1, "config_version": 1,
            "decisions": list(decisions)}


def config_doc(*, limits: dict | None = None, bankroll: float = 1000, max_odds_age_s: float = 300,
               sessions: list[str] = ("s1",), **top) -> dict:
    return {"mode": "paper", "max_odds_age_s": max_odds_age_s,
            "sessions": [{"id": sid, "selection": "away", "bankroll": bankroll,
                          "staking": {"plan": "flat", "stake": 10}, "limits": limits or {}}
                         for sid in sessions], **top}


def config(**kw) -> Config:
    return Config.model_validate(config_doc(**kw))


def ledger_events(home: Home) -> list[dict]:
    if not home.ledger.exists():
        return []
    return [orjson.loads(line) for line in home.ledger.read_bytes().splitlines() if line.strip()]


def replay_lines(lines: list[dict]) -> Book:
    """The Book of ledger lines (dicts, as a test writes them or reads the file): each becomes
    its event (core.events) first, as the ledger converts what it reads."""
    return replay(from_dicts(lines))


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def bet(session, key, selection, odds, stake, n):
    """A paper bet's BET_INTENDED and BET_PLACED events (bet_ref P-`n`)."""
    did = f"{session}|{key}|1X2"
    return [{"type": "BET_INTENDED", "session": session, "decision_id": did,
             "client_ref": f"{did}#1", "attempt": 1, "match_key": key, "selection": selection,
             "odds": odds, "stake": stake, "mode": "paper"},
            {"type": "BET_PLACED", "session": session, "decision_id": did, "client_ref": f"{did}#1",
             "bet_ref": f"P-{n}", "odds": odds, "stake": stake, "match_key": key,
             "selection": selection}]


def place(ledger, key: str, *, odds=2.0, stake=10.0, session="s1", selection="away") -> None:
    """Append a paper bet's BET_INTENDED and BET_PLACED to `ledger` (a Ledger); its bet_ref is
    P-<the intent's seq>."""
    intent, placed = bet(session, key, selection, odds, stake, len(ledger.read()) + 1)
    ledger.append(intent)
    ledger.append(placed)


def bet_at(ledger, clock, session: str, key: str, ref: str, *, odds=2.0, stake=10.0) -> None:
    """Append a paper bet on away (bet_ref `ref`): its intent, then a second later on `clock`
    (a FakeClock) its placement."""
    intent, placed = bet(session, key, "away", odds, stake, 0)
    ledger.append(intent)
    clock.advance(1)
    ledger.append({**placed, "bet_ref": ref})


def settle_at(ledger, clock, session: str, key: str, ref: str, outcome: str, payout: float,
              profit: float) -> None:
    """Append the settlement of bet `ref` an hour later on `clock`."""
    clock.advance(3600)
    ledger.append({"type": "BET_SETTLED", "session": session, "decision_id": f"{session}|{key}|1X2",
                   "bet_ref": ref, "outcome": outcome, "payout": payout, "profit": profit})
