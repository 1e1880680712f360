"""Value and probability sessions in the CSV backtest (issue 18): `from: reference` and `from:
market` on real football-data files, against bets worked out here from the rows with the csv
module (tests/analysis/reference's row reading, no pipeline code); the lookahead flag of a
closing reference; several references side by side."""
from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.analysis.probabilities import tables_for
from pipeline.core.config import Config
from pipeline.core.matchkey import load_tables
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.programs import betpipe

FILES = [FOOTBALL_DATA / "E0_2018-19.csv", FOOTBALL_DATA / "E0_2019-20.csv"]
HDA = ("H", "D", "A")


def rows_with(files, odds: str, ref: str | None) -> list[dict]:
    """Rows with `odds`' prices (and `ref`'s), in kickoff order, ties file-then-row."""
    out = []
    for fi, path in enumerate(files):
        for ri, row in enumerate(reference.read_rows(path)):
            p = reference.prices(row, odds)
            if p is None:
                continue
            ko = reference.kickoff(row)
            out.append({"ko": ko, "settle": ko + timedelta(minutes=110),
                        "order": (fi, ri), "p": p, "q": reference.prices(row, ref) if ref else None,
                        "ftr": row["FTR"], "home": row["HomeTeam"], "away": row["AwayTeam"]})
    out.sort(key=lambda m: (m["ko"], m["order"]))
    return out


def multiplicative(prices: dict) -> dict:
    inv = {s: 1 / prices[s] for s in HDA}
    total = sum(inv.values())
    return {s: inv[s] / total for s in HDA}


def simulate(rows, choose, stake_of, bankroll: float = 1000.0) -> list[tuple]:
    """Bets (home, away, side, odds, stake, profit) in placement order: before each match the
    bets whose results are out settle; `choose(row)` -> (side, p) or None; `stake_of(p, price,
    current bankroll)` -> the raw stake or None."""
    profit, open_, bets = 0.0, [], []
    for m in rows:
        for b in [b for b in open_ if b["m"]["settle"] <= m["ko"]]:
            open_.remove(b)
            profit += b["profit"]
        got = choose(m)
        if got is None:
            continue
        side, p = got
        price = m["p"][side]
        raw = stake_of(p, price, round(bankroll + profit, 2))
        if raw is None:
            continue
        stake = reference.cents_down(raw)
        free = bankroll + profit - sum(b["stake"] for b in open_)
        if stake <= 0 or stake > round(free, 2) + 1e-9:
            continue
        won = m["ftr"] == side
        b = {"m": m, "stake": stake, "profit": round((round(stake * price, 2) if won else 0)
                                                     - stake, 2)}
        open_.append(b)
        bets.append((m["home"], m["away"], side, price, stake, b["profit"]))
    return bets


def value_pick(lo: float, hi: float, min_edge: float):
    def choose(m):
        best = None
        for s in HDA:  # ties: the first, home, draw, away
            price, q = m["p"][s], m["pp"][s]
            edge = q * price - 1
            if lo <= price <= hi and edge >= min_edge and (best is None or edge > best[2]):
                best = (s, q, edge)
        return best and best[:2]
    return choose


def project(files, odds: str, sessions: list[dict], refit_days: float = 7, cache=None):
    config = Config.model_validate({"sessions": sessions})
    tables = load_tables()
    loaded = load_matches(files, odds, tables)
    t = tables_for(config, loaded.matches, loaded.fixtures, tables, refit_days, cache)
    bt = run(loaded.matches, config, tables=t)
    side = {"home": "H", "draw": "D", "away": "A"}
    return bt.report(), {sid: [(m.fixture.home, m.fixture.away, side[b.selection], b.odds,
                                b.stake, b.profit) for b, m in bt.bets(sid)]
                         for sid in bt.report()}


def assert_figures(got: dict, bets: list[tuple]) -> None:
    staked = sum(b[4] for b in bets)
    profit = sum(b[5] for b in bets)
    assert got["bets"] == len(bets) and got["won"] == sum(b[5] > 0 for b in bets)
    assert got["staked"] == pytest.approx(staked, abs=0.006)
    assert got["profit"] == pytest.approx(profit, abs=0.006)
    assert got["roi"] == pytest.approx(profit / staked, abs=1e-6)


REF_FLAT = {"id": "ref-flat", "selection": "value", "min_edge": 0.02,
            "probability": {"from": "reference", "odds": "pinnacle", "method": "multiplicative"},
            "odds": {"min": 1.5, "max": 6.0}, "staking": {"plan": "flat", "stake": 10}}
