"""Staking plans (DESIGN: staking plans). Pure: a session's config and its ledger-derived book in,
a stake (or the reason there is none) out.

Every plan gives a raw amount; then, for all plans alike, the stake is capped at
`limits.max_stake` (never refused for it), floored to a multiple of 0.01, and not made when it
exceeds the free bankroll (starting bankroll + settled profit - open stakes - stakes in flight,
minus what the caller has already `reserved` for other decisions of the same pass).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

from pipeline.core.config import Session, Staking
from pipeline.core.plans import Fibonacci, Flat, Kelly, Ladder, Martingale, Percent, StakingPlan
from pipeline.core.state import SessionBook, bankroll, free_bankroll
from pipeline.strategies.ladder import reaches_target
from pipeline.strategies.markets import LOSSES, SIDES, SIDES_1X2, WINS, stake_return

_EPS = 1e-9


@dataclass(frozen=True)
class StakeResult:
    stake: float | None  # None: no bet
    reason: str


def floor2(x: float) -> float:
    """Down to a multiple of 0.01 (0.29 stays 0.29 despite binary floating point)."""
    return math.floor(round(x * 100, 6) + _EPS) / 100


def ceil2(x: float) -> float:
    return math.ceil(round(x * 100, 6) - _EPS) / 100


# A plan: (its staking config class, session book, starting bankroll, 1X2 odds, selection) ->
# (raw amount or None, reason). A new plan: its config class (core/plans.py, in Staking) and
# its function here, in STAKES (the one table plans are dispatched by).
Plan = Callable[[Staking, SessionBook, float, Mapping[str, float], str], tuple[float | None, str]]


def _flat(st: Staking, sb: SessionBook, start: float, odds, selection) -> tuple[float | None, str]:
    return st.stake, f"flat {st.stake:.2f}"


def _percent(st: Staking, sb: SessionBook, start: float, odds, selection):
    current = bankroll(sb, start)
    if current <= 0:
        return None, f"percent: bankroll {current:.2f} is exhausted"
    return current * st.percent / 100, f"percent {st.percent:g}% of {current:.2f}"


def implied_probability(odds: Mapping[str, float], selection: str) -> float:
    """Margin-free implied probability: proportional normalisation of the prices of the
    selection's market — the 1X2 odds, or the two sides of the AH or OU line bet on."""
    sides = (SIDES_1X2 if "draw" in odds else SIDES["OU"] if "over" in odds else SIDES["AH"])
    inv = {k: 1.0 / float(odds[k]) for k in sides}
    return inv[selection] / sum(inv.values())


def growth_kelly(outcomes: Mapping[str, float], price: float) -> float:
    """The fraction f of the bankroll that maximises the expected log growth
    Σ P(o) × log(1 + f × r_o) of a bet whose outcomes (won, half_won, void, half_lost, lost)
    return r_o = w × price + v − 1 per unit (DESIGN's payout formula): the exact Kelly stake
    of an AH or OU bet with a void or quarter outcome, (p × price − 1) / (price − 1) when there
    is none. The growth's derivative falls with f: bisection to 1e-12. 0 when no stake grows
    (EV <= 0); at most 1 (the whole bankroll) when no outcome loses."""
    returns = [(q, stake_return(o, price) - 1) for o, q in outcomes.items() if q > 0]
    returns = [(q, r) for q, r in returns if r != 0]

    def slope(f: float) -> float:
        return sum(q * r / (1 + f * r) for q, r in returns)
    if not returns or slope(0.0) <= 0:
        return 0.0
    worst = min(r for _, r in returns)
    hi = min(1.0, -1 / worst) if worst < 0 else 1.0  # 1 + f × r stays > 0 below -1/r
    if slope(hi * (1 - 1e-12)) >= 0:
        return hi * (1 - 1e-12) if worst < 0 else hi
    lo = 0.0
    while hi - lo > 1e-12:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    return lo


def _kelly(st: Staking, sb: SessionBook, start: float, odds, selection, p: float | None = None,
           outcomes: Mapping[str, float] | None = None):
    """f = (p × odds − 1) / (odds − 1) of the bankroll, times `fraction`. p: the session's
    probability (strategies/value), else the margin-free price × (1 + edge). `outcomes` (an
    AH or OU bet priced by a goals model): f = `growth_kelly` of them."""
    price = float(odds[selection])
    if outcomes is not None:
        f = growth_kelly(outcomes, price)
        if f <= 0:
            return None, f"kelly stake <= 0 (expected value <= 0 at {price:.2f})"
    else:
        if p is None:
            p = implied_probability(odds, selection) * (1 + st.edge)
        f = (p * price - 1) / (price - 1)
    if f <= 0:
        return None, f"kelly stake <= 0 (p {p:.3f} at {price:.2f}, edge {st.edge:g})"
    current = bankroll(sb, start)
    if current <= 0:
        return None, f"kelly: bankroll {current:.2f} is exhausted"
    return st.fraction * f * current, f"kelly {st.fraction:g} x {f:.4f} of {current:.2f}"


