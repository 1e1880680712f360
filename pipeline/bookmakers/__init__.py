"""Bookmakers the executor places bets with (DESIGN: programs, invariant 1).

A `Bookmaker` answers every placement with a `Placement` that says which of three things
happened: the bet was **placed** (bet_ref, odds taken), it was **certainly not placed** (with a
reason, and whether trying again may work), or its effect is **unknown** (the request may have
reached the bookmaker). An unknown effect is never written as a failure: the executor reconciles
it with `lookup(client_ref)` first. `lookup` is also how a restart resolves a write-ahead
`BET_INTENDED` that has no outcome. A bookmaker must accept a `client_ref` at most once.

Two implement it: `paper` (paper.py, the default) and `sandbox` (sandbox.py, live mode: the
sandbox's bet slip filled in Chromium). A bookmaker that can place several bets at once says how
many in an optional `concurrent` attribute (default 1); its `place` is then called from that many
threads at once, and the executor still records the outcomes in decision order. A bookmaker that
cannot be reached answers not_placed with a reason starting UNREACHABLE; `reachable()` then says
when it is back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pipeline.core.files import UNREACHABLE  # noqa: F401  (a reason every bookmaker may give)

PLACED, NOT_PLACED, UNKNOWN = "placed", "not_placed", "unknown"
# UNREACHABLE (core.files): reason prefix of a not_placed bet whose bookmaker could not be
# reached (nothing was sent): the executor backs off and probes with `reachable()`


@dataclass(frozen=True)
class Order:
    """One attempt at one decision: what the bookmaker is asked to do."""
    client_ref: str  # unique per attempt: f"{decision_id}#{attempt}"
    decision_id: str
    session: str
    match_key: str
    market: str
    selection: str  # 1X2: home | draw | away; AH: home | away; OU: over | under
    odds: float  # the price the executor saw
    min_odds: float  # the lowest price it accepts
    stake: float
    line: float | None = None  # AH (the home line) and OU; None for 1X2


@dataclass(frozen=True)
class Placement:
    status: Literal["placed", "not_placed", "unknown"]
    client_ref: str
    bet_ref: str | None = None
    odds: float | None = None  # taken
    stake: float | None = None
    placed_at: str | None = None
    reason: str | None = None  # why not placed / why unknown
    retryable: bool = False

    @classmethod
    def placed(cls, client_ref: str, bet_ref: str, odds: float, stake: float,
               placed_at: str | None = None) -> "Placement":
        return cls(PLACED, client_ref, bet_ref=bet_ref, odds=odds, stake=stake, placed_at=placed_at)

    @classmethod
    def not_placed(cls, client_ref: str, reason: str, *, retryable: bool) -> "Placement":
        return cls(NOT_PLACED, client_ref, reason=reason, retryable=retryable)

    @classmethod
    def unknown(cls, client_ref: str, reason: str) -> "Placement":
        return cls(UNKNOWN, client_ref, reason=reason)

    @property
    def ok(self) -> bool:
        return self.status == PLACED


@runtime_checkable
class Bookmaker(Protocol):
    mode: str  # "paper" | "live": written into BET_INTENDED

    def place(self, order: Order) -> Placement:
        """Place one bet. Must not raise for a refusal it understood (return not_placed); an
        exception or `unknown` means the bet may or may not have been taken."""
        ...

    def lookup(self, client_ref: str) -> Placement | None:
        """The bet the bookmaker accepted under `client_ref` (status placed), None when it has
        none. Raises when it cannot tell (unreachable): the intent then stays unresolved."""
        ...

    def reachable(self) -> bool:
        """Whether the bookmaker answers at all now (a cheap probe, never a bet): the executor
        asks while it is unreachable, and places again as soon as it answers."""
        ...

    def close(self) -> None: ...
