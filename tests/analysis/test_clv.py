"""Closing-line value in the CSV backtest (DESIGN: "Odds history and closing-line value") on real
football-data files, against figures computed here from the rows with the csv module: which
matches a favourites-1.5–2.2 session bets, the price it gets, the close of `--closing` (default the
`--odds` bookmaker's closing columns), clv = odds / close − 1 and ev_close = odds × p_close − 1
with p_close = (1/close) / Σ(1/close of each side)."""
from __future__ import annotations

import json

import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.core.config import Config
from pipeline.strategies import clv
from tests.analysis.reference import read_rows
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.programs import betpipe

FILES = [FOOTBALL_DATA / "E0_2019-20.csv", FOOTBALL_DATA / "I1_2019-20.csv"]
COLS = {"b365": "B365{}", "pinnacle": "PS{}", "avg": "Avg{}", "b365-closing": "B365C{}",
        "pinnacle-closing": "PSC{}", "avg-closing": "AvgC{}", "max-closing": "MaxC{}"}
FAV = {"id": "fav", "selection": "favourite", "odds": {"min": 1.5, "max": 2.2},
       "staking": {"plan": "flat", "stake": 10}, "bankroll": 1_000_000}


def three(row: dict, source: str) -> dict | None:
    out = {}
    for side, letter in (("home", "H"), ("draw", "D"), ("away", "A")):
        try:
            out[side] = float(row[COLS[source].format(letter)])
        except (KeyError, ValueError):
            return None
        if not out[side] > 1:
            return None
    return out


def expected(source: str, closing: str) -> dict:
    """The favourites session's bets and CLV means, from the rows."""
    bets, clvs, evs = 0, [], []
    for path in FILES:
        for row in read_rows(path):
            p = three(row, source)
            if p is None:
                continue
            side = "home" if p["home"] <= p["away"] else "away"
            if not 1.5 <= p[side] <= 2.2:
                continue
            bets += 1
            c = three(row, closing)
            if c is None:
                continue
            clvs.append(p[side] / c[side] - 1)
            evs.append(p[side] * (1 / c[side]) / sum(1 / x for x in c.values()) - 1)
    assert bets > 100 and len(clvs) > 100  # the files have what the test is about
    return {"bets": bets, "clv_bets": len(clvs), "clv_mean": sum(clvs) / len(clvs),
            "ev_close_mean": sum(evs) / len(evs)}


def check(got: dict, want: dict) -> None:
    assert (got["bets"], got["clv_bets"]) == (want["bets"], want["clv_bets"])
    for k in ("clv_mean", "ev_close_mean"):  # per-bet values are rounded to 6 decimals
        assert got[k] == pytest.approx(want[k], abs=2e-6), k


@pytest.mark.parametrize("source, closing", [
    ("b365", None), ("pinnacle", None), ("avg", None),  # each bookmaker's own close
    ("b365", "pinnacle-closing"), ("avg", "max-closing")])  # an explicit --closing
def test_clv_figures_equal_those_computed_from_the_rows(source, closing):
    kw = {"closing": closing} if closing else {}
    bt = run(load_matches(FILES, source, **kw).matches,
             Config.model_validate({"sessions": [FAV]}))
    check(bt.report()["fav"], expected(source, closing or source + "-closing"))


def test_closing_prices_as_odds_have_no_close_by_default_but_may_be_given_one():
    cfg = Config.model_validate({"sessions": [FAV]})
    got = run(load_matches(FILES, "avg-closing").matches, cfg).report()["fav"]
    assert got["bets"] > 100 and (got["clv_bets"], got["clv_mean"]) == (0, None)
    got = run(load_matches(FILES, "avg-closing", closing="max-closing").matches, cfg)
    check(got.report()["fav"], expected("avg-closing", "max-closing"))


