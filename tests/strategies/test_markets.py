"""The three markets: settlement against a hand-written table (every quarter-line case), on real
football-data rows against figures worked out here from the raw cells, the main-line rule and the
AH favourite/underdog rule (DESIGN: markets)."""
from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import pytest

from pipeline.strategies import markets, rules
from pipeline.strategies.markets import Settlement, ah_favourite, ah_pick, ah_underdog, main_line
from tests.kit.contracts import FOOTBALL_DATA

# ------------------------------------------------------------------ the hand-written table
# (market, selection, line, score, outcome, payout, profit), stake 10 at odds 1.90:
# won 19.00 / +9.00, half_won 10 x (0.95 + 0.5) = 14.50 / +4.50, void 10.00 / 0,
# half_lost 5.00 / -5.00, lost 0 / -10.00. An AH line is the HOME line; an away bet on home line
# -0.25 is the away side getting +0.25.
WON, HALF_WON, VOID, HALF_LOST, LOST = (("won", 19.0, 9.0), ("half_won", 14.5, 4.5),
                                        ("void", 10.0, 0.0), ("half_lost", 5.0, -5.0),
                                        ("lost", 0.0, -10.0))
TABLE = [
    # AH, home gives a quarter: -0.25 = halves on 0 and -0.5
    ("AH", "home", -0.25, (1, 0), *WON),
    ("AH", "home", -0.25, (1, 1), *HALF_LOST),   # 0: void, -0.5: lost
    ("AH", "home", -0.25, (0, 1), *LOST),
    ("AH", "away", -0.25, (1, 1), *HALF_WON),    # away +0.25: 0 void, +0.5 won
    ("AH", "away", -0.25, (0, 1), *WON),
    ("AH", "away", -0.25, (1, 0), *LOST),
    # home gets a quarter: +0.25 = halves on 0 and +0.5
    ("AH", "home", 0.25, (1, 1), *HALF_WON),
    ("AH", "home", 0.25, (0, 1), *LOST),
    ("AH", "home", 0.25, (2, 1), *WON),
    ("AH", "away", 0.25, (1, 1), *HALF_LOST),    # away -0.25 at a draw
    ("AH", "away", 0.25, (0, 1), *WON),
    # -0.75 = halves on -0.5 and -1
    ("AH", "home", -0.75, (2, 0), *WON),
    ("AH", "home", -0.75, (1, 0), *HALF_WON),    # -0.5 won, -1 void
    ("AH", "home", -0.75, (1, 1), *LOST),
    ("AH", "away", -0.75, (1, 0), *HALF_LOST),   # away +0.75 losing by one
    ("AH", "away", -0.75, (1, 1), *WON),
    ("AH", "away", -0.75, (2, 0), *LOST),
    # +0.75 = halves on +0.5 and +1
    ("AH", "home", 0.75, (0, 1), *HALF_LOST),    # +0.5 lost, +1 void
    ("AH", "home", 0.75, (1, 1), *WON),
    ("AH", "home", 0.75, (0, 2), *LOST),
    ("AH", "away", 0.75, (0, 1), *HALF_WON),     # away -0.75 winning by one
    ("AH", "away", 0.75, (0, 2), *WON),
    ("AH", "away", 0.75, (1, 1), *LOST),
    # -1.25 = -1 and -1.5; +1.25 = +1 and +1.5; -1.75 = -1.5 and -2
    ("AH", "home", -1.25, (2, 1), *HALF_LOST),
    ("AH", "home", -1.25, (3, 1), *WON),
    ("AH", "away", -1.25, (2, 1), *HALF_WON),
    ("AH", "home", 1.25, (0, 1), *HALF_WON),
    ("AH", "home", 1.25, (0, 2), *LOST),
    ("AH", "away", 1.25, (0, 1), *HALF_LOST),
    ("AH", "away", 1.25, (0, 2), *WON),
    ("AH", "home", -1.75, (2, 0), *HALF_WON),
    ("AH", "home", -1.75, (3, 0), *WON),
    ("AH", "home", -1.75, (1, 0), *LOST),
    ("AH", "away", -1.75, (2, 0), *HALF_LOST),
    # whole lines push, half lines never do
    ("AH", "home", 0, (1, 1), *VOID),
    ("AH", "away", 0, (1, 1), *VOID),
    ("AH", "home", 0, (2, 1), *WON),
    ("AH", "away", 0, (2, 1), *LOST),
    ("AH", "home", -1, (2, 1), *VOID),
    ("AH", "away", -1, (2, 1), *VOID),
    ("AH", "home", -1, (3, 1), *WON),
    ("AH", "away", -1, (1, 1), *WON),
    ("AH", "home", 1, (0, 1), *VOID),
    ("AH", "home", -0.5, (1, 1), *LOST),
    ("AH", "away", -0.5, (1, 1), *WON),
    ("AH", "home", 0.5, (1, 1), *WON),
    ("AH", "home", -1.5, (2, 0), *WON),
    ("AH", "away", -1.5, (2, 0), *LOST),
    # OU 2.25 = 2 and 2.5
    ("OU", "over", 2.25, (1, 1), *HALF_LOST),
    ("OU", "under", 2.25, (1, 1), *HALF_WON),
    ("OU", "over", 2.25, (2, 1), *WON),
    ("OU", "under", 2.25, (2, 1), *LOST),
    ("OU", "over", 2.25, (1, 0), *LOST),
    ("OU", "under", 2.25, (0, 0), *WON),
    # OU 2.5
    ("OU", "over", 2.5, (1, 1), *LOST),
    ("OU", "under", 2.5, (1, 1), *WON),
    ("OU", "over", 2.5, (3, 0), *WON),
    ("OU", "under", 2.5, (0, 3), *LOST),
    # OU 2.75 = 2.5 and 3
    ("OU", "over", 2.75, (2, 1), *HALF_WON),
    ("OU", "under", 2.75, (2, 1), *HALF_LOST),
    ("OU", "over", 2.75, (2, 2), *WON),
    ("OU", "under", 2.75, (2, 2), *LOST),
    ("OU", "over", 2.75, (1, 1), *LOST),
    ("OU", "under", 2.75, (1, 1), *WON),
    # OU 3.0
    ("OU", "over", 3.0, (1, 2), *VOID),
    ("OU", "under", 3.0, (1, 2), *VOID),
    ("OU", "over", 3.0, (4, 0), *WON),
    ("OU", "under", 3.0, (4, 0), *LOST),
    ("OU", "over", 3.0, (0, 2), *LOST),
    ("OU", "under", 3.0, (0, 2), *WON),
    # 1X2 (no line): the same formula
    ("1X2", "home", None, (2, 1), *WON),
    ("1X2", "draw", None, (2, 1), *LOST),
    ("1X2", "draw", None, (0, 0), *WON),
    ("1X2", "away", None, (0, 0), *LOST),
]


