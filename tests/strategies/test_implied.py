"""implied.py against independent references: penaltyblog's `implied` module on random and real
markets, hand-derived values (exact fractions), each method's defining equation solved backwards
from the result, and the CLI through a subprocess."""
from __future__ import annotations

import csv
import json
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.strategies.implied import METHODS, additive, implied, multiplicative, shin
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.programs import betpipe
from tests.kit.tiers import examples

SOLVED = ("power", "shin", "odds_ratio")
AGREE = 1e-9  # penaltyblog's ridder stops at xtol 2e-12; ours at 1e-13: both far inside this


# --- markets ------------------------------------------------------------------------------------

def random_markets(n_outcomes: int, count: int, seed: int) -> list[list[float]]:
    """Prices from random true probabilities with a random overround (0-15 %), some rounded to
    two decimals like a bookmaker's, a few with an underround (best prices of several books)."""
    rng = random.Random(seed)
    markets = []
    for i in range(count):
        weights = [rng.uniform(0.05, 1.0) for _ in range(n_outcomes)]
        total = sum(weights)
        booked = rng.uniform(-0.03, 0.15) if i % 10 == 0 else rng.uniform(0.0, 0.15)
        odds = [max(1.01, 1.0 / (w / total * (1.0 + booked))) for w in weights]
        if i % 2:
            odds = [max(1.01, round(o, 2)) for o in odds]
        markets.append(odds)
    return markets


def real_markets(per_file: int = 6) -> list[list[float]]:
    """1X2 (every bookmaker's H/D/A), over/under 2.5 and Asian handicap price pairs of a seeded
    sample of rows from every football-data file in ../shared/data."""
    files = sorted(FOOTBALL_DATA.glob("*.csv"))
    if not files:
        pytest.skip(f"no football-data CSVs in {FOOTBALL_DATA}")
    rng = random.Random(18)
    markets = []
    for path in files:
        with path.open(newline="", encoding="latin-1") as fh:
            reader = csv.DictReader(fh)
            cols = reader.fieldnames
            rows = [r for r in reader if r.get("HomeTeam")]
        groups = [(c, c[:-1] + "D", c[:-1] + "A") for c in cols
                  if c.endswith("H") and c[:-1] + "D" in cols and c[:-1] + "A" in cols]
        groups += [(c, c.replace(">", "<")) for c in cols if c.endswith(">2.5")]
        groups += [(c, c[:-1] + "A") for c in cols if c.endswith("AHH") and c[:-1] + "A" in cols]
        for row in rng.sample(rows, min(per_file, len(rows))):
            for group in groups:
                cells = [(row[c] or "").strip() for c in group]  # short rows: None
                if all(cells):
                    markets.append([float(c) for c in cells])
    return markets


# --- against penaltyblog ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def penaltyblog():
    from penaltyblog.implied import calculate_implied  # the `test` extra installs it

    return calculate_implied


def compare(calculate_implied, markets: list[list[float]]) -> dict[str, int]:
    """Every method on every market: ours equals penaltyblog's within AGREE, or both refuse."""
    compared = {m: 0 for m in METHODS} | {"bad price": 0}
    for odds in markets:
        if min(odds) <= 1:  # real files have typos (D1 2019-20: MaxC>2.5 = 0.42)
            for method in METHODS:
                with pytest.raises(ValueError, match=r"odds\[\d\] = .*above 1"):
                    implied(odds, method)
            compared["bad price"] += 1
            continue
        for method in METHODS:
            try:
                ours = implied(odds, method)
            except ValueError as refused:
                if method == "shin":  # an underround: penaltyblog's bracket z in [0, 100] fails
                    assert sum(1 / o for o in odds) < 1, (odds, refused)
                    with pytest.raises(ValueError):
                        calculate_implied(odds, method=method)
                elif method == "additive":  # penaltyblog returns a probability <= 0 here
                    theirs = calculate_implied(odds, method=method).probabilities
                    assert min(theirs) <= 0, (odds, theirs, refused)
                else:
                    raise
                continue
            theirs = calculate_implied(odds, method=method)
            assert len(ours.probabilities) == len(odds)
            for a, b in zip(ours.probabilities, theirs.probabilities):
                assert a == pytest.approx(b, abs=AGREE), (method, odds)
            assert ours.margin == pytest.approx(theirs.margin, abs=1e-12)
            compared[method] += 1
    return compared


@pytest.mark.parametrize("n_outcomes", [2, 3])
def test_every_method_equals_penaltyblog_on_random_markets(penaltyblog, n_outcomes):
    compared = compare(penaltyblog, random_markets(n_outcomes, 300, seed=n_outcomes))
    assert compared["multiplicative"] == 300 and compared["power"] == 300
    assert compared["shin"] >= 270  # the underround tenth is refused by both


