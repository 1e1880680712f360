"""Bookmakers the executor places bets with (DESIGN: programs, invariant 1): the `Bookmaker`
protocol, the `Capabilities` each adapter class declares, and the registry `BOOKMAKERS`.

A `Bookmaker` answers every placement with a `Placement` that says which of three things
happened: the bet was **placed** (bet_ref, odds taken), it was **certainly not placed** (with a
reason, and whether trying again may work), or its effect is **unknown** (the request may have
reached the bookmaker). An unknown effect is never written as a failure: the executor reconciles
it with `lookup(client_ref)` first. `lookup` is also how a restart resolves a write-ahead
`BET_INTENDED` that has no outcome. A bookmaker must accept a `client_ref` at most once.

What an adapter can do beyond that it declares in `capabilities` (checked when it is built:
`bookmaker_class`, `check_bookmaker`; the executor and track read it and never probe):
- `concurrency` n > 1: its `place` is called from n threads at once, and the executor still
  records the outcomes in decision order;
- `batched_placement`: `place_many(orders)` books several orders in one durable append;
- `reachability_probe`: `reachable()`, a cheap probe the executor asks while it answered
  UNREACHABLE (a not_placed reason prefix); without it the bookmaker counts as reachable;
- `bet_history`: the class method `history(home, config)`, every bet it accepted, which track's
  reconciliation (reconcile.py) compares with the ledger — needing no login and no browser.

`BOOKMAKERS` maps the config's `mode` (the name a config picks a bookmaker by) to its class:
`paper` (paper.py, the default) and `live` (sandbox.py: the sandbox's bet slip filled in
Chromium). The execute program builds it with `open(rt)` after asking `unusable()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from pipeline.core.adapters import at_least_one, check, registered
from pipeline.core.errors import UNREACHABLE, BetpipeError, NotPlaced, never_reached  # noqa: F401

# the config's `mode` -> the bookmaker's class (tests/bookmakers/test_registry.py: every mode
# the config allows is here, and each class's `mode` is its name)
BOOKMAKERS = {
    "paper": "pipeline.bookmakers.paper:PaperBookmaker",
    "live": "pipeline.bookmakers.sandbox:SandboxBookmaker",
}
KIND = "bookmaker"

PLACED, NOT_PLACED, UNKNOWN = "placed", "not_placed", "unknown"
# UNREACHABLE (core.errors): reason prefix of a not_placed bet whose bookmaker could not be
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
    def not_reached(cls, client_ref: str, err: NotPlaced) -> "Placement":
        """Certainly not placed: the attempt never reached the bookmaker (retryable)."""
        return cls(NOT_PLACED, client_ref, reason=err.failure, retryable=True)

    @classmethod
    def unknown(cls, client_ref: str, reason: str) -> "Placement":
        return cls(UNKNOWN, client_ref, reason=reason)

    @property
    def ok(self) -> bool:
        return self.status == PLACED

    @property
    def never_reached(self) -> bool:
        """Not placed because nothing reached the bookmaker (core.errors.NEVER_REACHED)."""
        return self.status == NOT_PLACED and never_reached(self.reason)


class HistoryUnavailable(BetpipeError, RuntimeError):
    """The bookmaker's bet history cannot be had now (unreachable, an answer that is not JSON),
    or not at all (a bookmaker without the bet_history capability)."""


@dataclass(frozen=True)
class Capabilities:
    """What a bookmaker can do beyond placing one bet at a time (see the module doc)."""
    concurrency: int = 1  # placements that may run at once (the executor's width)
    batched_placement: bool = False  # place_many(orders)
    bet_history: bool = False  # history(home, config) (a class method)
    reachability_probe: bool = False  # reachable()
    parsed_odds: bool = False  # use_parsed(doc_of): takes odds-data as execute already parsed it


ATTRIBUTES, METHODS = ("mode", "problem"), ("place", "lookup", "close")
NEEDS = {"batched_placement": ("place_many",), "bet_history": ("history",),
         "reachability_probe": ("reachable",), "parsed_odds": ("use_parsed",)}


class Bookmaker(Protocol):
    mode: str  # its name in BOOKMAKERS, the config's `mode`: written into BET_INTENDED
    capabilities: Capabilities
    problem: str | None  # what stops it now (the login refused …), for health; None: nothing

    def place(self, order: Order) -> Placement:
        """Place one bet. Must not raise for a refusal it understood (return not_placed); an
        exception or `unknown` means the bet may or may not have been taken."""
        ...

    def lookup(self, client_ref: str) -> Placement | None:
        """The bet the bookmaker accepted under `client_ref` (status placed), None when it has
        none. Raises when it cannot tell (unreachable): the intent then stays unresolved."""
        ...

    def close(self) -> None: ...

    # -- by capability ------------------------------------------------------------------------
    def place_many(self, orders: list[Order]) -> list[Placement]:
        """batched_placement: each order answered, in order, as `place` would answer it."""
        ...

    def use_parsed(self, doc_of) -> None:
        """parsed_odds: `doc_of(raw bytes)` is the odds-data document execute parsed and found
        good for exactly those bytes (None for any other bytes): placing need not parse again."""
        ...

    def reachable(self) -> bool:
        """reachability_probe: whether the bookmaker answers at all now (never a bet): the
        executor asks while it is unreachable, and places again as soon as it answers."""
        ...

    # -- building: class methods, checked by `bookmaker_class` --------------------------------
    # unusable() -> str | None: why it cannot be used here (missing credentials …), asked first
    # open(rt) -> Bookmaker | None: built and ready to place (None: a stop came first)
    # history(home, config) -> list[dict]: bet_history (raises reconcile.HistoryUnavailable)


BUILDERS = ("unusable", "open")


def check_bookmaker(bookmaker, name: str | None = None):
    """`bookmaker` (class or instance) when it has what the protocol and its declared
    capabilities need; else AdapterError naming it and the missing member."""
    check(KIND, bookmaker, Capabilities, ATTRIBUTES, METHODS, NEEDS, name)
    at_least_one(KIND, bookmaker, "concurrency", "placements at once", name)
    return bookmaker


def bookmaker_class(name: str) -> type:
    """The bookmaker class registered for config mode `name`, checked (its builders too)."""
    return registered(KIND, BOOKMAKERS, name, check_bookmaker, Capabilities, BUILDERS)