def fold(sb: SessionBook, key: tuple, step: Callable, init):
    """`step(state, bet)` folded over the session's settled bets in settlement order.

    A Book's session only ever appends settlements (a reset starts a new SessionBook), so the
    fold is kept on the book (`sb.memo[key]`) and continued from where it stopped: a plan's
    progression costs the new settlements, not the whole history, on every match of a long
    backtest. A book filled by hand is folded whole."""
    settled = sb.settled
    pre = sb.period.settled if sb.period is not None else ()  # archived ones come first
    total = len(pre) + len(settled)
    n, state = sb.memo.get(key, (0, init)) if sb.has_running_figures() else (0, init)
    if n > total:
        n, state = 0, init
    for i in range(n, total):
        state = step(state, pre[i] if i < len(pre) else settled[i - len(pre)])
    if sb.has_running_figures():
        sb.memo[key] = (total, state)
    return state


def _martingale(st: Staking, sb: SessionBook, start: float, odds, selection):
    def step(k: int, bet) -> int:
        if bet.outcome in WINS:
            return 0
        if bet.outcome in LOSSES:
            k += 1
            if st.max_steps is not None and k >= st.max_steps:
                return 0
        return k
    k = fold(sb, ("martingale", st.max_steps), step, 0)
    return st.stake * st.factor ** k, f"martingale {st.stake:g} x {st.factor:g}^{k}"


def fib(i: int) -> int:
    a, b = 1, 1
    for _ in range(i - 1):
        a, b = b, a + b
    return a


def _fibonacci(st: Staking, sb: SessionBook, start: float, odds, selection):
    def step(i: int, bet) -> int:
        if bet.outcome in WINS:
            return max(1, i - 2)
        if bet.outcome in LOSSES:
            i += 1
            if st.max_steps is not None and i > st.max_steps:
                return 1
        return i
    i = fold(sb, ("fibonacci", st.max_steps), step, 1)
    return st.stake * fib(i), f"fibonacci {st.stake:g} x F({i})={fib(i)}"


def _ladder(st: Staking, sb: SessionBook, start: float, odds, selection):
    def step(state: tuple, bet) -> tuple:
        if bet.outcome in WINS:
            if reaches_target(st, bet.outcome, bet.payout):
                return st.stake, 1  # the cycle ends: TARGET_REACHED
            return bet.payout, state[1] + 1  # the whole return rides
        if bet.outcome in LOSSES:
            return st.stake, 1
        return state
    amount, n = fold(sb, ("ladder", st.stake, st.target), step, (st.stake, 1))
    return amount, f"ladder step {n}: {amount:.2f}"


# each plan class's stake function (a class whose `uses_probability` is set also takes p and
# outcomes, as _kelly); tests/core/test_plans.py checks every class of Staking has one
STAKES: dict[type[StakingPlan], Plan] = {Flat: _flat, Percent: _percent, Kelly: _kelly,
                                         Martingale: _martingale, Fibonacci: _fibonacci,
                                         Ladder: _ladder}


MEMO_SIZE = 4096  # finished stakes remembered per session config


class StakePlan:
    """What a session's staking config fixes, worked out once per config: its plan's function,
    whether the amount depends on the price and takes the session's probability, a constant
    plan's finished stake (flat: it depends on nothing else), and a memo of finished stakes by
    (amount, reason). The engine keeps one per session config."""

    def __init__(self, session: Session):
        self.session = session
        st = session.staking  # the facts its class declares (core/plans.py)
        self.plan = STAKES.get(type(st))
        self.odds_free = self.plan is not None and st.odds_free
        self.probability = self.plan is not None and st.uses_probability
        self.memo: dict[tuple, StakeResult] = {}
        self.constant: StakeResult | None = None
        if self.plan is not None and st.constant:
            self.constant = self.finish(*self.plan(st, None, session.bankroll, None, None))

    def finish(self, raw: float | None, why: str) -> StakeResult:
        """Cap at max_stake, floor to a cent; None when there is nothing to stake."""
        memo = self.memo
        res = memo.get((raw, why))
        if res is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            res = memo[(raw, why)] = _finished(self.session.limits.max_stake, raw, why)
        return res


def _finished(cap: float | None, raw: float | None, why: str) -> StakeResult:
    if raw is None:
        return StakeResult(None, why)
    if cap is not None and raw > cap:
        raw, why = cap, f"{why}, capped at max_stake {cap:.2f}"
    stake = floor2(raw)
    if stake <= 0:
        return StakeResult(None, f"{why}: the stake rounds to 0.00")
    return StakeResult(stake, why)


