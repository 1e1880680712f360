"""betpipe optimize: walk-forward folds scored exactly as a plain backtest, no look-ahead,
shared journal studies with two workers, repeatable with --seed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

from pipeline.analysis import optimize as op
from pipeline.cli import main
from pipeline.core.config import Session
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA

FILES = [FOOTBALL_DATA / f"E0_{s}.csv" for s in ("2016-17", "2017-18", "2018-19", "2019-20")]
SESSION = {"id": "opt", "selection": "favourite", "odds": {"min": 1.2, "max": 3.0},
           "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000}
SPACE = {"odds.min": {"low": 1.3, "high": 2.4, "step": 0.05},
         "odds.max": {"low": 1.6, "high": 3.0, "step": 0.1},  # some trials: min > max (pruned)
         "selection": {"choices": ["favourite", "underdog", "home"]}}


@pytest.fixture
def inputs(tmp_path):
    cfg, space = tmp_path / "config.json", tmp_path / "space.json"
    cfg.write_text(json.dumps({"sessions": [SESSION]}))
    space.write_text(json.dumps(SPACE))
    return cfg, space


def args(tmp_path, cfg, space, *more, files=FILES, trials=8):
    return (["--home", str(tmp_path / "home"), "optimize", "--data", *map(str, files),
             "--config", str(cfg), "--session", "opt", "--space", str(space), "--odds", "b365",
             "--trials", str(trials), "--json", *more])


def run_json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def with_params(params: dict) -> dict:
    s = json.loads(json.dumps(SESSION))
    for key, value in params.items():
        node, parts = s, key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return s


def test_walk_forward_folds_equal_a_plain_backtest_and_never_see_the_future(
        tmp_path, inputs, capsys, monkeypatch):
    cfg, space = inputs
    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv(op.TRACE_ENV, str(trace))
    doc = run_json(capsys, args(tmp_path, cfg, space, "--folds", "season", "--train", "2",
                                "--seed", "3", "--min-bets", "5"))
    assert doc["session"] == "opt" and doc["objective"] == "roi"
    assert [(f["train_seasons"], f["test_season"]) for f in doc["folds"]] == [
        (["2016-17", "2017-18"], "2018-19"), (["2016-17", "2017-18", "2018-19"], "2019-20")]
    tests = []
    for fold, file in zip(doc["folds"], FILES[2:]):
        assert fold["best_params"] is not None
        session = with_params(fold["best_params"])
        Session.model_validate(session)
        # the reference backtest, from the season's rows alone
        want = reference.backtest([file], "b365", [session])["opt"]
        got = fold["test"]
        assert got["bets"] == want["bets"] > 0
        assert got["staked"] == pytest.approx(want["staked"], abs=0.006)
        assert got["profit"] == pytest.approx(want["profit"], abs=0.006)
        assert got["roi"] == pytest.approx(want["roi"], abs=1e-5)
        # and a plain `betpipe backtest` of those parameters on that file alone
        one = tmp_path / f"best-{fold['test_season']}.json"
        one.write_text(json.dumps({"sessions": [session]}))
        plain = run_json(capsys, ["backtest", "--data", str(file), "--config", str(one),
                                  "--odds", "b365", "--json"])["opt"]
        assert {k: plain[k] for k in ("bets", "staked", "profit", "roi")} == got
        tests.append(want)
    oos = doc["out_of_sample"]
    assert oos["bets"] == sum(t["bets"] for t in tests)
    assert oos["profit"] == pytest.approx(sum(t["profit"] for t in tests), abs=0.006)
    assert oos["roi"] == pytest.approx(oos["profit"] / oos["staked"], abs=1e-6)
    # no fold trained on its test season or a later one: what each backtest actually ran on
    lines = [json.loads(x) for x in trace.read_text().splitlines()]
    first_test_kickoff = {}
    for file, season in zip(FILES[2:], ("2018-19", "2019-20")):
        first_test_kickoff[season] = min(m["ko"] for m in reference.matches([file], "b365"))
    for fold in doc["folds"]:
        test = fold["test_season"]
        trains = [x for x in lines if x["fold"] == test and not x.get("test")]
        assert 0 < len(trains) <= 8  # invalid (pruned) trials never backtest
        for x in trains:
            assert x["seasons"] == fold["train_seasons"]
            assert all(s < test for s in x["seasons"])
            assert all(f"_{test}" not in f for f in x["files"])
            assert datetime.fromisoformat(x["last_kickoff"]) < first_test_kickoff[test]
        scored = [x for x in lines if x["fold"] == test and x.get("test")]
        assert [x["seasons"] for x in scored] == [[test]]


def test_seed_repeats_and_an_invalid_combination_is_pruned_not_a_crash(tmp_path, inputs,
                                                                       capsys):
    cfg, space = inputs
    one = run_json(capsys, args(tmp_path, cfg, space, "--seed", "7", "--storage",
                                str(tmp_path / "a.journal"), files=FILES[:2], trials=12))
    two = run_json(capsys, args(tmp_path, cfg, space, "--seed", "7", "--storage",
                                str(tmp_path / "b.journal"), files=FILES[:2], trials=12))
    assert one == two and one["folds"][0]["best_params"]
    import optuna

    from pipeline.analysis.studies import storage_for
    study = optuna.load_study(study_name=one["folds"][0]["study"],
                              storage=storage_for(str(tmp_path / "a.journal"), tmp_path, "opt"))
    trials = study.get_trials()
    assert len(trials) == 12
    invalid = [t for t in trials if str(t.user_attrs["figures"].get("reason", "")).startswith("invalid")]
    assert all(t.params["odds.min"] > t.params["odds.max"] for t in invalid)
    assert all(t.state.name == "PRUNED" for t in invalid)
    # the same run again on the same storage: the study is full, the same answer
    assert run_json(capsys, args(tmp_path, cfg, space, "--seed", "7", "--storage",
                                 str(tmp_path / "a.journal"), files=FILES[:2], trials=12)) == one


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_two_worker_processes_share_one_study_and_run_each_trial_once(tmp_path, inputs, kind):
    """The journal file (default) and a database URL (optuna's RDBStorage, here SQLite)."""
    cfg, space = inputs
    trace, n = tmp_path / "trace.jsonl", 16
    journal = (str(tmp_path / "shared.journal") if kind == "journal"
               else f"sqlite:///{tmp_path / 'shared.db'}")
    env = {**os.environ, op.TRACE_ENV: str(trace)}
    space.write_text(json.dumps({"odds.min": {"low": 1.3, "high": 1.9, "step": 0.05}}))
    out = subprocess.run([sys.executable, "-m", "pipeline.cli",
                          *args(tmp_path, cfg, space, "--jobs", "2", "--seed", "1",
                                "--storage", journal, files=FILES[:1], trials=n)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    import optuna

    from pipeline.analysis.studies import SURPLUS, storage_for
    study = optuna.load_study(study_name=doc["folds"][0]["study"],
                              storage=storage_for(journal, tmp_path, "opt"))
    if kind == "sqlite":
        assert type(study._storage).__name__ in ("RDBStorage", "_CachedStorage")
        assert (tmp_path / "shared.db").stat().st_size > 0 and not (
            tmp_path / "shared.journal").exists()
    ran = [t for t in study.get_trials() if not t.user_attrs.get(SURPLUS)]
    assert sorted(t.number for t in ran) == list(range(n))
    lines = [json.loads(x) for x in trace.read_text().splitlines()]
    numbers = [x["trial"] for x in lines]
    assert sorted(numbers) == list(range(n))  # every trial backtested exactly once
    assert len({x["pid"] for x in lines}) == 2  # by both workers
    assert {t.user_attrs["figures"]["pid"] for t in ran} == {x["pid"] for x in lines}


def test_bad_space_names_the_file_and_key(tmp_path, inputs, capsys):
    cfg, space = inputs
    space.write_text(json.dumps({"odds.minimum": {"low": 1.3, "high": 2.0}}))
    assert main(args(tmp_path, cfg, space, files=FILES[:1])) == 2
    err = capsys.readouterr().err
    assert str(space) in err and "odds.minimum" in err and "not a session key" in err


def test_log_growth_is_the_sum_of_log_returns_on_the_bankroll_before_each_bet():
    import math
    eq = [["t1", 10.0], ["t2", -5.0], ["t3", 15.0]]
    want = math.log(1 + 10 / 100) + math.log(1 - 15 / 110) + math.log(1 + 20 / 95)
    assert op.log_growth(eq, 100) == pytest.approx(want)
    assert op.log_growth([["t1", -100.0]], 100) == -math.inf


@pytest.mark.parametrize("session", [
    {"id": "opt", "market": "AH", "selection": "value", "probability": {"from": "model"},
     "odds": {"min": 1.5, "max": 3.0}, "staking": {"plan": "flat", "stake": 10}},
    {"id": "opt", "selection": "value", "probability": {"from": "reference",
                                                        "odds": "pinnacle"},
     "staking": {"plan": "kelly", "fraction": 0.25}}])
def test_a_trial_with_model_or_reference_probabilities_equals_the_plain_backtest(
        tmp_path, capsys, monkeypatch, session):
    """optimize hands the trial's backtest the probabilities `betpipe backtest` makes (the
    model's walk-forward fit, a reference's prices): without them the session bets nothing."""
    monkeypatch.setenv("BETPIPE_HOME", str(tmp_path / "home"))  # the fits' cache
    cfg, space = tmp_path / "config.json", tmp_path / "space.json"
    cfg.write_text(json.dumps({"sessions": [session]}))
    space.write_text(json.dumps({"min_edge": {"choices": [0.03]}}))
    files = FILES[2:]
    doc = run_json(capsys, args(tmp_path, cfg, space, "--min-bets", "1", files=files, trials=1))
    train = doc["folds"][0]["train"]
    best = tmp_path / "best.json"
    best.write_text(json.dumps({"sessions": [{**session, "min_edge": 0.03}]}))
    plain = run_json(capsys, ["backtest", "--data", *map(str, files), "--config", str(best),
                              "--odds", "b365", "--json"])["opt"]
    assert train["bets"] > 20
    assert {k: plain[k] for k in ("bets", "staked", "profit", "roi")} == train


def test_a_trial_through_the_prepared_matches_is_a_fresh_backtest_of_its_session():
    """The trials' engine path (matches prepared once, deciding only where the session can bet)
    against a plain `backtest.run` on freshly loaded CSVs, for sessions that skip by odds
    bounds, competition, market and line, halt on limits and time, and stake from the
    market's probabilities; run twice in turn on the same prepared data (nothing leaks from
    one trial into the next)."""
    from pipeline.analysis import backtest as bt
    from pipeline.core.config import Config
    files = [FOOTBALL_DATA / n for n in ("E0_2018-19.csv", "E0_2019-20.csv", "D1_2019-20.csv")]
    markets = ("1X2", "AH", "OU")
    data = op.Data.load(files, "b365", Config.model_validate({"sessions": [SESSION]}), "opt",
                        markets=markets)
    seasons = list(data.seasons)
    fresh = bt.load_matches(files, "b365", markets=markets).matches
    comps = sorted({m.fixture.competition for m in fresh})
    assert len(comps) == 2 and len(seasons) == 2
    cases = [
        {"selection": "favourite", "odds.min": 1.5, "odds.max": 2.2},
        {"selection": "draw", "odds.min": 3.0, "odds.max": 3.6, "competitions": [comps[0]]},
        {"selection": "underdog", "odds.min": 1.2, "odds.max": 1.5},  # no match: no bet
        {"market": "AH", "selection": "home", "line": {"min": -1.0, "max": 0.0}},
        {"market": "OU", "selection": "over", "odds.max": 2.0},
        {"selection": "home", "odds.min": 2.0, "odds.max": 3.0, "staking.plan": "martingale",
         "limits.stop_loss": 100},
        {"selection": "away", "odds.min": 3.5, "odds.max": 4.0, "limits.max_duration_h": 500},
        {"selection": "favourite", "probability": {"from": "market", "method": "additive"},
         "staking": {"plan": "kelly", "fraction": 0.5, "edge": 0.08},
         "competitions": [comps[1]]},
    ]
    keys = ("bets", "staked", "profit", "roi", "equity")
    seen = []
    for params in cases + cases[::-1]:
        session = op.session_with(data.base, params)
        got = data.backtest(session, seasons)
        config = Config.model_validate({"sessions": [session.model_dump()]})
        plain = bt.run(fresh, config)
        want = plain.figures("opt")
        assert {k: got[k] for k in keys} == {k: want[k] for k in keys}, params
        # and the same ledger: as many events, the same bets, the same halt at the same instant
        run = data.trials(seasons).run(config)
        a, b = run.session_book("opt"), plain.session_book("opt")
        assert run.seq == plain.seq and run.matches == plain.matches
        assert (a.halted, a.halted_at) == (b.halted, b.halted_at)
        assert [(x.bet_ref, x.placed_at, x.settled_at, x.profit) for x in a.bets] == [
            (x.bet_ref, x.placed_at, x.settled_at, x.profit) for x in b.bets]
        assert got["log_growth"] == op.log_growth(want["equity"], session.bankroll)
        seen.append((want["bets"], want["halted"]))
        # the prepared path did skip matches (it decides on fewer than the plain run steps)
        assert sum(data.trials(seasons).can_bet(session)) < plain.matches == len(fresh)
    bets = [b for b, _ in seen[:len(cases)]]
    assert bets[2] == 0 and all(b > 0 for i, b in enumerate(bets) if i != 2)
    assert [h for _, h in seen[5:7]] == ["stop_loss", "max_duration_h"]
