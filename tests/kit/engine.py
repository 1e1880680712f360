"""The decision engine's test documents: five minutes before kick-off, a match in the engine's
argument order, an odds-data snapshot checked against its contract, a favourite session's
config, a session block and decisions.json of an outcome."""
from __future__ import annotations

from pipeline.core.config import Config
from pipeline.core.timefmt import iso, parse_iso
from tests.kit import builders
from tests.kit.builders import KEY, KICKOFF
from tests.kit.contracts import assert_contract

NOW = parse_iso("2024-10-05T13:55:00Z")


def match(key=KEY, kickoff=KICKOFF, odds=(3.10, 3.40, 2.10), status="scheduled", seen_at=None,
          competition="EPL"):
    return builders.match(key, status=status, odds=odds, seen_at=seen_at, kickoff=kickoff,
                          competition=competition)


def snapshot(*matches, fetched_at=iso(NOW), version=1):
    doc = builders.odds_doc(*(matches or [match()]), version=version, fetched_at=fetched_at)
    assert_contract("odds-data", doc)
    return doc


def config(*sessions, **over) -> Config:
    fav = {"id": "fav", "competitions": ["EPL"], "selection": "favourite",
           "odds": {"min": 1.5, "max": 2.2}, "window": {"from_minutes": 10, "to_minutes": 0},
           "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000,
           "limits": {"max_stake": 50, "max_open_bets": 5}}
    doc = {"max_odds_age_s": 90, "sessions": list(sessions) or [fav], **over}
    return Config.model_validate(doc)


def sess(**over) -> dict:
    base = {"id": "fav", "selection": "favourite", "staking": {"plan": "flat", "stake": 10}}
    return {**base, **over}


def doc_of(outcome, odds_version=1) -> dict:
    return {"version": 1, "written_at": iso(NOW), "odds_version": odds_version,
            "config_version": 1, "decisions": outcome.decisions, "notes": outcome.notes}