@pytest.mark.parametrize("market,selection,line,score,outcome,payout,profit", TABLE)
def test_settlement_table(market, selection, line, score, outcome, payout, profit):
    s = markets.settle(market, selection, line, 1.90, 10.0, *score)
    assert s == Settlement(outcome, payout, profit)


def test_each_outcome_is_in_the_table_for_both_markets_with_lines():
    seen = {(m, o) for m, _, _, _, o, _, _ in TABLE}
    assert all((m, o) in seen for m in ("AH", "OU") for o in markets.OUTCOMES)


# (outcome, odds, stake, payout, profit): cents rounding, by hand
@pytest.mark.parametrize("outcome,odds,stake,payout,profit", [
    ("won", 1.87, 12.0, 22.44, 10.44),
    ("half_won", 1.87, 12.0, 17.22, 5.22),       # 12 x (0.935 + 0.5)
    ("half_lost", 1.87, 12.0, 6.0, -6.0),
    ("void", 1.87, 12.0, 12.0, 0.0),
    ("lost", 1.87, 12.0, 0.0, -12.0),
    ("won", 1.333, 7.0, 9.33, 2.33),             # 9.331
    ("half_won", 2.13, 4.0, 6.26, 2.26),         # 4 x 1.565
    ("half_lost", 1.95, 0.3, 0.15, -0.15),
])
def test_paid_rounds_to_the_cent(outcome, odds, stake, payout, profit):
    assert markets.paid(outcome, odds, stake) == Settlement(outcome, payout, profit)