def test_every_method_equals_penaltyblog_on_real_football_data_prices(penaltyblog):
    markets = real_markets()
    assert sum(len(m) == 3 for m in markets) > 1000 and sum(len(m) == 2 for m in markets) > 500
    # penaltyblog takes ~0.4 ms a call: 6 rows a file keep this test to a few seconds
    compared = compare(penaltyblog, markets)
    assert min(compared[m] for m in METHODS) > 0.9 * len(markets), compared


# --- hand-derived values and each method's defining equation ------------------------------------

def test_multiplicative_and_additive_by_hand_with_exact_fractions():
    odds = [Fraction("2.7"), Fraction("2.3"), Fraction("4.4")]
    inverse = [1 / o for o in odds]
    margin = sum(inverse) - 1
    got_mult = multiplicative([2.7, 2.3, 4.4])
    got_add = additive([2.7, 2.3, 4.4])
    for got in (got_mult, got_add):
        assert got.margin == pytest.approx(float(margin), abs=1e-15)
        assert got.margin == pytest.approx(0.0324257063, abs=1e-10)
    for p, pi in zip(got_mult.probabilities, inverse):
        assert p == pytest.approx(float(pi / sum(inverse)), abs=1e-15)
    for p, pi in zip(got_add.probabilities, inverse):
        assert p == pytest.approx(float(pi - margin / 3), abs=1e-15)


def test_shin_two_way_by_hand():
    """Two outcomes, odds 1.5 and 2.6: Shin's z solved by hand. With p1 + p2 = 1 the model's
    equation (1-z) p² + z p = pi² / S for both outcomes subtracted gives
    (1-z)(p1 - p2) + z (p1 - p2) = (pi1² - pi2²) / S, i.e. p1 - p2 = (pi1 - pi2)(pi1 + pi2) / S
    = pi1 - pi2: the additive split (Clarke et al. 2017), and z = (pi1²/S - p1²) / (p1 (1-p1))."""
    pi1, pi2 = Fraction(2, 3), Fraction(5, 13)
    s = pi1 + pi2
    p1 = (1 + pi1 - pi2) / 2
    z = (pi1 ** 2 / s - p1 ** 2) / (p1 * (1 - p1))
    assert 0 < z < 1
    got = shin([1.5, 2.6]).probabilities
    assert got[0] == pytest.approx(float(p1), abs=1e-12)
    assert got[1] == pytest.approx(float(1 - p1), abs=1e-12)
    assert got[0] == pytest.approx(float(Fraction(25, 39)), abs=1e-12)  # 0.641025641...


def shin_z(p: float, pi: float, total: float) -> float:
    """z from one outcome: Shin's p = (sqrt(z² + 4(1-z) pi²/S) - z) / (2(1-z)) solved for z."""
    return (pi * pi / total - p * p) / (p * (1 - p))


@pytest.mark.parametrize("odds", [[2.7, 2.3, 4.4], [1.14, 10.0, 19.0], [3.1, 3.3, 2.4],
                                  [1.9, 1.9], [1.2, 4.5], [1.01, 30.0, 80.0]])
def test_each_solved_method_satisfies_its_defining_equation(odds):
    """The one parameter of each method, worked back from every outcome, is the same."""
    inverse = [1 / o for o in odds]
    total = sum(inverse)
    power_k = [math.log(p) / math.log(pi) for p, pi in zip(implied(odds, "power")[0], inverse)]
    ratio_c = [(pi / (1 - pi)) / (p / (1 - p))
               for p, pi in zip(implied(odds, "odds_ratio")[0], inverse)]
    z = [shin_z(p, pi, total) for p, pi in zip(implied(odds, "shin")[0], inverse)]
    for params in (power_k, ratio_c, z):
        assert max(params) - min(params) < 1e-9 * max(1.0, abs(params[0])), params
    assert power_k[0] > 1 and ratio_c[0] > 1 and 0 < z[0] < 1  # an overround shortens prices


@pytest.mark.parametrize("odds", [[2.0, 2.0], [2.0, 4.0, 4.0], [1.25, 5.0]])
def test_a_fair_market_is_its_own_probabilities(odds):
    for method in METHODS:
        got = implied(odds, method)
        assert got.margin == 0
        assert list(got.probabilities) == pytest.approx([1 / o for o in odds], abs=1e-12)


def test_an_underround_is_solved_by_all_but_shin():
    odds = [2.2, 3.9, 4.1]  # best prices of several books: sum(1/odds) < 1
    assert sum(1 / o for o in odds) < 1
    for method in ("multiplicative", "additive", "power", "odds_ratio"):
        got = implied(odds, method)
        assert got.margin < 0 and math.fsum(got.probabilities) == pytest.approx(1, abs=1e-9)
        assert all(p > 1 / o for p, o in zip(got.probabilities, odds))  # every price lengthens
    with pytest.raises(ValueError, match=r"shin needs a margin of 0 or more.*margin -0\.0"):
        shin(odds)


