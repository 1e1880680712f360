"""Staking plans (DESIGN: staking plans): one config class per plan, told apart by `plan`.

A class holds its plan's keys and declares what the strategies need to know about the plan as
class attributes (never read from a list of names elsewhere). A new plan is one class here,
added to `Staking`, one function in strategies/staking.py (`STAKES`) and the description of its
keys in core/confighelp.py; tests/core/test_plans.py checks that the three agree.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import BeforeValidator, Field

from pipeline.core.configmodel import StrictModel


class StakingPlan(StrictModel):
    """What a plan declares (class attributes, not config keys; False unless a plan says so)."""
    # the amount depends on nothing but the config: worked out once per config (flat)
    constant: ClassVar[bool] = False
    # the amount ignores the price: worked out once per session and pass, not per match
    odds_free: ClassVar[bool] = False
    # the amount follows the results: at most one open or in-flight bet at a time
    result_dependent: ClassVar[bool] = False
    # the stake function takes the session's probability (p, or an AH/OU bet's outcomes)
    uses_probability: ClassVar[bool] = False
    # has an `edge` key: the assumed edge that scales a market probability
    reads_edge: ClassVar[bool] = False
    # has a `target` key: a win whose return reaches it ends a cycle (TARGET_REACHED)
    ends_cycles: ClassVar[bool] = False


class Flat(StakingPlan):
    constant: ClassVar[bool] = True
    odds_free: ClassVar[bool] = True
    plan: Literal["flat"] = "flat"
    stake: float = Field(gt=0)


class Percent(StakingPlan):
    odds_free: ClassVar[bool] = True
    plan: Literal["percent"]
    percent: float = Field(gt=0, le=100)


class Kelly(StakingPlan):
    uses_probability: ClassVar[bool] = True
    reads_edge: ClassVar[bool] = True
    plan: Literal["kelly"]
    fraction: float = Field(gt=0, le=1)
    edge: float = 0.0


class Martingale(StakingPlan):
    odds_free: ClassVar[bool] = True
    result_dependent: ClassVar[bool] = True
    plan: Literal["martingale"]
    stake: float = Field(gt=0)
    factor: float = Field(default=2.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)


class Fibonacci(StakingPlan):
    odds_free: ClassVar[bool] = True
    result_dependent: ClassVar[bool] = True
    plan: Literal["fibonacci"]
    stake: float = Field(gt=0)
    max_steps: int | None = Field(default=None, ge=1)


class Ladder(StakingPlan):
    odds_free: ClassVar[bool] = True
    result_dependent: ClassVar[bool] = True
    ends_cycles: ClassVar[bool] = True
    plan: Literal["ladder"]
    stake: float = Field(gt=0)
    target: float = Field(gt=0)


def _default_plan(value):
    """`plan` may be left out: flat."""
    return {"plan": "flat", **value} if isinstance(value, dict) and "plan" not in value else value


Staking = Annotated[Flat | Percent | Kelly | Martingale | Fibonacci | Ladder,
                    Field(discriminator="plan"), BeforeValidator(_default_plan)]
PLAN_CLASSES: tuple[type[StakingPlan], ...] = get_args(get_args(Staking)[0])  # in order
PLANS: tuple[str, ...] = tuple(get_args(c.model_fields["plan"].annotation)[0]
                               for c in PLAN_CLASSES)  # their names, in order
