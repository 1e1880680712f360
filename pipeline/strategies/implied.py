"""Margin-free probabilities from one market's decimal prices (DESIGN: "Probabilities, models and
value"). Each method takes the prices of every outcome of a market (2-way, 3-way, or more) and
returns `Implied(probabilities, margin)`: probabilities in the prices' order summing to 1, and the
margin, sum(1/odds) - 1 (the bookmaker's overround; below 0 for an underround such as the best
price of several bookmakers).

Definitions as in Clarke, Kovalchik & Ingram (2017), "Adjusting bookmaker's odds to allow for
overround", and penaltyblog's `implied` module; with pi = 1/odds:

    multiplicative  p = pi / sum(pi)
    additive        p = pi - margin / n                         (refused if a p would be <= 0)
    power           p = pi ** k,                                 k solved so that sum(p) = 1
    shin            p = (sqrt(z² + 4(1 - z) pi² / sum(pi)) - z) / (2(1 - z)),   z in [0, 1)
    odds_ratio      p = pi / (c + pi - c pi) = 1 / (1 + c (odds - 1)),   c solved (Cheung)

The three solved methods find their parameter by bisection on a bracket where the sum is known
to cross 1 (each sum falls steadily as the parameter grows), to a relative tolerance of 1e-13;
a result whose sum misses 1 by more than 1e-9 is a ValueError ("solver failed"), never returned.
Shin's z is the insiders' share of the money, so it needs a margin >= 0: an underround is refused
(penaltyblog's solver fails there too). Bad prices raise ValueError naming the price. Pure
functions, stdlib only.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

SUM_TOLERANCE = 1e-9  # the probabilities sum to 1 within this, or the method raises
_XTOL = 1e-13  # bisection stops when the bracket is this narrow (relative to 1 + |x|)
_MAX_STEPS = 400


class Implied(NamedTuple):
    """Probabilities in the order of the prices (sum 1 within 1e-9); margin = sum(1/odds) - 1."""

    probabilities: tuple[float, ...]
    margin: float


def inverse_prices(odds: Sequence[float]) -> list[float]:
    """1/odds of each price; ValueError naming the price when it is not a usable decimal price."""
    if isinstance(odds, (str, bytes)) or not isinstance(odds, Sequence):
        raise ValueError(f"odds: expected a list of decimal prices, got {odds!r}")
    if len(odds) < 2:
        raise ValueError(f"odds: a market needs at least 2 prices, got {len(odds)}: "
                         f"{list(odds)!r}")
    inverse = []
    for i, price in enumerate(odds):
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            raise ValueError(f"odds[{i}] = {price!r}: not a number")
        if not math.isfinite(price) or price <= 1:
            raise ValueError(f"odds[{i}] = {price!r}: a decimal price must be a finite number "
                             "above 1")
        inverse.append(1.0 / price)
    return inverse


def _margin(inverse: list[float]) -> float:
    return math.fsum(inverse) - 1.0


def _result(name: str, probabilities: list[float], margin: float) -> Implied:
    total = math.fsum(probabilities)
    if not abs(total - 1.0) <= SUM_TOLERANCE:
        raise ValueError(f"{name}: probabilities sum to {total!r}, not 1 (solver failed)")
    return Implied(tuple(probabilities), margin)


def _bisect(name: str, excess: Callable[[float], float], lo: float, hi: float) -> float:
    """The root of `excess` (falling; >= 0 at lo, <= 0 at hi) in [lo, hi] by bisection."""
    for _ in range(_MAX_STEPS):
        if hi - lo <= _XTOL * (1.0 + abs(lo)):
            break
        mid = 0.5 * (lo + hi)
        value = excess(mid)
        if math.isnan(value):
            raise ValueError(f"{name}: sum of probabilities is NaN at parameter {mid!r}")
        if value > 0:
            lo = mid
        elif value < 0:
            hi = mid
        else:
            return mid
    else:
        raise ValueError(f"{name}: no root within {_MAX_STEPS} steps in [{lo!r}, {hi!r}]")
    return 0.5 * (lo + hi)


def _upper_bracket(name: str, excess: Callable[[float], float], start: float) -> float:
    """A parameter >= start where `excess` is <= 0, doubling from start."""
    hi = start
    for _ in range(200):  # a price above 1 (1/odds <= 1 - 2**-53) needs far less than 2**200
        if excess(hi) <= 0:
            return hi
        hi *= 2.0
    raise ValueError(f"{name}: no parameter makes the probabilities sum to 1")


def multiplicative(odds: Sequence[float]) -> Implied:
    """1/odds normalised to sum 1."""
    inverse = inverse_prices(odds)
    total = math.fsum(inverse)
    return _result("multiplicative", [pi / total for pi in inverse], total - 1.0)


def additive(odds: Sequence[float]) -> Implied:
    """The margin taken off every outcome in equal parts: pi - margin / n."""
    inverse = inverse_prices(odds)
    margin = _margin(inverse)
    share = margin / len(inverse)
    probabilities = [pi - share for pi in inverse]
    for i, p in enumerate(probabilities):
        if p <= 0:
            raise ValueError(f"odds[{i}] = {odds[i]!r}: additive leaves this outcome a "
                             f"probability of {p:.6g} (the margin {margin:.6g} split "
                             f"{len(inverse)} ways is more than 1/odds); use another method")
    return _result("additive", probabilities, margin)


def power(odds: Sequence[float]) -> Implied:
    """pi ** k with k solved so that the sum is 1 (k > 1 for an overround)."""
    inverse = inverse_prices(odds)

    def excess(k: float) -> float:
        return math.fsum(pi ** k for pi in inverse) - 1.0

    hi = _upper_bracket("power", excess, 1.0)
    k = _bisect("power", excess, 0.0, hi)  # excess(0) = n - 1 > 0
    return _result("power", [pi ** k for pi in inverse], _margin(inverse))


def _shin_probabilities(z: float, inverse: list[float], total: float) -> list[float]:
    return [(math.sqrt(z * z + 4.0 * (1.0 - z) * pi * pi / total) - z) / (2.0 * (1.0 - z))
            for pi in inverse]


def shin(odds: Sequence[float]) -> Implied:
    """Shin's model: z, the insiders' share, solved in [0, 1) so that the sum is 1."""
    inverse = inverse_prices(odds)
    total = math.fsum(inverse)
    margin = total - 1.0
    if margin < 0:
        raise ValueError(f"odds {list(odds)!r}: shin needs a margin of 0 or more (the insiders' "
                         f"share z is in [0, 1)); these prices have margin {margin:.6g}")

    def excess(z: float) -> float:
        return math.fsum(_shin_probabilities(z, inverse, total)) - 1.0

    # excess(0) = sqrt(total) - 1 >= 0; towards z = 1 each p tends to pi²/sum(pi), so the
    # excess tends to sum(pi²)/sum(pi) - 1 < 0 (every pi < 1): the root is in [0, 1)
    z = _bisect("shin", excess, 0.0, 1.0)
    return _result("shin", _shin_probabilities(z, inverse, total), margin)


def odds_ratio(odds: Sequence[float]) -> Implied:
    """Cheung's odds ratio: each outcome's odds against shortened by the same factor c."""
    inverse = inverse_prices(odds)

    def probabilities(c: float) -> list[float]:  # pi / (c + pi - c pi), with 1 - pi exact
        return [1.0 / (1.0 + c * (price - 1.0)) for price in odds]

    def excess(c: float) -> float:
        return math.fsum(probabilities(c)) - 1.0

    hi = _upper_bracket("odds_ratio", excess, 1.0)
    c = _bisect("odds_ratio", excess, 0.0, hi)  # excess(0) = n - 1 > 0
    return _result("odds_ratio", probabilities(c), _margin(inverse))


METHODS: dict[str, Callable[[Sequence[float]], Implied]] = {
    "multiplicative": multiplicative,
    "additive": additive,
    "power": power,
    "shin": shin,
    "odds_ratio": odds_ratio,
}


def implied(odds: Sequence[float], method: str) -> Implied:
    """The named method's probabilities; ValueError for an unknown method or bad prices."""
    try:
        fn = METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}") from None
    return fn(odds)
