"""What a goals model's parameters say about an AH or OU bet (DESIGN: "Probabilities, models and
value", "Markets"). Pure, no numpy (the decide program prices matches with it every pass).

probabilities.json's `goals` are Dixon–Coles parameters: home goals X ~ Poisson(λ), away goals
Y ~ Poisson(μ), the low scores corrected by τ: τ(0,0) = 1 − λμρ, τ(0,1) = 1 + λρ, τ(1,0) =
1 + μρ, τ(1,1) = 1 − ρ, else 1 (ρ absent: 0, independent Poisson). The score grid covers 0..14
goals a side and is normalised over itself (models/dixon_coles builds its matrix from this one).

`outcome_probabilities(market, side, line, goals)`: P(won), P(half_won), P(void), P(half_lost),
P(lost) of a bet, each score settled by `markets.outcome_of` (the one settlement rule; quarter
lines as two half stakes). `expected_value(outcomes, odds)`: Σ P(o) × (w × odds + v) − 1, the
mean profit per unit staked under DESIGN's payout formula (w, v: the stake's fractions won and
returned void) — a value session's edge on AH and OU.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Mapping

from pipeline.core.errors import BetpipeError
from pipeline.strategies.markets import OUTCOMES, outcome_of, stake_return

MAX_GOALS = 14  # 0..14 goals per side (penaltyblog's 15×15 grid)


class GoalsError(BetpipeError, ValueError):
    """Parameters that give no probabilities (a τ <= 0, λ or μ not > 0, not finite)."""


def score_matrix(lam: float, mu: float, rho: float = 0.0,
                 max_goals: int = MAX_GOALS) -> list[list[float]]:
    """P(home scores i, away scores j), i, j in 0..max_goals, τ-corrected, not normalised.
    GoalsError when the parameters make a cell negative or nothing finite."""
    if not (math.isfinite(lam) and math.isfinite(mu) and math.isfinite(rho)
            and lam > 0 and mu > 0):
        raise GoalsError(f"goals λ {lam!r}, μ {mu!r}, ρ {rho!r}: need finite λ, μ > 0 and ρ")
    taus = (1 - lam * mu * rho, 1 + lam * rho, 1 + mu * rho, 1 - rho)
    if min(taus) < 0:
        raise GoalsError(f"goals λ {lam:g}, μ {mu:g}, ρ {rho:g}: a low-score correction τ "
                         "is negative")
    ll, lm = math.log(lam), math.log(mu)
    ph = [math.exp(k * ll - lam - math.lgamma(k + 1)) for k in range(max_goals + 1)]
    pa = [math.exp(k * lm - mu - math.lgamma(k + 1)) for k in range(max_goals + 1)]
    m = [[h * a for a in pa] for h in ph]
    m[0][0] *= taus[0]
    m[0][1] *= taus[1]
    m[1][0] *= taus[2]
    m[1][1] *= taus[3]
    return m


@lru_cache(maxsize=4096)
def _distribution(market: str, lam: float, mu: float, rho: float) -> tuple[tuple[int, float], ...]:
    """((goal difference | total, probability), ...) over the normalised grid: AH bets settle
    on home − away goals, OU bets on the total."""
    m = score_matrix(lam, mu, rho)
    total = sum(map(sum, m))
    out: dict[int, float] = {}
    for i, row in enumerate(m):
        for j, p in enumerate(row):
            k = i - j if market == "AH" else i + j
            out[k] = out.get(k, 0.0) + p
    return tuple((k, p / total) for k, p in sorted(out.items()))


def outcome_probabilities(market: str, side: str, line: float,
                          goals: tuple[float, float, float]) -> dict[str, float]:
    """{won, half_won, void, half_lost, lost: probability} of an AH bet on `side` (home | away)
    at the home `line`, or an OU bet (over | under) at `line` goals; GoalsError when the
    parameters give none."""
    lam, mu, rho = goals
    out = dict.fromkeys(OUTCOMES, 0.0)
    for k, p in _distribution(market, float(lam), float(mu), float(rho)):
        # a score with this difference (AH) or total (OU) settles as any other one does
        home, away = (max(k, 0), max(-k, 0)) if market == "AH" else (k, 0)
        out[outcome_of(market, side, line, home, away)] += p
    return out


def expected_value(outcomes: Mapping[str, float], odds: float) -> float:
    """Mean profit per unit staked: Σ P(o) × (w × odds + v) − 1."""
    return sum(p * stake_return(o, odds) for o, p in outcomes.items() if p) - 1
