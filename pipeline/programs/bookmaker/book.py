"""The sandbox bookmaker's logic between the market, the price pools, the store and the clock.

No HTTP in here: app.py (JSON) and slip.py (the pages a browser uses) both call `Bookmaker`.
`place(body)` books a bet (`market` 1X2 | AH | OU, default 1X2; AH and OU name the `line`, the
home line for AH) at the price its own stake gets from the pool of that side and line
(pools.py), refuses it with a `BetRefused` reason_code (unknown_match, suspended, line_changed —
the line is no longer offered —, over_limit, price_changed, bad_request), and answers a
client_ref it already accepted with the first bet (idempotent). A bet's status and payout are
strategies.markets' (DESIGN: markets, settlement).
"""
from __future__ import annotations

import math
from datetime import timedelta

from pipeline.core.clock import Clock
from pipeline.core.config import SandboxConfig
from pipeline.core.timefmt import iso
from pipeline.programs.bookmaker import pools
from pipeline.programs.bookmaker.market import Market, MatchState, Rules
from pipeline.programs.bookmaker.store import BET_FIELDS, BetRefused, BetStore
from pipeline.history.football_data import Fixture
from pipeline.strategies import markets

MAX_REF = 200


def rules_of(cfg: SandboxConfig) -> Rules:
    return Rules(suspend_before=timedelta(minutes=cfg.suspend_before_min),
                 postponed=frozenset(cfg.postponed), postponed_rate=cfg.postponed_rate,
                 seed=cfg.postponed_seed,
                 postponed_notice=timedelta(minutes=cfg.postponed_notice_min))


def number(body: dict, name: str, *, required: bool) -> float | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BetRefused("bad_request", f"{name} must be a number")
    if value <= 0:
        raise BetRefused("bad_request", f"{name} must be greater than 0")
    return float(value)


def text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REF:
        raise BetRefused("bad_request", f"{name} must be a non-empty string (≤ {MAX_REF} chars)")
    return value


def market_of(body: dict) -> tuple[str, str, float | None]:
    """(market, selection, line) of a placement body; bad_request naming what is wrong."""
    market, selection, line = body.get("market") or "1X2", body.get("selection"), body.get("line")
    if isinstance(line, bool) or (line is not None and not isinstance(line, (int, float))):
        raise BetRefused("bad_request", f"line must be a number, not {line!r}")
    try:
        markets.check_selection(market, selection)
        markets.check_line(market, line)
    except ValueError as e:
        raise BetRefused("bad_request", str(e)) from None
    return market, selection, None if line is None else float(line)


def _why_closed(state: MatchState) -> str:
    if state.suspended:
        return "the market closed shortly before kickoff"
    return {"live": "the match has kicked off", "finished": "the match is over",
            "postponed": "the match is postponed"}.get(state.status, "not on sale yet")


class Bookmaker:
    def __init__(self, market: Market, store: BetStore, clock: Clock, log=None,
                 config: SandboxConfig | None = None):
        self.market, self.store, self.clock, self.log = market, store, clock, log
        self.configure(config or SandboxConfig())

    def configure(self, cfg: SandboxConfig) -> None:
        """Take the config's rules and terms (each attribute is replaced whole)."""
        self.market.rules = rules_of(cfg)
        self.liquidity, self.max_stake = cfg.liquidity, cfg.max_stake

    # -- what the pages and the API show -------------------------------------------------------
    def state(self, fixture: Fixture, now) -> MatchState:
        """The match at `now` with the pools' prices."""
        state = self.market.state(fixture, now)
        return pools.priced(state, self.store.staked(fixture.id), self.liquidity)

    def listed(self, now) -> list[MatchState]:
        return [pools.priced(s, self.store.staked(s.fixture.id), self.liquidity)
                for s in self.market.listed(now)]

    def view(self, bet: dict, now=None) -> dict:
        """A bet as the API shows it, with its status (open | won | lost | void) at `now`."""
        now = now or self.clock.now()
        out = {k: bet.get(k) for k in BET_FIELDS}
        out["market"] = bet.get("market") or "1X2"  # a line from before the markets: 1X2
        fixture = self.market.find(bet.get("match_id"), bet.get("match_key"))
        done = self.market.state(fixture, now).settlement(
            out["market"], bet["selection"], bet.get("line"), float(bet["odds"]),
            float(bet["stake"])) if fixture else None
        out["status"] = "open" if done is None else done.outcome
        out["payout"] = None if done is None else done.payout
        return out

    def bets(self, client_ref: str | None = None) -> list[dict]:
        now = self.clock.now()
        return [self.view(b, now) for b in self.store.all()
                if client_ref is None or b["client_ref"] == client_ref]

    # -- placing -----------------------------------------------------------------------------
    def place(self, body) -> tuple[dict, bool]:
        """(bet view, newly booked) or BetRefused."""
        if not isinstance(body, dict):
            raise BetRefused("bad_request", "the body must be a JSON object")
        client_ref = text(body, "client_ref")
        if client_ref is None:
            raise BetRefused("bad_request", "client_ref is required")
        known = self.store.get(client_ref)
        if known is not None:  # idempotent: the first bet, whatever the body says now
            return self.view(known), False
        match_id, match_key = text(body, "match_id"), text(body, "match_key")
        if match_id is None and match_key is None:
            raise BetRefused("bad_request", "match_id or match_key is required")
        market, selection, line = market_of(body)
        stake = number(body, "stake", required=True)
        min_odds = number(body, "min_odds", required=False)

        def make(_bet_ref: str) -> dict:  # under the store's lock: price and book in one step
            now = self.clock.now()
            fixture = self.market.find(match_id, match_key)
            if fixture is None:
                raise BetRefused("unknown_match", f"no match {match_id or match_key!r}")
            state = self.market.state(fixture, now)
            if not state.on_sale:
                raise BetRefused("suspended", f"market suspended: {_why_closed(state)}")
            offered = state.price(selection, market, line)
            if offered is None:
                entry = state.entry(market)
                if entry is None:
                    raise BetRefused("suspended", f"no {market} market on sale for this match")
                raise BetRefused("line_changed", f"the {market} line is now {entry[0]:g}, "
                                 f"no longer {line:g}")
            if stake > self.max_stake:
                raise BetRefused("over_limit",
                                 f"stake {stake:.2f} is over the limit of {self.max_stake:.2f}")
            staked = self.store.staked(fixture.id).get(pools.pool_key(market, selection, line),
                                                       0.0)
            price = pools.taken(offered, staked, stake, self.liquidity)
            if min_odds is not None and price < min_odds:
                raise BetRefused("price_changed", f"the price for a stake of {stake:.2f} is "
                                 f"{price:.2f}, below min_odds {min_odds:.2f}")
            return {"match_id": fixture.id, "match_key": fixture.key, "market": market,
                    "selection": selection, **({} if line is None else {"line": line}),
                    "odds": price, "stake": stake, "placed_at": iso(now),
                    "kickoff": iso(fixture.kickoff),
                    "pool": {"staked": round(staked + stake, 2), "liquidity": self.liquidity}}

        bet, new = self.store.place(client_ref, make)
        return self.view(bet), new
