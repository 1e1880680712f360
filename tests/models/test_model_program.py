"""The `model` program: the real program on a temp home with a fast clock writes a contract-valid
probabilities.json for odds-data's matches, refits at most once per refit_h, idles healthy when
disabled; no lookahead: every result not out by now rewritten -> the same probabilities."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import orjson

from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock
from pipeline.core.config import parse_config
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history.football_data import parse_file
from pipeline.programs.model.program import Modeller
from tests.kit.contracts import assert_contract, FOOTBALL_DATA
from tests.kit.football_data import perturbed_copy
from tests.kit.poll import poll
from tests.kit.programs import health, start_program, stop_program

T0 = datetime(2019, 12, 1, 12, tzinfo=timezone.utc)
FILES = [FOOTBALL_DATA / "E0_2018-19.csv", FOOTBALL_DATA / "E0_2019-20.csv"]


def odds_doc(at: datetime, days: int = 7) -> dict:
    """odds-data for the EPL 2019-20 matches kicking off in [at, at + days), scheduled."""
    week = [f for f in parse_file(FILES[1], load_tables())
            if at <= f.kickoff < at + timedelta(days=days)]
    return {"version": 1, "written_at": iso(at), "source": "sandbox", "fetched_at": iso(at),
            "matches": [{"key": f.key, "season": f.season, "competition": f.competition,
                         "home": f.home, "away": f.away, "kickoff": iso(f.kickoff),
                         "status": "scheduled", "odds": dict(zip(("home", "draw", "away"),
                                                                 f.odds(("B365H", "B365D", "B365A")))),
                         "result": None} for f in week]}


def config_doc(folder, **model) -> dict:
    return {"sessions": [], "model": {"enabled": True, "data": str(folder), **model}}


def test_the_program_writes_contract_valid_probabilities_and_refits_once_per_refit_h(
        home, tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    for p in FILES:  # the real files, not copies
        os.symlink(p, folder / p.name)
    clockmod.anchor(home.clock, start=T0, speed=3600)  # one real second = one hour
    atomic_write_json(home.system_config, config_doc(folder, refit_h=2))
    odds = odds_doc(T0)
    atomic_write_json(home.odds, odds)
    log = tmp_path / "model.log"
    proc = start_program("model", home, log)
    try:
        first = poll(lambda: read_snapshot(home.probabilities), 60, "probabilities.json",
                     proc, log)
        assert_contract("probabilities", first)
        fitted = [parse_iso(first["model"]["fitted_at"])]
        poll(lambda: (read_snapshot(home.probabilities) or {}).get("version", 0) >= 4, 60,
             "three refits", proc, log)
        assert proc.poll() is None
        assert health(home, "model")["state"] == "ok"
    finally:
        assert stop_program(proc) == 0
    last = read_snapshot(home.probabilities)
    assert_contract("probabilities", last)
    fitted.append(parse_iso(last["model"]["fitted_at"]))
    # refits at most once per refit_h: versions 1..v were fitted >= 2 h apart each
    assert fitted[1] - fitted[0] >= timedelta(hours=2) * (last["version"] - first["version"])
    assert fitted[0] >= T0
    for doc in (first, last):
        at = parse_iso(doc["model"]["fitted_at"])
        assert parse_iso(doc["model"]["trained_until"]) + timedelta(minutes=110) <= at
        open_keys = [m["key"] for m in odds["matches"]]  # all scheduled: priced or counted
        assert {m["key"] for m in doc["matches"]} <= set(open_keys)
        assert len(doc["matches"]) + doc["model"]["unpriced"] == len(open_keys) == 19
        assert doc["model"]["unpriced"] == 0  # every 2019-20 team played by December
        used = [f for p in FILES for f in parse_file(p, load_tables())
                if f.kickoff + timedelta(minutes=110) <= at]
        assert doc["model"]["fits"]["EPL"]["matches"] == len(used)
    lines = [orjson.loads(x) for x in log.read_bytes().splitlines() if x.startswith(b"{")]
    assert sum(1 for x in lines if x.get("event") == "model.fitted") == last["version"]


def test_a_disabled_model_program_idles_healthy_and_beating(home, tmp_path):
    clockmod.anchor(home.clock, start=T0, speed=60)
    atomic_write_json(home.system_config, {"sessions": []})  # model.enabled defaults to false
    atomic_write_json(home.odds, odds_doc(T0))
    log = tmp_path / "model.log"
    proc = start_program("model", home, log)
    try:
        h1 = poll(lambda: (h := health(home, "model")).get("enabled") is False and h, 30,
                  "health with enabled false", proc, log)
        poll(lambda: health(home, "model").get("last_beat_real") != h1["last_beat_real"],
             30, "a second beat", proc, log)
        h = health(home, "model")
        assert h["state"] == "ok", h
        assert_contract("health", h)
        assert not home.probabilities.exists()
    finally:
        assert stop_program(proc) == 0


def test_no_lookahead_every_result_not_out_by_now_rewritten_gives_the_same_probabilities(
        tmp_path):
    now = T0
    real, fake = tmp_path / "real", tmp_path / "perturbed"
    real.mkdir(), fake.mkdir()
    changed = 0
    for p in FILES:
        os.symlink(p, real / p.name)
        changed += perturbed_copy(p, fake / p.name, now)
    assert changed > 200
    odds = odds_doc(now)
    docs = []
    for folder in (real, fake):
        home = Home(tmp_path / f"home-{folder.name}").ensure()
        config = parse_config(orjson.dumps(config_doc(folder)), home.system_config)
        docs.append(Modeller(home, FakeClock(now)).run_pass(odds, config))
    assert docs[0]["matches"] and docs[0] == docs[1]
    # every match carries its goal parameters (AH and OU value): the same in both, so no
    # result not out by now reaches them either
    assert all(set(m["goals"]) == {"home", "away", "rho"} for m in docs[0]["matches"])
    # a result out before now does move them (so the comparison could fail)
    early = tmp_path / "early"
    early.mkdir()
    os.symlink(FILES[0], early / FILES[0].name)
    perturbed_copy(FILES[1], early / FILES[1].name, now - timedelta(days=14))
    home = Home(tmp_path / "home-early").ensure()
    config = parse_config(orjson.dumps(config_doc(early)), home.system_config)
    assert Modeller(home, FakeClock(now)).run_pass(odds, config)["matches"] != docs[0]["matches"]
