"""`backtest --history` in process: a history recorded by stepping the real replay source
through the first EPL 2019-20 weekend (as the monitor does, with the session's window edges as
steps) backtests to the CSV backtest's bets at the closing column (the premise of
tests/e2e/test_parity.py); with the results cut out of the history, `--results` CSVs settle the
same bets; `--to` stops time."""
from __future__ import annotations


import orjson
import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.analysis.histback import load_history, run_history
from pipeline.core.config import Config
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history import store
from pipeline.sources.replay import Replay, window_edges
from pipeline.history.football_data import parse_file
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.programs import betpipe

SEASON = FOOTBALL_DATA / "E0_2019-20.csv"
START, UNTIL = parse_iso("2019-08-09T18:00:00Z"), parse_iso("2019-08-11T20:00:00Z")
CONFIG = {"max_odds_age_s": 60, "sessions": [
    {"id": "fav", "selection": "favourite", "odds": {"max": 10},
     "window": {"from_minutes": 1, "to_minutes": 0}, "staking": {"plan": "flat", "stake": 10}},
    {"id": "dog-fib", "selection": "underdog", "odds": {"max": 10},
     "window": {"from_minutes": 1, "to_minutes": 0}, "staking": {"plan": "fibonacci", "stake": 5}}]}
pytestmark = pytest.mark.skipif(not SEASON.exists(), reason="no CSVs")


def record(folder) -> None:
    """The monitor's steps on the replay, without the programs: history lines only."""
    config = Config.model_validate(CONFIG)
    tables = load_tables()
    replay = Replay(parse_file(SEASON, tables), tables, odds="b365", grid_s=604800, until=UNTIL)
    w, now = store.HistoryWriter(folder), START
    while now is not None:
        matches, _ = replay.matches_at(now, iso(now))
        w.append("replay", matches, iso(now))
        now = replay.next_change(now, window_edges(config))
    w.close()


def bets(bt, sessions=("fav", "dog-fib")):
    return sorted((sid, b.match_key, b.selection, b.odds, b.stake, b.profit)
                  for sid in sessions for b, _ in bt.bets(sid))


def test_the_history_backtests_to_the_closing_prices_and_results_can_come_from_csvs(tmp_path):
    folder = tmp_path / "odds-history"
    record(folder)
    config = Config.model_validate(CONFIG)
    expected = bets(run([m for m in load_matches([SEASON], "b365-closing").matches
                         if m.kickoff < UNTIL], config))
    assert len([b for b in expected if b[0] == "fav"]) == 10
    assert bets(run_history(load_history(folder), config)) == expected
    # results cut out: the CSV's FTR/score settles them; without it the bets stay open
    no_results = [x for x in load_history(folder) if x["status"] != "finished"]
    assert bets(run_history(no_results, config, {f.key: {"home_goals": f.result[0],
                                                         "away_goals": f.result[1]}
                                                 for f in parse_file(SEASON, load_tables())}
                            )) == expected
    open_bt = run_history(no_results, config)
    assert len(open_bt.bets("fav")) == 10 and all(b.open for b, _ in open_bt.bets("fav"))
    # the CLI: --results, --to (the first day only: Liverpool v Norwich, Friday 19:00)
    cfg = tmp_path / "cfg.json"
    cfg.write_bytes(orjson.dumps(CONFIG))
    out = betpipe(None, "backtest", "--history", str(folder), "--config", str(cfg), "--to",
                  "2019-08-10T00:00:00Z", "--json")
    report = orjson.loads(out.stdout)
    first = [b for b in expected if b[0] == "fav" and "Liverpool v Norwich" in b[1]]
    assert report["fav"]["bets"] == 1 and report["fav"]["profit"] == first[0][5]


def test_history_backtest_clv_against_the_last_price_before_kickoff(tmp_path):
    """A session betting early (at the first sight of a price) gets each bet's close from the
    history's last 1X2 price before kickoff, read here from the day files with json."""
    import gzip

    folder = tmp_path / "odds-history"
    record(folder)
    early = {"max_odds_age_s": 60, "sessions": [
        {"id": "early", "selection": "underdog", "odds": {"max": 10},
         "window": {"to_minutes": 60}, "staking": {"plan": "flat", "stake": 10}}]}
    bt = run_history(load_history(folder), Config.model_validate(early))
    lines = []
    for f in sorted(folder.iterdir()):
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        lines += [orjson.loads(x) for x in raw.splitlines() if x.strip()]
    lines.sort(key=lambda r: parse_iso(r["t"]))
    clvs, evs = [], []
    for b, _ in bt.bets("early"):
        of = [r for r in lines if r["key"] == b.match_key and r["odds"]
              and parse_iso(r["t"]) < parse_iso(r["kickoff"])]
        close = of[-1]["odds"]
        p = (1 / close[b.selection]) / sum(1 / x for x in close.values())
        clvs.append(b.odds / close[b.selection] - 1)
        evs.append(b.odds * p - 1)
    assert len(clvs) >= 10 and any(abs(c) > 0.01 for c in clvs)  # early prices moved
    got = bt.report()["early"]
    assert got["clv_bets"] == len(clvs)
    assert got["clv_mean"] == pytest.approx(sum(clvs) / len(clvs), abs=2e-6)
    assert got["ev_close_mean"] == pytest.approx(sum(evs) / len(evs), abs=2e-6)