def test_additive_refuses_a_price_the_margin_would_make_negative():
    odds = [1.02, 15.0, 50.0]  # margin 0.0671 / 3 = 0.0224 > 1/50
    with pytest.raises(ValueError, match=r"odds\[2\] = 50\.0: additive leaves .* probability of -"):
        additive(odds)


prices = st.floats(min_value=1.001, max_value=500.0, allow_nan=False)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(prices, min_size=2, max_size=3), st.sampled_from(sorted(METHODS)))
def test_any_market_sums_to_one_and_keeps_the_order_of_prices(odds, method):
    try:
        got = implied(odds, method)
    except ValueError as e:  # only the two documented refusals
        assert ("additive leaves" in str(e) and method == "additive") or \
               ("shin needs a margin" in str(e) and sum(1 / o for o in odds) < 1), e
        return
    p = got.probabilities
    # 0 only by underflow: power on [67, 1.0039, 1.0039] has k = 178, 67's p ~ 1e-325
    assert abs(math.fsum(p) - 1) <= 1e-9 and all(0 <= x < 1 for x in p)
    assert got.margin == pytest.approx(math.fsum(1 / o for o in odds) - 1, abs=1e-15)
    for i in range(len(odds)):
        for j in range(len(odds)):
            if odds[i] < odds[j]:
                assert p[i] >= p[j], (odds, p)


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("odds, message", [
    ([1.0, 2.0], r"odds\[0\] = 1\.0: a decimal price must be a finite number above 1"),
    ([2.0, 0.5], r"odds\[1\] = 0\.5: .*above 1"),
    ([2.0, -3.0, 3.0], r"odds\[1\] = -3\.0: .*above 1"),
    ([2.0, 3.0, float("nan")], r"odds\[2\] = nan: .*finite"),
    ([float("inf"), 2.0], r"odds\[0\] = inf: .*finite"),
    ([2.0, "3.1"], r"odds\[1\] = '3\.1': not a number"),
    ([2.0, True], r"odds\[1\] = True: not a number"),
    ([2.0], r"at least 2 prices, got 1"),
    ([], r"at least 2 prices, got 0"),
    ("2.0 3.0", r"expected a list of decimal prices"),
])
def test_bad_prices_raise_naming_the_price(odds, message):
    for method in METHODS:
        with pytest.raises(ValueError, match=message):
            implied(odds, method)


def test_an_unknown_method_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"method 'logarithmic': expected one of multiplicative, "
                                         r"additive, power, shin, odds_ratio"):
        implied([2.0, 2.0], "logarithmic")


# --- the CLI ------------------------------------------------------------------------------------

def test_cli_prints_one_json_line_per_method():
    odds = ["2.7", "2.3", "4.4"]
    for method in METHODS:
        run = betpipe(None, "implied", "--method", method, *odds)
        assert run.returncode == 0, run.stderr
        assert run.stdout.count("\n") == 1 and run.stderr == ""
        doc = json.loads(run.stdout)
        assert set(doc) == {"method", "probabilities", "margin"} and doc["method"] == method
        assert doc["margin"] == pytest.approx(1 / 2.7 + 1 / 2.3 + 1 / 4.4 - 1, abs=1e-15)
        assert sum(doc["probabilities"]) == pytest.approx(1, abs=1e-9)
        assert doc["probabilities"] == list(implied([2.7, 2.3, 4.4], method).probabilities)
    shin_two = json.loads(betpipe(None, "implied", "--method", "shin", "1.5", "2.6").stdout)
    assert shin_two["probabilities"][0] == pytest.approx(25 / 39, abs=1e-12)  # by hand, above


@pytest.mark.parametrize("args, message", [
    (["--method", "shin", "1.0", "2.0"], "odds[0] = 1.0: a decimal price must be a finite"),
    (["--method", "power", "2.0", "abc"], "odds[1] = 'abc': not a number"),
    (["--method", "power", "2.0", "nan"], "odds[1] = nan:"),
    (["--method", "odds_ratio", "2.0"], "at least 2 prices, got 1"),
    (["--method", "shin", "2.1", "2.1"], "shin needs a margin of 0 or more"),
    (["--method", "logarithmic", "2.0", "2.0"], "invalid choice: 'logarithmic'"),
    (["2.0", "2.0"], "--method"),
])
def test_cli_bad_input_exits_2_with_the_reason_on_stderr(args, message):
    run = betpipe(None, "implied", *args)
    assert run.returncode == 2 and run.stdout == ""
    assert message in run.stderr
