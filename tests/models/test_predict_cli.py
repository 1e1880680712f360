"""`betpipe model predict` through a subprocess on real CSVs: the contract, which matches it
prices (the week after --at, both teams seen), and no lookahead: every result after --at
rewritten in copies of the files leaves the document byte-identical."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from pipeline.core.matchkey import load_tables
from pipeline.history.football_data import parse_file
from tests.kit.contracts import assert_contract, FOOTBALL_DATA
from tests.kit.football_data import perturbed_copy

FILES = [FOOTBALL_DATA / "E0_2018-19.csv", FOOTBALL_DATA / "E0_2019-20.csv"]
AT = "2019-12-01T12:00:00Z"


def predict(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "model", "predict", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_week_after_at_priced_from_results_before_it():
    out = predict("--data", *map(str, FILES), "--at", AT, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert_contract("probabilities", doc)
    at = datetime(2019, 12, 1, 12, tzinfo=timezone.utc)
    fixtures = [f for p in FILES for f in parse_file(p, load_tables())]
    week = [f.key for f in sorted(fixtures, key=lambda f: (f.kickoff, f.key))
            if at <= f.kickoff < at + timedelta(days=7)]
    assert [m["key"] for m in doc["matches"]] == week and len(week) == 19
    used = [f for f in fixtures if f.kickoff + timedelta(minutes=110) <= at]
    assert doc["model"]["fits"]["EPL"]["matches"] == len(used)
    assert doc["model"]["trained_until"] == max(f.kickoff for f in used).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    for m in doc["matches"]:
        assert abs(sum(m["1X2"].values()) - 1) < 1e-9, m
        assert m["goals"]["home"] > 0 and m["goals"]["away"] > 0


def test_unseen_teams_get_no_probability():
    """At 2019-08-10 12:00 only the opening match (Liverpool v Norwich, 9 Aug) has finished:
    every match of the next week has a team the model never saw."""
    out = predict("--data", str(FILES[1]), "--at", "2019-08-10T12:00:00Z", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["matches"] == []
    at = datetime(2019, 8, 10, 12, tzinfo=timezone.utc)
    week = [f for f in parse_file(FILES[1], load_tables())
            if at <= f.kickoff < at + timedelta(days=7)]
    assert doc["model"]["unpriced"] == len(week) == 9


def test_no_lookahead_every_later_result_changed(tmp_path):
    at = datetime(2019, 12, 1, 12, tzinfo=timezone.utc)
    copies = [tmp_path / p.name for p in FILES]
    changed = sum(perturbed_copy(p, c, at) for p, c in zip(FILES, copies))
    assert changed > 200
    a = predict("--data", *map(str, FILES), "--at", AT, "--json")
    b = predict("--data", *map(str, copies), "--at", AT, "--json")
    assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
    assert a.stdout == b.stdout
    # a result before --at does move the probabilities (so the test could fail)
    early = tmp_path / "early"
    early.mkdir()
    perturbed_copy(FILES[1], early / FILES[1].name, at - timedelta(days=14))
    c = predict("--data", str(FILES[0]), str(early / FILES[1].name), "--at", AT, "--json")
    assert json.loads(c.stdout)["matches"] != json.loads(a.stdout)["matches"]


def test_bad_input_names_it():
    out = predict("--data", str(FILES[0]), "--at", "yesterday")
    assert out.returncode == 2 and "--at 'yesterday'" in out.stderr
    out = predict("--data", str(FILES[0]), "--at", AT, "--xi", "-1")
    assert out.returncode == 2 and "--xi" in out.stderr
    out = predict("--data", "/nonexistent.csv", "--at", AT)
    assert out.returncode == 2 and "/nonexistent.csv" in out.stderr
