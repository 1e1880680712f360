"""The corpus against the real `betpipe dashboard` server: whatever odds-data, decisions,
results, health or ledger file it finds, every page answers 200 and the state says which file is
wrong and why; a good file again shows again. A corrupt ledger leaves the last good fold."""
from __future__ import annotations

import urllib.error
import urllib.request

import orjson
import pytest

from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.paths import Home
from tests.badinput import corpus
from tests.badinput.programs import Program, place_link, write_bytes
from tests.kit.contracts import free_port
from tests.kit.homes import fill

PAGES = ("/", "/live", "/api/state", "/metrics")

# valid JSON of the wrong shape for the pages (each names the JSON path it breaks)
WRONG_SHAPES = {
    "odds-data.json": [(b'{"version": 2, "fetched_at": "2019-08-09T18:39:00Z", "matches": "x"}',
                        "$.matches"),
                       (b'{"version": 2, "fetched_at": "2019-08-09T18:39:00Z", "matches": '
                        b'[{"key": "k", "competition": "EPL", "status": "scheduled", '
                        b'"kickoff": 7, "odds": null}]}', "$.matches[0].kickoff")],
    "decisions.json": [(b'{"version": 2, "decisions": [{"match_key": 5}]}', "decisions[0]"),
                       (b'{"version": 2, "decisions": "all"}', "field decisions")],
    "results.json": [(b'{"version": 2, "sessions": "x", "total": null}', "$.sessions"),
                     (b'{"version": 2, "sessions": {"s": {"equity": [[1]]}}}',
                      "$.sessions.s.equity")],
}


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def dashboard(tmp_path):
    home = Home(tmp_path / "home").ensure()
    fill(home)
    port = free_port()
    cfg = read_json(home.system_config)
    cfg["dashboard"]["port"] = port
    atomic_write_json(home.system_config, cfg)
    p = Program("dashboard", home, tmp_path / "dashboard.log")
    try:
        p.wait_health(lambda h: h.get("url") and h.get("state") == "ok", "serving")
        yield home, p, port, tmp_path
    finally:
        p.kill()


def state(port: int) -> dict:
    statuses = {path: get(port, path) for path in PAGES}
    assert {path: s for path, (s, _) in statuses.items()} == {path: 200 for path in PAGES}
    return orjson.loads(statuses["/api/state"][1])


def test_the_dashboard_serves_every_page_whatever_the_files_hold(dashboard):
    home, p, port, tmp = dashboard
    good = state(port)
    assert good["file_problems"] == [] and good["open_bets"][0]["bet_ref"] == "P-2"
    big = corpus.write_huge(tmp / "huge.json")
    try:
        for target in (home.odds, home.decisions, home.results, home.health("decide")):
            original = target.read_bytes()
            cases = [(name, (lambda t=target, d=data: write_bytes(t, d)), reason)
                     for name, data, reason in corpus.unreadable({"version": 1})]
            cases.append(("huge", (lambda t=target: place_link(big, t)), "over the limit"))
            cases += [(f"shape {where}", (lambda t=target, d=data: write_bytes(t, d)), where)
                      for data, where in WRONG_SHAPES.get(target.name, [])]
            for name, write, reason in cases:
                write()
                s = state(port)
                if target.parent.name == "health":  # unreadable health: the program shows absent
                    assert s["programs"]["decide"]["liveness"] == "absent", name
                    continue
                assert any(str(target) in e and reason in e for e in s["file_problems"]), \
                    (target.name, name, s["file_problems"])
            write_bytes(target, original)
            assert state(port)["file_problems"] == []
    finally:
        big.unlink(missing_ok=True)

    # a corrupt ledger: said, and the last good fold still shown
    ledger = home.ledger.read_bytes()
    write_bytes(home.ledger, ledger + bytes(range(256)) + b"\n" + ledger)
    s = state(port)
    assert any(str(home.ledger) in e and "does not parse" in e for e in s["file_problems"])
    assert s["open_bets"][0]["bet_ref"] == "P-2" and s["ledger_seq"] == good["ledger_seq"]
    write_bytes(home.ledger, ledger)
    assert state(port)["file_problems"] == []
    assert p.alive()
    assert p.stop() == 0
