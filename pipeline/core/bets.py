"""A write-ahead intent and a placed bet, as replaying the ledger makes them (pipeline.core.state;
the names are imported from there too)."""
from __future__ import annotations

from dataclasses import dataclass

WINS = ("won", "half_won")  # settlement outcomes that count as won (hit rate)
LOSSES = ("lost", "half_lost")  # and as lost (a ladder cycle ends)


@dataclass(slots=True)
class Intent:
    decision_id: str
    session: str
    client_ref: str
    attempt: int
    match_key: str
    selection: str
    odds: float
    stake: float
    mode: str
    ts: str
    seq: int
    market: str = "1X2"  # 1X2 | AH | OU
    line: float | None = None  # AH (the home line) and OU


@dataclass(slots=True)
class Bet:
    decision_id: str
    session: str
    client_ref: str
    bet_ref: str
    match_key: str
    selection: str
    odds: float
    stake: float
    placed_at: str
    seq: int
    outcome: str | None = None  # won | half_won | void | half_lost | lost once settled
    payout: float = 0.0
    profit: float = 0.0
    settled_at: str | None = None
    settled_seq: int = 0  # seq of its BET_SETTLED
    market: str = "1X2"  # 1X2 | AH | OU
    line: float | None = None  # AH (the home line) and OU

    @property
    def open(self) -> bool:
        return self.outcome is None
