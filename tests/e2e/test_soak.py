"""A short soak: `scripts/soak --sim-days 2` runs the whole pipeline under the real
supervisord.conf on a temporary home (replay source, step clock, every staking plan) as a real
subprocess; its JSON summary must show bets placed and settled, invariants holding, samples of
every program with fds and threads at the start and the end — and this test checks the home it
leaves again from the files alone, and that no process of the home is left."""
from __future__ import annotations

import subprocess

import orjson
import pytest

from pipeline.core.jsonl import parse
from pipeline.core.paths import REPO, Home
from pipeline.programs import PROGRAMS
from pipeline.harness.soak.plan import PLANS
from pipeline.harness.supervise import leftovers
from tests.kit.contracts import assert_contract, FOOTBALL_DATA

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(not (FOOTBALL_DATA / "E0_2019-20.csv").exists(), reason="no CSVs")
def test_a_two_day_soak_bets_settles_and_keeps_its_invariants(tmp_path):
    home = Home(tmp_path / "home")
    out_file = tmp_path / "soak.json"
    cmd = [str(REPO / "scripts" / "soak"), "--sim-days", "2", "--seed", "3",
           "--home", str(home.root), "--json-out", str(out_file)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    summary = orjson.loads(out.stdout)
    shown = orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + out.stderr[-3000:]
    assert out.returncode == 0 and summary["broke"] == [], shown
    assert orjson.loads(out_file.read_bytes()) == summary

    bets = summary["bets"]
    assert bets["placed"] > 0 and bets["settled"] > 0, bets
    assert bets["intended"] == bets["placed"] + bets["failed"] == bets["at_bookmaker"], bets
    assert summary["invariants"]["ok"] and summary["invariants"]["problems"] == []
    assert summary["replay"] == "finished" and summary["real"]["sim_days_reached"] == 2
    plans = {sid.rsplit("-", 1)[0] for sid, n in summary["by_session"].items() if n["placed"]}
    assert plans == set(PLANS), summary["by_session"]  # every staking plan bet

    assert set(summary["programs"]) == set(PROGRAMS)
    for name, fig in summary["programs"].items():
        assert fig["samples"] >= 3 and fig["restarts"] == 0, (name, fig)
        assert 5 < fig["max_rss_mb"] < 1000, (name, fig)
        for key in ("fds", "threads"):
            assert all(isinstance(fig[key][at], int) and fig[key][at] > 0
                       for at in ("first", "start", "end")), (name, fig)
        assert fig["rss_slope_mb_per_sim_day"] is not None, (name, fig)
    assert all(isinstance(v, bool) for k, v in summary["goals"].items()
               if not k.startswith("projected")), summary["goals"]
    assert summary["leftover_processes"] == [] and leftovers(home) == []

    # the same facts again, from the files the run left
    events = parse(home.ledger.read_bytes()).records
    for ev in events:
        assert_contract("bet-record-event", ev)
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    placed = [e["decision_id"] for e in events if e["type"] == "BET_PLACED"]
    assert len(placed) == len(set(placed)) == bets["placed"]
    assert sum(e["type"] == "BET_SETTLED" for e in events) == bets["settled"]
    for schema, path in (("odds-data", home.odds), ("decisions", home.decisions),
                         ("results", home.results), ("clock", home.clock)):
        assert_contract(schema, orjson.loads(path.read_bytes()))
    for program in PROGRAMS:
        assert_contract("health", orjson.loads(home.health(program).read_bytes()))


@pytest.mark.skipif(not (FOOTBALL_DATA / "E0_2019-20.csv").exists(), reason="no CSVs")
def test_a_soak_on_the_sandbox_through_chromium_at_speed(tmp_path):
    """`--speed`: the sandbox bookmaker read by the monitor's Chromium on a fast clock (a
    simulated day in 48 real seconds: on a loaded machine the monitor's Chromium alone can take
    12 real s to start, and at 3600x that was half the day gone before the first poll) instead of
    the replay; the browsers are sampled too."""
    home = Home(tmp_path / "home")
    cmd = [str(REPO / "scripts" / "soak"), "--sim-days", "1", "--speed", "1800", "--seed", "2",
           "--home", str(home.root)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    summary = orjson.loads(out.stdout)
    shown = orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + out.stderr[-3000:]
    assert out.returncode == 0 and summary["broke"] == [], shown
    assert summary["source"] == "sandbox (Chromium)" and summary["speed"] == 1800
    assert summary["real"]["sim_days_reached"] >= 1, summary["real"]
    bets = summary["bets"]
    assert bets["placed"] > 0 and bets["settled"] > 0, bets  # 2019-08-09: Liverpool v Norwich
    assert bets["intended"] == bets["placed"] + bets["failed"] == bets["at_bookmaker"], bets
    assert summary["invariants"]["ok"], summary["invariants"]
    assert summary["browsers"]["samples"] > 0 and summary["browsers"]["count"]["end"] > 0, \
        summary["browsers"]  # the monitor's Chromium was running and measured
    assert set(summary["programs"]) == set(PROGRAMS)
    assert summary["leftover_processes"] == [] and leftovers(home) == []
    odds = orjson.loads(home.odds.read_bytes())
    assert_contract("odds-data", odds)
    assert odds["source"] == "sandbox"
