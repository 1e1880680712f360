"""Staking plans (core/plans.py): every class of the `Staking` union has exactly one stake
function (strategies/staking.STAKES) and its keys described (core/confighelp.py), and what each
class declares about its plan is what the strategies then do with it."""
from __future__ import annotations

import pytest

from pipeline.core.config import Session
from pipeline.core.confighelp import HELP
from pipeline.core.plans import PLAN_CLASSES, PLANS
from pipeline.core.state import SessionBook
from pipeline.strategies import rules, staking
from tests.kit.sessions import PLANS as SAMPLES

# DESIGN "Staking plans", read independently of the classes
RESULT_DEPENDENT = {"martingale", "fibonacci", "ladder"}  # hold one bet at a time
NEEDS_PRICE = {"kelly"}  # the amount depends on the odds
ODDS = {"home": 2.0, "draw": 3.4, "away": 4.2}


def session(name: str) -> Session:
    return Session.model_validate({"id": f"s-{name}", "selection": "home",
                                   "staking": SAMPLES[name], "bankroll": 1000})


def test_every_plan_class_has_exactly_one_stake_function_and_its_keys_described():
    assert len(set(PLAN_CLASSES)) == len(PLAN_CLASSES) == len(set(PLANS)) == 6
    assert set(staking.STAKES) == set(PLAN_CLASSES)  # no class without one, none extra
    assert len(set(staking.STAKES.values())) == len(staking.STAKES)  # one function per class
    for cls, name in zip(PLAN_CLASSES, PLANS):
        assert HELP[cls.__name__].keys() == cls.model_fields.keys(), cls.__name__
        assert name in HELP[cls.__name__]["plan"], name  # the plan's own line names it
    assert set(SAMPLES) == set(PLANS)  # the samples below cover every plan


def test_the_union_is_told_apart_by_plan():
    for cls, name in zip(PLAN_CLASSES, PLANS):
        s = session(name)
        assert type(s.staking) is cls and s.staking.plan == name


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_what_a_plan_class_declares_is_what_the_strategies_do(name):
    s, sb = session(name), SessionBook(f"s-{name}")
    st = s.staking
    # result_dependent: one bet at a time, from the class, nothing listed by name
    assert st.result_dependent == (name in RESULT_DEPENDENT)
    slots, why = rules.bet_slots(s, sb)
    assert (slots, name in why) == ((1, True) if name in RESULT_DEPENDENT else (None, False))
    # odds_free: a stake without a price; else "depends on the odds"
    assert st.odds_free == (name not in NEEDS_PRICE)
    priceless = staking.stake_for(s, sb, None, None)
    assert (priceless.stake is not None) == st.odds_free, priceless.reason
    # constant: worked out once per config (flat: 10, the sample's stake)
    plan = staking.StakePlan(s)
    assert (plan.constant is not None) == st.constant == (name == "flat")
    if st.constant:
        assert plan.constant.stake == SAMPLES[name]["stake"]
    # uses_probability: the session's p changes the stake only for such a plan
    purse = staking.Purse(s, sb)
    with_p, without = purse.stake(ODDS, "home", p=0.7), purse.stake(ODDS, "home")
    assert (with_p != without) == st.uses_probability == (name == "kelly")
    if st.uses_probability:  # f = (0.7 x 2 - 1) / (2 - 1) = 0.4, half of it: 20 % of 1000
        assert with_p.stake == 200.0
    # reads_edge / ends_cycles: the keys they name are the class's own
    assert st.reads_edge == ("edge" in type(st).model_fields)
    assert st.ends_cycles == ("target" in type(st).model_fields)