def test_void_is_the_stake_back_with_profit_plus_zero_even_off_the_cent():
    assert markets.void(2.5, 10.0) == Settlement("void", 10.0, 0.0)
    s = markets.void(2.5, 0.125)
    assert (s.payout, repr(s.profit)) == (0.12, "0.0")


@pytest.mark.parametrize("args,names", [
    (("AH", "draw", -0.5), "draw"), (("OU", "home", 2.5), "home"), (("XX", "home", 1), "XX"),
    (("AH", "home", -0.3), "-0.3"), (("AH", "home", None), "None"), (("OU", "over", -0.5), "-0.5"),
    (("1X2", "home", 0.5), "0.5"), (("AH", "home", float("nan")), "nan"),
    (("AH", "home", True), "True"),
])
def test_a_bet_no_market_can_have_is_refused_naming_what(args, names):
    market, selection, line = args
    with pytest.raises(ValueError, match=names):
        markets.settle(market, selection, line, 1.9, 10.0, 1, 0)


@pytest.mark.parametrize("goals", [(-1, 0), (1.0, 0), (None, 1), ("2", 1)])
def test_goals_must_be_whole_numbers(goals):
    with pytest.raises(ValueError, match="goals"):
        markets.settle("1X2", "home", None, 1.9, 10.0, *goals)


def test_sides_are_defined_once():
    assert markets.SIDES == {"1X2": ("home", "draw", "away"), "AH": ("home", "away"),
                             "OU": ("over", "under")}
    assert rules.SIDES is markets.SIDES["1X2"]


# ------------------------------------------------------------------ real rows, settled twice
AH_COLS, OU_COLS = ("AHh", "B365AHH", "B365AHA"), ("B365>2.5", "B365<2.5")


def _has_ah(path) -> bool:
    with path.open(encoding="utf-8-sig") as fh:
        return "AHh" in fh.readline().split(",")


SEASON_FILES = sorted(p for p in FOOTBALL_DATA.glob("*.csv") if _has_ah(p))


def _number(cell: str) -> Decimal | None:
    try:
        return Decimal(cell)
    except ArithmeticError:
        return None


def _by_hand(margin: Decimal, odds: Decimal) -> tuple[str, Decimal]:
    """(outcome, exact profit at stake 1) from the margin after the line (goal difference +
    the side's line, or goals − line): a quarter line's margin is ±0.25 off a whole one."""
    if margin >= Decimal("0.5"):
        return "won", odds - 1
    if margin == Decimal("0.25"):
        return "half_won", (odds - 1) / 2
    if margin == 0:
        return "void", Decimal(0)
    if margin == Decimal("-0.25"):
        return "half_lost", Decimal("-0.5")
    return "lost", Decimal(-1)


