"""`from: model` in the CSV backtest (issue 18): walk-forward Dixon–Coles with fits cached on disk.

No lookahead: copies of real files with every result from an instant on changed give the same
bets before it (and different ones after); an earlier result changed changes later bets. The
cache: a second run fits nothing and bets the same; a changed row refits only the instants that
saw it; a torn cache file is fitted again. Fits are counted by wrapping dixon_coles.fit."""
from __future__ import annotations

import csv
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone

import orjson
import pytest

from pipeline.analysis.backtest import load_matches, run
from pipeline.analysis.probabilities import tables_for
from pipeline.core.config import Config
from pipeline.core.matchkey import load_tables
from pipeline.models import dixon_coles as dc
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.football_data import perturbed
from tests.kit.programs import betpipe

NAMES = ["E0_2018-19.csv", "E0_2019-20.csv"]
REFIT_DAYS = 14
SESSION = {"id": "model-value", "selection": "value", "min_edge": 0.03,
           "probability": {"from": "model"}, "odds": {"min": 1.5, "max": 5.0},
           "staking": {"plan": "flat", "stake": 10}}
T = datetime(2019, 12, 1, tzinfo=timezone.utc)  # results from here on are changed


@contextmanager
def counting_fits():
    real, calls = dc.fit, []

    def fit(*args, **kw):
        got = real(*args, **kw)
        if got is not None:  # None: nothing finished before the instant (no fit, no file)
            calls.append(args[1])
        return got

    dc.fit = fit
    try:
        yield calls
    finally:
        dc.fit = real


def project(folder, cache):
    """(report, bets (kickoff, home, away, selection, odds, stake, profit), fits made)."""
    config = Config.model_validate({"sessions": [SESSION]})
    tables = load_tables()
    loaded = load_matches([folder / n for n in NAMES], "b365", tables)
    with counting_fits() as calls:
        t = tables_for(config, loaded.matches, loaded.fixtures, tables, REFIT_DAYS, cache)
    bt = run(loaded.matches, config, tables=t)
    bets = [(m.kickoff, m.fixture.home, m.fixture.away, b.selection, b.odds, b.stake, b.profit)
            for b, m in bt.bets(SESSION["id"])]
    return bt.report(), bets, len(calls)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("model")
    cache = root / "home" / "data" / "cache" / "models"
    report, bets, fits = project(FOOTBALL_DATA, cache)
    (root / "base-fits").write_text("\n".join(sorted(p.name for p in cache.glob("*.json"))))
    return root, cache, report, bets, fits


def test_the_model_session_bets_and_a_second_run_reads_every_fit_from_the_cache(base):
    root, cache, report, bets, fits = base
    assert report[SESSION["id"]]["bets"] > 50 and fits > 30  # ~2 seasons / 14 days, summers skipped
    assert len(list(cache.glob("*.json"))) == fits
    again = project(FOOTBALL_DATA, cache)
    assert again[2] == 0 and again[:2] == (report, bets)


def test_results_from_an_instant_on_do_not_reach_the_bets_before_it(base, tmp_path):
    root, cache, report, bets, fits = base
    assert perturbed(FOOTBALL_DATA, tmp_path / "late", NAMES, lambda ko: ko >= T) > 200
    _, late, refits = project(tmp_path / "late", cache)
    assert [b for b in late if b[0] < T] == [b for b in bets if b[0] < T]
    assert len([b for b in bets if b[0] < T]) > 20
    assert [b for b in late if b[0] >= T] != [b for b in bets if b[0] >= T]
    # the fits before T came from the cache: only the instants that saw a changed row refit
    assert 0 < refits < fits


def test_an_earlier_result_changes_the_bets_after_it(base, tmp_path):
    root, cache, report, bets, fits = base
    start, end = datetime(2019, 9, 1, tzinfo=timezone.utc), datetime(2019, 9, 2, tzinfo=timezone.utc)
    assert perturbed(FOOTBALL_DATA, tmp_path / "early", NAMES, lambda ko: start <= ko < end) >= 1
    _, early, _ = project(tmp_path / "early", cache)
    assert [b for b in early if b[0] < start] == [b for b in bets if b[0] < start]
    assert [b for b in early if start < b[0] < T] != [b for b in bets if start < b[0] < T]


def test_a_torn_cache_file_is_fitted_again(base, tmp_path):
    root, cache, report, bets, fits = base
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    victim = copy / (root / "base-fits").read_text().split()[0]  # other tests add fits
    victim.write_bytes(victim.read_bytes()[:40])
    got = project(FOOTBALL_DATA, copy)
    assert got[2] == 1 and got[:2] == (report, bets)


def test_the_cli_uses_the_homes_cache_and_says_what_it_fitted(base):
    root, cache, report, bets, fits = base
    cfg = root / "config.json"
    cfg.write_bytes(orjson.dumps({"sessions": [SESSION]}))
    out = betpipe(root / "home", "backtest", "--data", *(str(FOOTBALL_DATA / n) for n in NAMES),
                  "--odds", "b365", "--config", str(cfg), "--refit-days", str(REFIT_DAYS), "--json")
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == orjson.loads(orjson.dumps(report))
    assert "0 fits made" in out.stderr and f"{fits} read from" in out.stderr
