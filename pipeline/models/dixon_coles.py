"""A Dixon–Coles goals model with time decay (DESIGN: "Probabilities, models and value").

Home goals X and away goals Y of a match between home team h and away team a are Poisson with

    λ = exp(home + attack[h] + defence[a])      μ = exp(attack[a] + defence[h])

and the low scores corrected by Dixon & Coles' τ (1997): τ(0,0) = 1 − λμρ, τ(0,1) = 1 + λρ,
τ(1,0) = 1 + μρ, τ(1,1) = 1 − ρ, else 1 (τ leaves the total probability at 1). The fit maximises
Σ w·log P(x, y) with w = exp(−xi × days between the match's kickoff and the fit instant) — the
parametrisation and weights of penaltyblog's DixonColesGoalModel, which tests/models use as the
reference (predictions agree to ~1e-5). Identifiability: Σ attack = 0 (a penalty term, zero at
the optimum, since attack + c, defence − c predict the same). L-BFGS-B with the analytic
gradient: ~7 ms at two seasons of one league (benchmarks/model.py).

`fit(matches, at, xi)` uses only matches that finished before `at` (kickoff + FINISHED_AFTER
<= at) and have a score: walk-forward by construction. A team the fit has never seen gets no
probability: `predict` returns None, never a guess.

`ah_probabilities` / `ou_probabilities` give the outcome probabilities (won, half_won, void,
half_lost, lost) of an Asian handicap or total-goals bet from the score matrix: strategies/goals,
which the decide program uses too (one definition of the grid and of each quarter-line rule).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, NamedTuple

import numpy as np

from pipeline.strategies import goals as goal_grid

NAME = "dixon-coles"
DEFAULT_XI = 0.0018  # per day (DESIGN)
FINISHED_AFTER = timedelta(minutes=110)  # a result is published at kickoff + 110 min (DESIGN)
MAX_GOALS = goal_grid.MAX_GOALS  # the score matrix covers 0..14 goals per side
RHO_BOUNDS = (-0.3, 0.3)
_SECONDS_PER_DAY = 86400.0


class Match(NamedTuple):
    """A finished (or scheduled: goals None) match as the model reads it."""

    home: str
    away: str
    kickoff: datetime  # aware
    home_goals: int | None = None
    away_goals: int | None = None


class Goals(NamedTuple):
    home: float  # λ
    away: float  # μ
    rho: float


@dataclass(frozen=True)
class Fit:
    """Fitted parameters; `teams` maps a team to its index in attack/defence."""

    teams: dict[str, int]
    attack: tuple[float, ...]
    defence: tuple[float, ...]
    home: float
    rho: float
    xi: float
    fitted_for: datetime     # the instant the weights count back from
    trained_until: datetime  # kickoff of the last match used
    matches: int
    loglik: float

    def goals(self, home: str, away: str) -> Goals | None:
        """λ, μ, ρ of a match; None when the fit never saw either team."""
        h, a = self.teams.get(home), self.teams.get(away)
        if h is None or a is None:
            return None
        lam = math.exp(self.home + self.attack[h] + self.defence[a])
        mu = math.exp(self.attack[a] + self.defence[h])
        return Goals(lam, mu, self.rho)

    def to_json(self) -> dict:
        return {"teams": sorted(self.teams, key=self.teams.get), "attack": list(self.attack),
                "defence": list(self.defence), "home": self.home, "rho": self.rho,
                "xi": self.xi, "fitted_for": self.fitted_for.isoformat(),
                "trained_until": self.trained_until.isoformat(), "matches": self.matches,
                "loglik": self.loglik}

    @classmethod
    def from_json(cls, doc: dict) -> "Fit":
        return cls(teams={t: i for i, t in enumerate(doc["teams"])},
                   attack=tuple(doc["attack"]), defence=tuple(doc["defence"]),
                   home=doc["home"], rho=doc["rho"], xi=doc["xi"],
                   fitted_for=datetime.fromisoformat(doc["fitted_for"]),
                   trained_until=datetime.fromisoformat(doc["trained_until"]),
                   matches=doc["matches"], loglik=doc["loglik"])


def finished_before(matches: Iterable[Match], at: datetime) -> list[Match]:
    """The matches with a score whose result was out by `at` (kickoff + 110 min <= at)."""
    return [m for m in matches if m.home_goals is not None and m.away_goals is not None
            and m.kickoff + FINISHED_AFTER <= at]


def weights(kickoffs: Iterable[datetime], at: datetime, xi: float) -> np.ndarray:
    """exp(−xi × days from each kickoff back from `at`) (fractional days)."""
    days = np.array([(at - k).total_seconds() / _SECONDS_PER_DAY for k in kickoffs])
    return np.exp(-xi * days)


def _objective(params, n, hi, ai, x, y, w, lgam):
    attack, defence = params[:n], params[n:2 * n]
    home, rho = params[2 * n], params[2 * n + 1]
    log_lam = home + attack[hi] + defence[ai]
    log_mu = attack[ai] + defence[hi]
    lam, mu = np.exp(log_lam), np.exp(log_mu)
    tau = np.ones_like(lam)
    t_lam = np.zeros_like(lam)  # dτ/dλ
    t_mu = np.zeros_like(lam)
    t_rho = np.zeros_like(lam)
    c00 = (x == 0) & (y == 0)
    c01 = (x == 0) & (y == 1)
    c10 = (x == 1) & (y == 0)
    c11 = (x == 1) & (y == 1)
    tau[c00] = 1 - lam[c00] * mu[c00] * rho
    t_lam[c00], t_mu[c00], t_rho[c00] = -mu[c00] * rho, -lam[c00] * rho, -lam[c00] * mu[c00]
    tau[c01] = 1 + lam[c01] * rho
    t_lam[c01], t_rho[c01] = rho, lam[c01]
    tau[c10] = 1 + mu[c10] * rho
    t_mu[c10], t_rho[c10] = rho, mu[c10]
    tau[c11] = 1 - rho
    t_rho[c11] = -1.0
    if np.any(tau <= 0):
        return 1e12, np.zeros_like(params)
    ll = w * (np.log(tau) + x * log_lam - lam + y * log_mu - mu - lgam)
    g_lam = w * (x - lam + lam * t_lam / tau)  # d/d log λ
    g_mu = w * (y - mu + mu * t_mu / tau)
    s = attack.sum()
    grad = np.empty_like(params)  # of the loglik
    grad[:n] = np.bincount(hi, g_lam, n) + np.bincount(ai, g_mu, n)      # attack
    grad[n:2 * n] = np.bincount(ai, g_lam, n) + np.bincount(hi, g_mu, n)  # defence
    grad[2 * n] = g_lam.sum()
    grad[2 * n + 1] = (w * t_rho / tau).sum()
    # minimise −loglik + s² (the identifiability penalty)
    return -ll.sum() + s * s, -grad + np.r_[np.full(n, 2 * s), np.zeros(n + 2)]


def fit(matches: Iterable[Match], at: datetime, xi: float = DEFAULT_XI,
        start: Fit | None = None) -> Fit | None:
    """Fit on the matches finished before `at`, weighted back from `at`; None when there are
    none. `start`: a previous fit whose parameters seed the optimiser (same optimum, faster)."""
    used = finished_before(matches, at)
    if not used:
        return None
    # scipy here, not at the top: a backtest whose fits are all cached never imports it (~1 s)
    from scipy.optimize import minimize
    from scipy.special import gammaln

    teams: dict[str, int] = {}
    for m in used:
        teams.setdefault(m.home, len(teams))
        teams.setdefault(m.away, len(teams))
    n = len(teams)
    hi = np.array([teams[m.home] for m in used])
    ai = np.array([teams[m.away] for m in used])
    x = np.array([m.home_goals for m in used], dtype=float)
    y = np.array([m.away_goals for m in used], dtype=float)
    w = weights((m.kickoff for m in used), at, xi)
    lgam = gammaln(x + 1) + gammaln(y + 1)
    p0 = np.r_[np.zeros(2 * n), 0.25, -0.05]
    if start is not None:
        for team, i in teams.items():
            j = start.teams.get(team)
            if j is not None:
                p0[i], p0[n + i] = start.attack[j], start.defence[j]
        p0[2 * n], p0[2 * n + 1] = start.home, start.rho
    bounds = [(None, None)] * (2 * n + 1) + [RHO_BOUNDS]
    res = minimize(_objective, p0, args=(n, hi, ai, x, y, w, lgam), jac=True,
                   method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7})
    p = res.x
    if not np.all(np.isfinite(p)):
        raise ArithmeticError(f"Dixon-Coles fit at {at.isoformat()} failed: {res.message}")
    return Fit(teams=teams, attack=tuple(map(float, p[:n])), defence=tuple(map(float, p[n:2 * n])),
               home=float(p[2 * n]), rho=float(p[2 * n + 1]), xi=xi, fitted_for=at,
               trained_until=max(m.kickoff for m in used), matches=len(used),
               loglik=float(-res.fun))


# --------------------------------------------------------------------------- predictions

def score_matrix(goals: Goals, max_goals: int = MAX_GOALS) -> np.ndarray:
    """P(home scores i, away scores j) for i, j in 0..max_goals, τ-corrected
    (strategies/goals builds it; GoalsError when the parameters give no probabilities)."""
    return np.array(goal_grid.score_matrix(goals.home, goals.away, goals.rho, max_goals))


def probabilities_1x2(goals: Goals) -> dict[str, float]:
    """{"home", "draw", "away"} from the score matrix, normalised over it."""
    m = score_matrix(goals)
    total = m.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # a diverged fit: NaN (predict drops it)
        return {"home": float(np.tril(m, -1).sum() / total), "draw": float(np.trace(m) / total),
                "away": float(np.triu(m, 1).sum() / total)}


def ah_probabilities(goals: Goals, line: float, side: str = "home") -> dict[str, float]:
    """P(won), P(half_won), P(void), P(half_lost), P(lost) of an Asian handicap bet on `side`
    at the home team's `line` (quarter lines as two half stakes: strategies/markets)."""
    return goal_grid.outcome_probabilities("AH", side, line, goals)


def ou_probabilities(goals: Goals, line: float, side: str = "over") -> dict[str, float]:
    """The same for a total-goals bet on `side` (over | under) at `line`."""
    return goal_grid.outcome_probabilities("OU", side, line, goals)
