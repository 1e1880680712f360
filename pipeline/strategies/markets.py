"""The three markets (DESIGN: markets): their names and sides, how a bet on each settles, which
line of a match a session takes and which AH side is the favourite. Pure functions of plain
values; the one definition every program and the backtest use.

- `1X2`: home | draw | away. `AH` (Asian handicap, two-way): home | away, the line always the
  home team's handicap. `OU` (total goals): over | under, the line in goals.
- `settle(...)`: d = goal difference + line (AH home), the other way round (AH away), total − line
  (over), line − total (under); a whole or half line wins when d > 0, is void when d = 0, loses
  when d < 0; a quarter line is two bets of half the stake on line − 0.25 and line + 0.25.
  `payout = round(stake × (w × odds + v), 2)`, `profit = round(payout − stake, 2)`, w the
  fraction of the stake that won and v the fraction returned void — for 1X2 too.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Protocol, Sequence

from pipeline.core import bets
from pipeline.core.files import MARKET_SIDES as SIDES, MARKETS  # noqa: F401 (the contract's)
from pipeline.core.files import line_ok as is_line  # a multiple of 0.25 (not bool)

SIDES_1X2 = SIDES["1X2"]
LINE_STEP = 0.25
OUTCOMES = ("won", "half_won", "void", "half_lost", "lost")
# how staking plans and ladder cycles read an outcome (DESIGN: markets): half_won is a win,
# half_lost a loss; void (in neither) changes nothing
WINS, LOSSES = bets.WINS, bets.LOSSES  # defined in core: the ledger's replay counts them too
# outcome -> (w, v): the fractions of the stake that won and that came back void
_FRACTIONS: dict[str, tuple[float, float]] = {
    "won": (1, 0), "half_won": (0.5, 0.5), "void": (0, 1), "half_lost": (0, 0.5), "lost": (0, 0)}
_OUTCOME_OF = {wv: outcome for outcome, wv in _FRACTIONS.items()}
_PRICE_DECIMALS = 6  # price differences compared to this many decimals (main_line)


class Settlement(NamedTuple):  # a tuple: the backtest makes one per bet
    outcome: str   # won | half_won | void | half_lost | lost
    payout: float  # what comes back, stake included, to the cent
    profit: float  # payout − stake, to the cent


class Bounds(Protocol):
    """Inclusive bounds on a line; None = no bound (a session's `line: {"min", "max"}`)."""

    min: float | None
    max: float | None


# --------------------------------------------------------------------------- checks

def check_selection(market: str, selection: str) -> None:
    """ValueError naming the market and its sides unless `selection` is one of them."""
    if market not in SIDES:
        raise ValueError(f"market {market!r} is not one of {MARKETS}")
    if selection not in SIDES[market]:
        raise ValueError(f"selection {selection!r} is not one of {market}'s sides "
                         f"{SIDES[market]}")


def check_line(market: str, line) -> None:
    """1X2 has no line; AH and OU need a multiple of 0.25 (OU: not negative)."""
    if market == "1X2":
        if line is not None:
            raise ValueError(f"market 1X2 has no line, got {line!r}")
        return
    if line is None or not is_line(line):
        raise ValueError(f"market {market}: line {line!r} is not a multiple of {LINE_STEP}")
    if market == "OU" and line < 0:
        raise ValueError(f"market OU: line {line!r} is negative")


def line_label(market: str, line: float) -> str:
    """A line as people read it: AH (the home line) "-0.75" / "+0.5" / "0", OU "2.5"."""
    return f"{line + 0.0:+g}" if market == "AH" and line else f"{line + 0.0:g}"


def pick_label(market: str, selection: str, line: float | None) -> str:
    """A bet's pick as people read it: "away" (1X2), "home -0.75" (AH, the side's own line:
    the away side of home line -0.75 is +0.75), "over 2.5" (OU)."""
    if market == "AH" and line is not None:
        own = line if selection == "home" else -line
        return f"{selection} {own + 0.0:+g}"
    if market == "OU" and line is not None:
        return f"{selection} {line:g}"
    return selection


# --------------------------------------------------------------------------- settlement

def paid(outcome: str, odds: float, stake: float) -> Settlement:
    """The settlement of an outcome: DESIGN's one payout formula, for every market. A void
    bet's profit is 0.0 even for a stake off the cent (whose payout rounds to the cent), never
    -0.0 or -0.01: the stake comes back, nothing is won or lost."""
    w, v = _FRACTIONS[outcome]
    payout = round(stake * (w * odds + v), 2)
    return Settlement(outcome, payout, 0.0 if outcome == "void" else round(payout - stake, 2))


def stake_return(outcome: str, odds: float) -> float:
    """What comes back per unit staked, unrounded: w × odds + v (value sessions' expected
    value; `paid` is the same formula on a stake, to the cent)."""
    w, v = _FRACTIONS[outcome]
    return w * odds + v


def void(odds: float, stake: float) -> Settlement:
    """A bet whose match is postponed or void: the stake back."""
    return paid("void", odds, stake)


def winner(home_goals: int, away_goals: int) -> str:
    """The 1X2 side a score makes win: home | draw | away."""
    return "home" if home_goals > away_goals else "away" if away_goals > home_goals else "draw"


def margin(market: str, selection: str, line: float, home_goals: int, away_goals: int) -> float:
    """DESIGN's d for an AH or OU bet on a whole or half line: > 0 wins, 0 void, < 0 loses."""
    if market == "AH":
        diff = home_goals - away_goals
        return diff + line if selection == "home" else -diff - line
    total = home_goals + away_goals
    return total - line if selection == "over" else line - total


def halves(line: float) -> tuple[float, ...]:
    """The lines a bet is made of: a quarter line is two half stakes on line ∓ 0.25."""
    if (line * 2) == int(line * 2):  # whole or half line
        return (line,)
    return (line - LINE_STEP, line + LINE_STEP)


def outcome_of(market: str, selection: str, line: float | None, home_goals: int,
               away_goals: int) -> str:
    """won | half_won | void | half_lost | lost of a bet on a finished match."""
    if market == "1X2":
        return "won" if winner(home_goals, away_goals) == selection else "lost"
    parts = halves(line)
    share = 1 / len(parts)
    w = v = 0.0
    for part in parts:
        d = margin(market, selection, part, home_goals, away_goals)
        if d > 0:
            w += share
        elif d == 0:
            v += share
    if (w, v) not in _OUTCOME_OF:  # one half won, one lost: no quarter line does that
        raise ValueError(f"{market} {selection} {line}: won {w} and void {v} of the stake")
    return _OUTCOME_OF[(w, v)]


def settle(market: str, selection: str, line: float | None, odds: float, stake: float,
           home_goals: int, away_goals: int) -> Settlement:
    """How a bet on a finished match settles (DESIGN: markets → settlement). ValueError when
    the market, selection, line or goals are not ones a bet can have."""
    if type(home_goals) is not int or type(away_goals) is not int or min(home_goals,
                                                                          away_goals) < 0:
        raise ValueError(f"goals {home_goals!r}-{away_goals!r}: not whole numbers >= 0")
    if market == "1X2" and line is None and selection in SIDES_1X2:  # the common case, quickly
        outcome = "won" if winner(home_goals, away_goals) == selection else "lost"
    else:
        check_selection(market, selection)
        check_line(market, line)
        outcome = outcome_of(market, selection, line, home_goals, away_goals)
    return paid(outcome, odds, stake)


# --------------------------------------------------------------------------- which line, which side

def in_bounds(line: float, bounds: Bounds | None) -> bool:
    """min <= line <= max, both inclusive; a missing bound does not limit."""
    if bounds is None:
        return True
    return ((bounds.min is None or line >= bounds.min)
            and (bounds.max is None or line <= bounds.max))


def main_line(entries: Sequence[Mapping], side_a: str, side_b: str,
              bounds: Bounds | None = None) -> Mapping | None:
    """The entry (of odds-data `handicap` or `totals`) a session takes: among the lines inside
    `bounds`, the one with the smallest |price of side_a − price of side_b|, ties → the lower
    line; None when no line is inside. Differences are compared to 6 decimals, so prices quoted
    to the cent tie as their decimal differences do (|1.93 − 2.06| = |2.52 − 2.39|)."""
    best, best_key = None, None
    for e in entries:
        line = e["line"]
        if not in_bounds(line, bounds):
            continue
        key = (round(abs(e[side_a] - e[side_b]), _PRICE_DECIMALS), line)
        if best_key is None or key < best_key:
            best, best_key = e, key
    return best


def ah_favourite(entry: Mapping) -> str:
    """The side giving goals: home when the home line < 0, away when > 0; at line 0 the
    lower-priced side, tie → home."""
    line = entry["line"]
    if line != 0:
        return "home" if line < 0 else "away"
    return "home" if entry["home"] <= entry["away"] else "away"


def ah_underdog(entry: Mapping) -> str:
    """The side the favourite is not."""
    return "away" if ah_favourite(entry) == "home" else "home"


def ah_pick(selection: str, entry: Mapping) -> tuple[str, float]:
    """(side, price) an AH session backs on a handicap entry: home | away | favourite |
    underdog."""
    if selection == "favourite":
        side = ah_favourite(entry)
    elif selection == "underdog":
        side = ah_underdog(entry)
    elif selection in SIDES["AH"]:
        side = selection
    else:
        raise ValueError(f"unknown AH selection {selection!r}")
    return side, float(entry[side])