class Purse:
    """One session's stakes within one pass, the per-session work done once: the plan's amount
    (for every plan whose amount does not depend on the price) and the free bankroll (worked
    out only for a stake above `SessionBook.free_floor`, a quick lower bound of it).

    `stake(odds, selection, reserved)` is `stake_for` without recomputing them per match.
    """
    __slots__ = ("session", "sb", "stakes", "plan", "_free", "_floor", "_fixed", "_short")

    def __init__(self, session: Session, sb: SessionBook | None,
                 plan: StakePlan | None = None):
        """`plan`: the session config's StakePlan, when the caller keeps one across passes."""
        self.session = session
        self.sb = sb if sb is not None else SessionBook(session.id)
        self.stakes = plan = plan if plan is not None else StakePlan(session)
        self.plan = plan.plan
        self._free: float | None = None  # free_bankroll, worked out when a stake needs it
        self._floor = self.sb.free_floor(session.bankroll)  # at most the free bankroll
        self._fixed: StakeResult | None = plan.constant
        self._short: tuple | None = None  # (stake, reserved, its short_of StakeResult)
        if self._fixed is None and plan.odds_free:
            self._fixed = plan.finish(*self.plan(session.staking, self.sb, session.bankroll,
                                                 None, None))

    def stake(self, odds: Mapping[str, float] | None, selection: str | None,
              reserved: float = 0.0, p: float | None = None,
              outcomes: Mapping[str, float] | None = None) -> StakeResult:
        """`p`: the session's probability of `selection` (kelly stakes with it); `outcomes`:
        instead of p, the bet's outcome probabilities (kelly: `growth_kelly`)."""
        res = self._fixed
        if res is None:
            if self.plan is None:
                return StakeResult(None, f"staking plan {self.session.staking.plan!r} is not "
                                         "implemented")
            if odds is None:
                return StakeResult(None, f"{self.session.staking.plan}: depends on the odds")
            args = (self.session.staking, self.sb, self.session.bankroll, odds, selection)
            res = self.stakes.finish(*(
                self.plan(*args) if (p is None and outcomes is None) or not self.stakes.probability
                else self.plan(*args, p, outcomes)))
        if res.stake is None or (res.stake <= self._floor and not reserved):
            return res  # no stake, or one the free bankroll surely covers
        free = round(self.free - reserved, 2) if reserved else self.free  # free: to the cent
        if res.stake > free + _EPS:  # the same note for every match of the pass it stops
            short = self._short
            if short is None or short[0] != res.stake or short[1] != reserved:
                short = self._short = (res.stake, reserved,
                                       StakeResult(None, self.short_of(res.stake, reserved)))
            return short[2]
        return res

    @property
    def same_for_every_match(self) -> bool:
        """Whether `stake` answers every match of the pass alike (for the same `reserved`):
        the plan's amount is constant or odds-free, so a match refused its stake means every
        later one is, until `reserved` moves (it only grows with a stake given)."""
        return self._fixed is not None

    def starved(self) -> bool:
        """Whether no match can get a stake in this pass, before any is priced: the plan's
        amount is the same for every match (constant or odds-free) and more than the free
        bankroll, so each match that reaches `stake` gets `short_of`'s note and none a stake."""
        res = self._fixed
        return res is not None and res.stake is not None and res.stake > self.free + _EPS

    @property
    def free(self) -> float:
        """The session's free bankroll (`free_bankroll`) at the start of the pass."""
        if self._free is None:
            self._free = free_bankroll(self.sb, self.session.bankroll)
        return self._free

    def short_of(self, stake: float, reserved: float) -> str:
        """The note of a session whose bankroll can't cover its next stake, with the sum."""
        sb = self.sb
        tied = round(sb.open_stake + sb.in_flight_stake, 2)
        out = (f"stake {stake:.2f} exceeds free bankroll {self.free - reserved:.2f} = bankroll "
               f"{self.session.bankroll:.2f} + settled profit {sb.lifetime_profit:.2f} - open and "
               f"in-flight stakes {tied:.2f}")
        if reserved:
            out += f" - stakes of this pass's decisions {reserved:.2f}"
        return out


def stake_for(session: Session, sb: SessionBook | None, odds: Mapping[str, float] | None,
              selection: str | None, *, reserved: float = 0.0) -> StakeResult:
    """The stake `session` puts on `selection` (home/draw/away) at these 1X2 `odds`.

    `sb` is the session's book (None: no events yet); `reserved` is money already committed by
    decisions made earlier in the same pass, so together they never exceed the free bankroll.
    `odds` None asks for the next stake of a plan that does not depend on the price.
    """
    return Purse(session, sb).stake(odds, selection, reserved)