REF_KELLY = {"id": "ref-kelly", "selection": "value", "min_edge": 0.01,
             "probability": {"from": "reference", "odds": "pinnacle-closing",
                             "method": "multiplicative"},
             "odds": {"max": 4.0}, "staking": {"plan": "kelly", "fraction": 0.25},
             "bankroll": 500}


def test_value_on_a_reference_backtests_as_the_rows_say():
    report, got = project(FILES, "b365", [REF_FLAT, REF_KELLY])
    rows = rows_with(FILES, "b365", "pinnacle")
    for m in rows:
        m["pp"] = m["q"] and multiplicative(m["q"])
    rows_c = rows_with(FILES, "b365", "pinnacle-closing")
    for m in rows_c:
        m["pp"] = m["q"] and multiplicative(m["q"])

    def guarded(choose):
        return lambda m: choose(m) if m["pp"] else None

    want_flat = simulate(rows, guarded(value_pick(1.5, 6.0, 0.02)), lambda p, o, bank: 10.0)

    def kelly(p, price, bank):
        f = (p * price - 1) / (price - 1)
        return 0.25 * f * bank if f > 0 and bank > 0 else None

    want_kelly = simulate(rows_c, guarded(value_pick(1.0, 4.0, 0.01)), kelly, bankroll=500)
    assert len(want_flat) > 20 and len(want_kelly) > 50  # both bet, on different matches
    assert got["ref-flat"] == want_flat
    assert got["ref-kelly"] == want_kelly
    assert_figures(report["ref-flat"], want_flat)
    assert_figures(report["ref-kelly"], want_kelly)


def test_market_kelly_stakes_with_the_margin_free_price_times_its_edge():
    kelly = {"id": "mkt", "selection": "favourite", "odds": {"min": 1.3, "max": 2.6},
             "probability": {"from": "market", "method": "additive"},
             "staking": {"plan": "kelly", "fraction": 0.5, "edge": 0.08}}
    report, got = project(FILES, "avg", [kelly])
    rows = rows_with(FILES, "avg", None)

    def favourite(m):
        side = "H" if m["p"]["H"] <= m["p"]["A"] else "A"
        if not 1.3 <= m["p"][side] <= 2.6:
            return None
        inv = {s: 1 / m["p"][s] for s in HDA}  # additive: 1/o − (Σ 1/o − 1) / 3
        return side, inv[side] - (sum(inv.values()) - 1) / 3

    def stake(p, price, bank):
        f = (p * 1.08 * price - 1) / (price - 1)
        return 0.5 * f * bank if f > 0 and bank > 0 else None

    want = simulate(rows, favourite, stake)
    assert len(want) > 100
    assert got["mkt"] == want
    assert_figures(report["mkt"], want)


def test_several_references_coexist_and_a_closing_one_is_flagged(tmp_path):
    other = {**REF_FLAT, "id": "ref-shin",
             "probability": {"from": "reference", "odds": "pinnacle", "method": "shin"}}
    cfg = tmp_path / "c.json"
    cfg.write_bytes(orjson.dumps({"sessions": [REF_FLAT, other, REF_KELLY]}))
    args = ["backtest", "--data", *map(str, FILES), "--config", str(cfg)]
    out = betpipe(tmp_path, *args, "--odds", "b365", "--json")
    assert out.returncode == 0, out.stderr
    report = orjson.loads(out.stdout)
    # the flat session's bets, from the CLI as in-process (the first test checks them)
    assert report["ref-flat"] == project(FILES, "b365", [REF_FLAT])[0]["ref-flat"]
    # shin and multiplicative are different tables of the same columns: different bets
    assert report["ref-shin"]["bets"] > 0 and report["ref-shin"] != report["ref-flat"]
    assert "ref-kelly" in out.stderr and "lookahead" in out.stderr
    assert "ref-flat" not in out.stderr and "ref-shin" not in out.stderr
    table = betpipe(tmp_path, *args, "--odds", "b365")
    assert table.returncode == 0 and "LOOKAHEAD" in table.stdout and "ref-kelly" in table.stdout
    closing = betpipe(tmp_path, *args, "--odds", "b365-closing", "--json")
    assert closing.returncode == 0 and "lookahead" not in closing.stderr


def test_an_unknown_reference_source_is_a_clear_error(tmp_path):
    bad = {**REF_FLAT, "probability": {"from": "reference", "odds": "pinnacel"}}
    cfg = tmp_path / "c.json"
    cfg.write_bytes(orjson.dumps({"sessions": [bad]}))
    out = betpipe(tmp_path, "backtest", "--data", str(FILES[0]), "--config", str(cfg),
                  "--odds", "b365")
    assert out.returncode == 2
    assert "session ref-flat: field probability.odds: unknown source 'pinnacel'" in out.stderr
