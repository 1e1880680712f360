"""The dashboard app through HTTP (Starlette's test client): panels, escaping, the toggle with
its token, the config status, /metrics and the drill app."""
from __future__ import annotations

import re
import warnings

import orjson
import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.filebus import read_json
from pipeline.programs.dashboard.app import create_app
from pipeline.programs.dashboard.drillview import DrillModel
from pipeline.core.matchkey import load_tables
from tests.kit.contracts import assert_contract, FOOTBALL_DATA
from tests.kit.homes import EVIL

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "t0ken-for-tests"
METRIC_LINE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$|^[a-z_]+ (NaN|[+-]Inf)$')


@pytest.fixture
def client(filled, monkeypatch):
    monkeypatch.delenv("BETPIPE_DASHBOARD_TOKEN", raising=False)
    drill = DrillModel(FOOTBALL_DATA, load_tables())
    app = create_app(filled, FakeClock("2019-08-09T18:40:00Z", speed=60), drill=drill)
    return TestClient(app, base_url="http://127.0.0.1")


def test_page_shows_every_panel_with_hostile_names_escaped(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    for section in ("config", "programs", "sessions", "open-bets", "settled-bets", "decisions", "odds"):
        assert f'id="{section}"' in html
    assert "P-2" in html and "P-1" in html  # the open and the settled bet
    live = client.get("/live").text
    assert "&lt;img src=x onerror=" in live and "<img" not in live


def test_state_json_has_bets_decisions_odds_and_sessions(client, filled):
    for name, path in (("odds-data", filled.odds), ("decisions", filled.decisions),
                       ("results", filled.results)):
        assert_contract(name, read_json(path))  # the test home holds real-shaped files
    s = client.get("/api/state").json()
    assert [b["bet_ref"] for b in s["open_bets"]] == ["P-2"]
    assert [(b["bet_ref"], b["outcome"], b["profit"]) for b in s["settled_bets"]] == [("P-1", "won", 1.4)]
    assert s["decisions"][0]["session"] == "dog-late"
    fav = next(x for x in s["sessions"] if x["id"] == "fav-week")
    assert (fav["bets"], fav["open"], fav["profit"], fav["enabled"]) == (2, 1, 1.4, True)
    assert fav["equity"]["points"].count(",") == 2  # 0 and one settlement
    row = next(r for r in s["odds"]["rows"] if r["home"] == EVIL)
    assert row["age_s"] == 120  # seen at 18:38, now 18:40
    assert s["config"]["ok"] and s["writes"] is False
    assert s["programs"]["monitor"]["liveness"] == "running"
    assert s["programs"]["track"]["liveness"] == "absent"


def test_toggle_needs_a_token_set_and_given(client, filled, monkeypatch):
    before = filled.system_config.read_bytes()
    body = {"session": "dog-late", "enabled": False}
    r = client.post("/api/sessions/toggle", json=body, headers={"X-Betpipe-Token": TOKEN})
    assert r.status_code == 403 and "disabled" in r.json()["error"]
    monkeypatch.setenv("BETPIPE_DASHBOARD_TOKEN", TOKEN)
    assert client.post("/api/sessions/toggle", json=body).status_code == 403
    assert client.post("/api/sessions/toggle", json=body,
                       headers={"X-Betpipe-Token": "wrong"}).status_code == 403
    assert filled.system_config.read_bytes() == before
    assert client.post("/api/sessions/toggle", content=b"[1]",
                       headers={"X-Betpipe-Token": TOKEN}).status_code == 400
    r = client.post("/api/sessions/toggle", json=body, headers={"X-Betpipe-Token": TOKEN})
    assert r.status_code == 200 and r.json()["changed"] is True
    assert orjson.loads(filled.system_config.read_bytes())["sessions"][1]["enabled"] is False
    assert TOKEN not in filled.audit.read_text() and TOKEN not in client.get("/").text
    audit = [orjson.loads(line) for line in filled.audit.read_text().splitlines()]
    assert audit[-1]["by"] == "dashboard" and audit[-1]["changes"] == ["$.sessions[1].enabled: true -> false"]
    r = client.post("/api/sessions/toggle", json={"session": "ghost", "enabled": False},
                    headers={"X-Betpipe-Token": TOKEN})
    assert r.status_code == 404


def test_a_bad_edit_is_shown_with_file_path_and_reason(client, filled, monkeypatch):
    assert client.get("/api/state").json()["config"]["ok"]
    filled.system_config.write_text('{"sessions": [{"id": "x", "selection": "home", '
                                    '"staking": {"plan": "flat", "stake": -1}}]}')
    html = client.get("/live").text
    assert 'id="config-error-path">$.sessions[0].staking.stake<' in html
    assert "greater than 0" in html and str(filled.system_config) in html
    assert "keeps running the last good config" in html
    sessions = client.get("/api/state").json()["sessions"]  # those of the last good config
    assert [(s["id"], s["enabled"], s["bankroll"]) for s in sessions] == [
        ("fav-week", True, 1001.4), ("dog-late", True, 500.0)]
    monkeypatch.setenv("BETPIPE_DASHBOARD_TOKEN", TOKEN)
    r = client.post("/api/sessions/toggle", json={"session": "x", "enabled": False},
                    headers={"X-Betpipe-Token": TOKEN})
    assert r.status_code == 409  # never written on top of a bad hand edit


def test_foreign_host_is_refused(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_metrics_are_prometheus_text(client):
    r = client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = [line for line in r.text.splitlines() if line and not line.startswith("#")]
    bad = [line for line in lines if not METRIC_LINE.match(line)]
    assert bad == []
    assert 'betpipe_bets_placed_total{session="fav-week"} 2' in lines
    assert 'betpipe_bets_settled_total{session="fav-week",outcome="won"} 1' in lines
    assert 'betpipe_standing_decisions{session="dog-late"} 1' in lines
    assert 'betpipe_program_up{program="monitor"} 1' in lines
    assert "betpipe_config_valid 1" in lines
    assert "betpipe_odds_age_seconds 60" in lines  # fetched 18:39, now 18:40
    assert "betpipe_odds_price_age_max_seconds 120" in lines
    assert "betpipe_scrape_duration_seconds 0.5" in lines  # 30 simulated s at speed 60


def test_drill_app_goes_down_to_records_and_back_up(client):
    base = "/drill?file=E0_2019-20.csv&file=E0_2018-19.csv&odds=b365&selection=favourite"
    top = client.get(base + "&by=season&by=role").text
    assert top.count('class="group"') == 2 and "all matches" in top
    link = re.search(r'href="([^"]*w\.season=2019-20[^"]*)" class="down"', top).group(1)
    level2 = client.get(link.replace("&amp;", "&")).text
    assert 'id="crumbs"' in level2 and "season = 2019-20" in level2
    assert '<b>380</b> matches' in level2
    link = re.search(r'href="([^"]*)" class="down">favourite<', level2).group(1)
    records = client.get(link.replace("&amp;", "&")).text
    assert records.count('class="record"') == 380
    back = re.search(r'href="([^"]*)" class="crumb">all matches<', records).group(1)
    assert client.get(back.replace("&amp;", "&")).text.count('class="group"') == 2


def test_drill_app_refuses_files_outside_its_folder(client):
    for name in ("../../etc/passwd", "nope.csv"):
        html = client.get(f"/drill?file={name}&by=season").text
        assert 'id="drill-error"' in html and "no data file" in html
    assert 'id="drill-error"' in client.get("/drill?file=E0_2019-20.csv&by=bogus").text


def test_open_bets_list_the_next_to_kick_off_first():
    from pipeline.core.state import Bet
    from pipeline.programs.dashboard.state import open_rows

    def bet(ref, key, seq, outcome=None):
        return Bet(decision_id=f"s|{key}|1X2", session="s", client_ref=f"s|{key}|1X2#1",
                   bet_ref=ref, match_key=key, selection="home", odds=2.0, stake=1.0,
                   placed_at="2019-08-09T18:00:00Z", seq=seq, outcome=outcome)
    placed = [bet("P-4", "2019-20_D v E", 4), bet("P-3", "2019-20_Gone v Away", 3),
              bet("P-2", "2019-20_B v C", 2), bet("P-1", "2019-20_A v B", 1, outcome="won"),
              bet("P-0", "2019-20_F v G", 0)]
    odds = {"matches": [{"key": "2019-20_D v E", "kickoff": "2019-08-10T11:30:00Z"},
                        {"key": "2019-20_B v C", "kickoff": "2019-08-17T14:00:00Z"},
                        {"key": "2019-20_F v G", "kickoff": "2019-08-10T11:30:00Z"}]}
    rows = open_rows(placed, odds)
    # kickoff first, then placing order; a match gone from odds-data last; settled bets never
    assert [r["bet_ref"] for r in rows] == ["P-0", "P-4", "P-2", "P-3"]
    assert rows[0]["kickoff"] == "2019-08-10T11:30:00Z" and rows[-1]["kickoff"] is None
    assert [r["bet_ref"] for r in open_rows(placed, None)] == ["P-0", "P-2", "P-3", "P-4"]


def test_state_filters_sessions_by_category(client, filled):
    from pipeline.core.filebus import atomic_write_bytes
    from pipeline.core.sessionedit import set_keys

    path = filled.system_config
    new, _ = set_keys(path.read_bytes(), path, "dog-late", ["category=late"])
    atomic_write_bytes(path, new)
    ids = lambda q: [s["id"] for s in client.get(f"/api/state{q}").json()["sessions"]]  # noqa: E731
    assert ids("?category=late") == ["dog-late"]
    assert ids("?category=football") == ["fav-week"]
    assert ids("") == ["fav-week", "dog-late"]
    assert ids("?category=none") == []
    assert client.get("/?category=late").status_code == 200


def test_clv_column_and_equity_vs_clv_view_show_results_json_figures(client):
    from tests.kit.homes import CLOSE

    p = (1 / CLOSE["home"]) / sum(1 / x for x in CLOSE.values())
    clv, ev = 1.14 / 1.10 - 1, 1.14 * p - 1  # P-1: 1.14 against a close of 1.10
    s = client.get("/api/state").json()
    settled = s["settled_bets"][0]
    assert (settled["closing"], settled["clv"]) == (1.10, pytest.approx(clv, abs=1e-6))
    fav = next(x for x in s["sessions"] if x["id"] == "fav-week")
    assert fav["clv_bets"] == 1  # P-2's match has not closed
    assert (fav["clv_mean"], fav["ev_close_mean"]) == (pytest.approx(clv, abs=1e-6),
                                                      pytest.approx(ev, abs=1e-6))
    html = client.get("/").text
    assert 'id="equity-vs-clv"' in html
    assert html.count(f"{clv * 100:.1f}%") >= 3  # sessions' CLV, equity vs CLV, the settled bet
    assert f"{ev * 100:.1f}%" in html
