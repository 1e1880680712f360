"""AH and OU value sessions in the CSV backtest (issue 18) on real football-data files: `from:
model` (the walk-forward fit's goal parameters) and `from: reference` (another source's prices of
the same line). Bets are worked out here from the raw rows: the line and prices from DESIGN's
column table, each side's outcome probabilities by the double sum over a Dixon–Coles matrix of
tests/kit/goals.py (only λ, μ, ρ come from the run), the value pick, the stake and
DESIGN's settlement written out again. No lookahead: results from an instant on changed leave the
goal parameters and the AH/OU bets before it as they were."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline.analysis.backtest import load_matches, markets_of, run
from pipeline.analysis.probabilities import tables_for
from pipeline.core.config import Config
from pipeline.core.matchkey import load_tables
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.football_data import perturbed
from tests.kit.programs import betpipe
from tests.kit.goals import direct

NAMES = ["E0_2018-19.csv", "E0_2019-20.csv"]
REFIT_DAYS = 14
AH_MODEL = {"id": "ah-model", "market": "AH", "selection": "value", "min_edge": 0.03,
            "probability": {"from": "model"}, "odds": {"min": 1.5, "max": 3.0},
            "staking": {"plan": "flat", "stake": 10}}
OU_MODEL = {"id": "ou-model", "market": "OU", "selection": "value", "min_edge": 0.02,
            "probability": {"from": "model"}, "staking": {"plan": "kelly", "fraction": 0.25},
            "bankroll": 1000}
AH_REF = {"id": "ah-ref", "market": "AH", "selection": "value", "min_edge": 0.02,
          "probability": {"from": "reference", "odds": "pinnacle-closing"},
          "odds": {"min": 1.5, "max": 3.0}, "staking": {"plan": "flat", "stake": 10}}
SESSIONS = [AH_MODEL, OU_MODEL, AH_REF]
T = datetime(2019, 12, 1, tzinfo=timezone.utc)


def num(cell):
    try:
        return float(cell)
    except (TypeError, ValueError):
        return None


def price(cell):
    x = num(cell)
    return x if x is not None and x > 1 else None


def project(folder, cache, sessions=SESSIONS):
    """(report, bets per session, goals per (home, away, kickoff))."""
    config = Config.model_validate({"sessions": sessions})
    tables = load_tables()
    loaded = load_matches([folder / n for n in NAMES], "b365", tables,
                          markets=markets_of(config))
    t = tables_for(config, loaded.matches, loaded.fixtures, tables, REFIT_DAYS, cache)
    bt = run(loaded.matches, config, tables=t)
    bets = {s["id"]: [(m.kickoff, m.fixture.home, m.fixture.away, b.selection, b.line, b.odds,
                       b.stake, b.profit) for b, m in bt.bets(s["id"])] for s in sessions}
    goals = {(m.fixture.home, m.fixture.away, m.kickoff): t.goals.get(m.fixture.key)
             for m in loaded.matches}
    return bt.report(), bets, goals


def rows(folder) -> list[dict]:
    out = []
    for fi, name in enumerate(NAMES):
        for ri, r in enumerate(reference.read_rows(folder / name)):
            ko = reference.kickoff(r)
            out.append({"ko": ko, "settle": ko + timedelta(minutes=110), "order": (fi, ri),
                        "home": r["HomeTeam"], "away": r["AwayTeam"], "hg": int(r["FTHG"]),
                        "ag": int(r["FTAG"]), "row": r})
    out.sort(key=lambda m: (m["ko"], m["order"]))
    return out


def settle(market, side, line, odds, stake, hg, ag):
    """DESIGN: d per part (a quarter line: halves on line ∓ 0.25); payout = round(stake ×
    (w × odds + v), 2)."""
    parts = [line] if line * 2 == int(line * 2) else [line - 0.25, line + 0.25]
    w = v = 0.0
    for x in parts:
        if market == "AH":
            d = hg - ag + x if side == "home" else ag - hg - x
        else:
            d = hg + ag - x if side == "over" else x - hg - ag
        w += (d > 0) / len(parts)
        v += (d == 0) / len(parts)
    return round(round(stake * (w * odds + v), 2) - stake, 2), v == 1


def simulate(all_rows, offer, choose, stake_of, bankroll=1000.0):
    """(bets (kickoff, home, away, side, line, odds, stake, profit) in placement order, their
    stakes but the wholly void ones' (DESIGN: staked leaves void bets out)).
    `offer(row)` -> (market, line, {side: price}) or None; `choose(m, line, prices)` ->
    (side, p) or None; `stake_of(p, price, current bankroll)` -> the raw stake."""
    profit, open_, bets, staked = 0.0, [], [], 0.0
    for m in all_rows:
        for b in [b for b in open_ if b["settle"] <= m["ko"]]:
            open_.remove(b)
            profit += b["profit"]
        got = offer(m["row"])
        if got is None:
            continue
        market, line, prices = got
        pick = choose(m, line, prices)
        if pick is None:
            continue
        side, p = pick
        stake = reference.cents_down(stake_of(p, prices[side], round(bankroll + profit, 2)))
        free = bankroll + profit - sum(b["stake"] for b in open_)
        if stake <= 0 or stake > round(free, 2) + 1e-9:
            continue
        gain, void = settle(market, side, line, prices[side], stake, m["hg"], m["ag"])
        staked += 0.0 if void else stake
        open_.append({"settle": m["settle"], "stake": stake, "profit": gain})
        bets.append((m["ko"], m["home"], m["away"], side, line, prices[side], stake, gain))
    return bets, round(staked, 2)


def ah_offer(cols):
    def offer(r):
        line, h, a = num(r.get(cols[0])), price(r.get(cols[1])), price(r.get(cols[2]))
        return None if line is None or h is None or a is None else (
            "AH", line, {"home": h, "away": a})
    return offer


def ou_offer(r):
    o, u = price(r.get("B365>2.5")), price(r.get("B365<2.5"))
    return None if o is None or u is None else ("OU", 2.5, {"over": o, "under": u})


def best(candidates, lo, hi, min_edge):
    """(side, p) of the largest edge >= min_edge among sides priced in [lo, hi]; ties first."""
    top = None
    for side, price_, p, edge in candidates:
        if lo <= price_ <= hi and edge >= min_edge and (top is None or edge > top[2]):
            top = (side, p, edge)
    return top and top[:2]


def model_choice(goals, lo, hi, min_edge):
    def choose(m, line, prices):
        g = goals.get((m["home"], m["away"], m["ko"]))
        if g is None:
            return None
        market = "AH" if "home" in prices else "OU"
        cands = []
        for side, o in prices.items():
            q = direct(market, side, line, g)
            ev = q["won"] * o + q["half_won"] * (o + 1) / 2 + q["void"] + q["half_lost"] / 2 - 1
            cands.append((side, o, q["won"], ev))
        return best(cands, lo, hi, min_edge)
    return choose


def reference_choice(m, line, prices):
    r = m["row"]
    ref_line, h, a = num(r.get("AHCh")), price(r.get("PCAHH")), price(r.get("PCAHA"))
    if ref_line != line or h is None or a is None:
        return None  # no pinnacle closing price at the bet's line
    ph = (1 / h) / (1 / h + 1 / a)
    p = {"home": ph, "away": 1 - ph}
    return best([(s, prices[s], p[s], p[s] * prices[s] - 1) for s in ("home", "away")],
                1.5, 3.0, 0.02)


def flat(p, price_, bank):
    return 10.0


def kelly(p, price_, bank):
    f = (p * price_ - 1) / (price_ - 1)
    return 0.25 * f * bank if f > 0 and bank > 0 else 0.0


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("lines")
    cache = root / "home" / "data" / "cache" / "models"
    return root, cache, project(FOOTBALL_DATA, cache)


def assert_figures(got: dict, bets: list[tuple], staked: float) -> None:
    profit = sum(b[7] for b in bets)
    assert got["bets"] == len(bets)
    assert got["staked"] == pytest.approx(staked, abs=0.006)
    assert got["profit"] == pytest.approx(profit, abs=0.006)
    assert got["roi"] == pytest.approx(profit / staked, abs=1e-5)


def test_ah_and_ou_value_sessions_backtest_as_the_rows_say(base):
    root, cache, (report, got, goals) = base
    all_rows = rows(FOOTBALL_DATA)
    want_ah, staked_ah = simulate(all_rows, ah_offer(("AHh", "B365AHH", "B365AHA")),
                       model_choice(goals, 1.5, 3.0, 0.03), flat)
    want_ou, _ = simulate(all_rows, ou_offer, model_choice(goals, 1.0, 1e9, 0.02), kelly)
    want_ref, staked_ref = simulate(all_rows, ah_offer(("AHh", "B365AHH", "B365AHA")), reference_choice, flat)
    # each bets, on quarter lines too, and the closing reference skips lines that moved
    assert len(want_ah) > 40 and len(want_ou) > 40 and len(want_ref) > 40
    assert any(b[4] * 4 % 2 == 1 for b in want_ah)
    assert sum(1 for m in all_rows if num(m["row"].get("AHCh")) != num(m["row"].get("AHh"))) > 50
    assert got["ah-model"] == want_ah
    assert got["ah-ref"] == want_ref
    # kelly stakes: a cent apart at most (the exact fraction vs its bisection), same bets
    assert [b[:6] for b in got["ou-model"]] == [b[:6] for b in want_ou]
    for g, w in zip(got["ou-model"], want_ou):
        assert g[6] == pytest.approx(w[6], abs=0.011)
    assert staked_ah < 10 * len(want_ah)  # whole lines: some stakes came back void
    assert_figures(report["ah-model"], want_ah, staked_ah)
    assert_figures(report["ah-ref"], want_ref, staked_ref)
    assert report["ou-model"]["bets"] == len(want_ou)


def test_results_from_an_instant_on_reach_neither_the_goals_nor_the_bets_before_it(base,
                                                                                    tmp_path):
    root, cache, (report, got, goals) = base
    assert perturbed(FOOTBALL_DATA, tmp_path / "late", NAMES, lambda ko: ko >= T) > 200
    _, late, late_goals = project(tmp_path / "late", cache)
    before = {k: g for k, g in goals.items() if k[2] < T}
    assert sum(g is not None for g in before.values()) > 100
    assert {k: g for k, g in late_goals.items() if k[2] < T} == before
    assert {k: g for k, g in late_goals.items() if k[2] >= T} != {
        k: g for k, g in goals.items() if k[2] >= T}
    for sid in ("ah-model", "ou-model"):
        assert len([b for b in got[sid] if b[0] < T]) > 10
        assert [b for b in late[sid] if b[0] < T] == [b for b in got[sid] if b[0] < T]


def test_the_cli_backtests_ah_and_ou_value_and_flags_the_closing_reference(base):
    root, cache, (report, got, goals) = base
    cfg = root / "config.json"
    cfg.write_bytes(orjson.dumps({"sessions": SESSIONS}))
    out = betpipe(root / "home", "backtest", "--data", *(str(FOOTBALL_DATA / n) for n in NAMES),
                  "--odds", "b365", "--config", str(cfg), "--refit-days", str(REFIT_DAYS), "--json")
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == orjson.loads(orjson.dumps(report))
    assert "0 fits made" in out.stderr and "lookahead" in out.stderr


def test_a_1x2_session_beside_them_moves_no_refit_instant_and_no_bet(base):
    """b365's AH and OU columns start in 2019-20, its 1X2 ones long before: the refit instants
    count from the files' first kickoff, not from the first match a run's markets price."""
    root, cache, (report, got, goals) = base
    x12 = {"id": "x12", "selection": "value", "probability": {"from": "model"},
           "staking": {"plan": "flat", "stake": 10}}
    with_1x2 = project(FOOTBALL_DATA, cache, [*SESSIONS, x12])
    assert with_1x2[2].keys() > goals.keys()  # 2018-19 is priced now, too
    assert {k: with_1x2[2][k] for k in goals} == goals
    assert {sid: with_1x2[1][sid] for sid in got} == got and with_1x2[1]["x12"]
