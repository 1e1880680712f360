"""AH and OU outcome probabilities worked out by hand, independently of pipeline.strategies.goals:
a Dixon–Coles score matrix (its own Poisson and τ) and each score settled per DESIGN, a quarter
line as two halves."""
from __future__ import annotations

import math

from pipeline.strategies import goals as g


def dc_matrix(lam, mu, rho, n=15):
    """P(i, j), i, j < n: Poisson × Poisson with Dixon & Coles' τ on 0-0, 0-1, 1-0, 1-1,
    normalised over the grid."""
    def pois(k, m):
        return m ** k * math.exp(-m) / math.factorial(k)
    tau = {(0, 0): 1 - lam * mu * rho, (0, 1): 1 + lam * rho, (1, 0): 1 + mu * rho,
           (1, 1): 1 - rho}
    m = {(i, j): pois(i, lam) * pois(j, mu) * tau.get((i, j), 1) for i in range(n)
         for j in range(n)}
    total = sum(m.values())
    return {k: v / total for k, v in m.items()}


def share_won_void(d: float) -> tuple[float, float]:
    return (1.0, 0.0) if d > 0 else (0.0, 1.0) if d == 0 else (0.0, 0.0)


def direct(market, side, line, goals) -> dict:
    """Each score settled by hand: d per DESIGN, a quarter line as halves on line ∓ 0.25."""
    out = dict.fromkeys(g.OUTCOMES, 0.0)
    quarter = line * 4 % 2 == 1
    parts = (line - 0.25, line + 0.25) if quarter else (line,)
    for (i, j), p in dc_matrix(*goals).items():
        w = v = 0.0
        for part in parts:
            if market == "AH":
                d = (i - j + part) if side == "home" else (j - i - part)
            else:
                d = (i + j - part) if side == "over" else (part - i - j)
            dw, dv = share_won_void(d)
            w, v = w + dw / len(parts), v + dv / len(parts)
        name = {(1, 0): "won", (0.5, 0.5): "half_won", (0, 1): "void", (0, 0.5): "half_lost",
                (0, 0): "lost"}[(w, v)]
        out[name] += p
    return out