def test_the_cli_report_and_json_carry_the_clv(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"sessions": [FAV]}))
    files = [str(f) for f in FILES]
    r = betpipe(None, "backtest", "--data", *files, "--config", str(cfg), "--odds", "b365",
                "--closing", "pinnacle-closing", "--json")
    assert r.returncode == 0, r.stderr
    check(json.loads(r.stdout)["fav"], expected("b365", "pinnacle-closing"))
    r = betpipe(None, "backtest", "--data", *files, "--config", str(cfg), "--odds", "pinnacle")
    want = expected("pinnacle", "pinnacle-closing")
    assert r.returncode == 0 and "CLV against pinnacle-closing" in r.stdout
    assert f"{want['clv_mean']:+.2%}" in r.stdout and f"{want['ev_close_mean']:+.2%}" in r.stdout
    r = betpipe(None, "backtest", "--data", *files, "--config", str(cfg), "--odds", "b365",
                "--closing", "b365-late")
    assert r.returncode == 2 and "--closing" in r.stderr and "b365-late" in r.stderr


def test_an_ah_bet_whose_line_is_not_offered_at_the_close_has_none():
    close = {"odds": None, "handicap": [{"line": -0.5, "home": 1.9, "away": 2.0}],
             "totals": [{"line": 2.5, "over": 1.8, "under": 2.1}]}
    assert clv.of_bet(2.0, "home", close, "AH", -0.75) is None
    got = clv.of_bet(2.0, "home", close, "AH", -0.5)
    p = (1 / 1.9) / (1 / 1.9 + 1 / 2.0)
    assert got == (1.9, round(2.0 / 1.9 - 1, 6), round(2.0 * p - 1, 6))
    assert clv.of_bet(2.2, "under", close, "OU", 2.5).clv == round(2.2 / 2.1 - 1, 6)
    assert clv.of_bet(2.0, "home", close) is None  # no 1X2 price at the close


def _forward_close(lines, kickoff):
    """The closing state as a forward pass keeps it: every line before the first at or after
    kickoff, each market's latest non-empty prices (whole-second texts compare as .000)."""
    def ms(t):
        return t[:-1] + ".000Z" if len(t) == 20 else t
    close = {}
    for r in lines:
        if ms(r["t"]) >= ms(kickoff):
            break
        for name in ("odds", "handicap", "totals"):
            if r.get(name):
                close[name] = r[name]
    return close or None


def test_closing_state_reading_back_equals_the_forward_pass():
    import random
    rng = random.Random(7)
    kickoffs = ["2026-01-01T15:00:00Z", "2026-01-01T15:00:00.000Z", "2026-01-01T15:00:00.250Z"]
    times = ["2026-01-01T14:59:59Z", "2026-01-01T14:59:59.500Z", "2026-01-01T15:00:00Z",
             "2026-01-01T15:00:00.000Z", "2026-01-01T15:00:00.250Z", "2026-01-01T14:00:00Z"]
    values = {"odds": [None, {}, {"home": 2.0, "draw": 3.1, "away": 4.0}],
              "handicap": [None, [], [{"line": -0.5, "home": 1.9, "away": 1.95}]],
              "totals": [None, [], [{"line": 2.5, "over": 1.8, "under": 2.0}]]}
    seen_some = seen_none = 0
    for _ in range(3000):
        kickoff = rng.choice(kickoffs)  # on a whole second, or with milliseconds
        lines = []
        for _ in range(rng.randrange(0, 9)):
            r = {"t": rng.choice(times)}
            for name, options in values.items():
                if rng.random() < 0.7:  # else the line omits the market
                    r[name] = rng.choice(options)
                    if r[name] and rng.random() < 0.5:  # another price than the last
                        r[name] = json.loads(json.dumps(r[name]).replace("2", str(len(lines))))
            lines.append(r)
        want = _forward_close(lines, kickoff)
        assert clv.closing_state(lines, kickoff) == want
        assert clv.closing_state(iter(lines), kickoff) == want  # any iterable, as before
        seen_some += want is not None
        seen_none += want is None
    assert seen_some > 500 and seen_none > 100  # both outcomes exercised