def test_every_real_row_settles_as_worked_out_from_its_cells():
    assert len(SEASON_FILES) >= 5, SEASON_FILES
    code: dict[str, float] = Counter()
    hand: dict[str, Decimal] = Counter()
    code_outcomes: Counter = Counter()
    hand_outcomes: Counter = Counter()
    halves: Counter = Counter()  # half wins per side and market
    rows = skipped = 0
    for path in SEASON_FILES:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                if not r.get("FTHG"):
                    continue
                rows += 1
                hg, ag = int(r["FTHG"]), int(r["FTAG"])
                bets = []
                line, home, away = (_number(r[c]) for c in AH_COLS)
                if None in (line, home, away):
                    skipped += 1
                else:
                    bets += [("AH", "home", line, home, hg - ag + line),
                             ("AH", "away", line, away, ag - hg - line)]
                over, under = (_number(r[c]) for c in OU_COLS)
                if None in (over, under):
                    skipped += 1
                else:
                    total = hg + ag
                    bets += [("OU", "over", Decimal("2.5"), over, total - Decimal("2.5")),
                             ("OU", "under", Decimal("2.5"), under, Decimal("2.5") - total)]
                for market, side, ln, odds, margin in bets:
                    s = markets.settle(market, side, float(ln), float(odds), 1.0, hg, ag)
                    outcome, profit = _by_hand(margin, odds)
                    code[side + market] += s.profit
                    code_outcomes[side + market, s.outcome] += 1
                    hand[side + market] += profit
                    hand_outcomes[side + market, outcome] += 1
                    halves[side + market] += outcome == "half_won"
    assert rows > 1700 and skipped < 20, (rows, skipped)
    assert code_outcomes == hand_outcomes
    assert {o for _, o in hand_outcomes} == set(markets.OUTCOMES)  # the rows have every case
    for key in hand:
        # payouts go to the cent: only a half win's half-cent can round, by at most 0.005
        gap = abs(Decimal(repr(round(code[key], 6))) - hand[key])
        assert gap <= Decimal("0.005") * halves[key] + Decimal("0.000001"), key
    assert len(hand) == 4


# ------------------------------------------------------------------ the main line
H = [{"line": -1.0, "home": 2.40, "away": 1.60}, {"line": -0.75, "home": 2.05, "away": 1.85},
     {"line": -0.5, "home": 1.90, "away": 2.00}, {"line": -0.25, "home": 1.70, "away": 2.25}]


def bounds(lo=None, hi=None):
    return SimpleNamespace(min=lo, max=hi)


def test_main_line_is_the_smallest_price_difference():
    assert main_line(H, "home", "away")["line"] == -0.5          # |1.90 - 2.00| = 0.10


def test_main_line_ties_go_to_the_lower_line_even_through_float_noise():
    # |1.93 - 2.06| and |2.52 - 2.39| are both 0.13, but as floats the lower line's is larger
    entries = [{"line": 2.5, "over": 1.93, "under": 2.06}, {"line": 2.75, "over": 2.52,
                                                             "under": 2.39}]
    assert abs(1.93 - 2.06) > abs(2.52 - 2.39)
    assert main_line(entries, "over", "under")["line"] == 2.5
    assert main_line(entries[::-1], "over", "under")["line"] == 2.5


def test_main_line_only_inside_inclusive_bounds():
    assert main_line(H, "home", "away", bounds(-1.0, -0.75))["line"] == -0.75  # max inclusive
    assert main_line(H, "home", "away", bounds(-0.25, None))["line"] == -0.25  # min inclusive
    assert main_line(H, "home", "away", bounds(None, -1.0))["line"] == -1.0
    assert main_line(H, "home", "away", bounds(0, 1)) is None
    assert main_line([], "home", "away") is None


# ------------------------------------------------------------------ favourite and underdog
@pytest.mark.parametrize("entry,fav", [
    ({"line": -0.25, "home": 2.10, "away": 1.80}, "home"),   # gives goals despite the price
    ({"line": 0.5, "home": 1.80, "away": 2.10}, "away"),
    ({"line": 0, "home": 1.95, "away": 1.90}, "away"),       # level: the lower price
    ({"line": 0, "home": 1.90, "away": 1.95}, "home"),
    ({"line": 0, "home": 1.93, "away": 1.93}, "home"),       # tie -> home
])
def test_ah_favourite_gives_goals_else_is_the_lower_price(entry, fav):
    dog = "away" if fav == "home" else "home"
    assert (ah_favourite(entry), ah_underdog(entry)) == (fav, dog)
    assert ah_pick("favourite", entry) == (fav, entry[fav])
    assert ah_pick("underdog", entry) == (dog, entry[dog])
    assert ah_pick("away", entry) == ("away", entry["away"])
    with pytest.raises(ValueError, match="draw"):
        ah_pick("draw", entry)
