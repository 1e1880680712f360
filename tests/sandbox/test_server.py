"""The sandbox bookmaker over real HTTP: the /odds contract, bets, idempotency, persistence,
refusals, and the real `betpipe bookmaker` program (start, serve, SIGTERM, restart)."""
from __future__ import annotations


import httpx
import orjson
import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.filebus import read_json
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import parse_iso
from pipeline.programs.bookmaker.market import Market
from pipeline.programs.bookmaker.program import bets_path
from pipeline.programs.bookmaker.store import BetStore
from pipeline.history.football_data import load_folder
from tests.kit.contracts import assert_contract, FOOTBALL_DATA, free_port
from tests.kit.poll import poll
from tests.kit.bookmaker import (LiveServer, OddsPage, get_ok, login, start_bookmaker, stop_bookmaker,
                                 write_home)

LIV_NOR = "E0_2019-20.csv:0"  # Liverpool v Norwich, kickoff 2019-08-09T19:00:00Z, 4-1
WHU_MCI = "E0_2019-20.csv:1"  # West Ham v Man City, kickoff 2019-08-10T11:30:00Z
START = "2019-08-09T18:30:00Z"


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(load_folder(FOOTBALL_DATA, load_tables()))


def bet(client_ref: str, match_id: str = WHU_MCI, **extra) -> dict:
    return {"client_ref": client_ref, "match_id": match_id, "selection": "home", "stake": 10,
            **extra}


def test_odds_page_follows_the_contract(market, home):
    clock = FakeClock(START)
    with LiveServer(market, home, clock) as http:
        r = http.get("/odds")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "Data: <a href=\"https://www.football-data.co.uk/\">football-data.co.uk</a>" in r.text
        page = OddsPage(r.text)
        assert page.sim_now == START
        kickoffs = [parse_iso(row["attrs"]["data-kickoff"]) for row in page.rows]
        assert kickoffs == sorted(kickoffs) and len(kickoffs) > 10
        row = page.row(LIV_NOR)
        assert row["attrs"] == {"class": "match", "data-id": LIV_NOR, "data-competition": "EPL",
                                "data-season": "2019-20", "data-kickoff": "2019-08-09T19:00:00Z",
                                "data-status": "scheduled", "title": "EPL 2019-20"}
        cells = {(c["class"], c["sel"]): c["text"] for c in row["cells"]}
        assert [c["class"] for c in row["cells"]] == ["kickoff", "home", "away", "price", "price",
                                                      "price", "score"] + \
            ["line", "line-price", "line-price"] * 2  # AH, then OU (tests/sandbox/test_markets)
        assert cells[("home", None)] == "Liverpool" and cells[("away", None)] == "Norwich"
        assert [cells[("price", s)] for s in ("home", "draw", "away")] == ["1.14", "9.50", "20.99"]
        assert row["cells"][6] == {"class": "score", "sel": None, "text": ""}

        clock.set("2019-08-09T19:30:00Z")  # live: suspended, no prices
        row = OddsPage(http.get("/odds").text).row(LIV_NOR)
        assert row["attrs"]["data-status"] == "live"
        prices = [c["text"] for c in row["cells"] if c["class"] == "price"]
        assert all(not any(ch.isdigit() for ch in p) and p.strip() for p in prices)

        clock.set("2019-08-09T21:00:00Z")  # kickoff + 120 min: finished
        row = OddsPage(http.get("/odds").text).row(LIV_NOR)
        assert row["attrs"]["data-status"] == "finished"
        assert row["cells"][6]["text"] == "4-1"

        api = http.get("/api/matches").json()
        assert api["sim_now"] == "2019-08-09T21:00:00Z"
        [m] = [m for m in api["matches"] if m["id"] == LIV_NOR]
        assert m["score"] == {"home_goals": 4, "away_goals": 1} and m["odds"] is None
        assert m["key"] == "2019-20_Liverpool v Norwich"
        for path in ("/", "/results", "/login"):
            page = http.get(path)
            assert page.status_code == 200 and "football-data.co.uk" in page.text
        assert http.get("/bets").status_code == 303  # the history needs a login
        assert "Liverpool" in http.get("/results").text


def test_bets_are_idempotent_and_persisted(market, home):
    clock = FakeClock(START)
    with LiveServer(market, home, clock) as http:
        first = http.post("/api/bets", json=bet("dec-1|1"))
        assert first.status_code == 201, first.text
        placed = first.json()
        assert placed["bet_ref"] and placed["status"] == "open" and placed["odds"] > 1
        assert placed["match_key"] == "2019-20_West Ham v Manchester City"
        assert placed["placed_at"] == START and placed["stake"] == 10
        again = http.post("/api/bets", json=bet("dec-1|1", selection="away", stake=99))
        assert again.status_code == 200 and again.json() == placed
        other = http.post("/api/bets", json=bet("dec-2|1", match_id=None,
                                                match_key="2019-20_Liverpool v Norwich"))
        assert other.status_code == 201 and other.json()["bet_ref"] != placed["bet_ref"]
        listed = http.get("/api/bets").json()["bets"]
        assert [b["client_ref"] for b in listed] == ["dec-1|1", "dec-2|1"]
        assert http.get("/api/bets", params={"client_ref": "dec-1|1"}).json()["bets"] == [placed]
    lines = bets_path(home).read_bytes().splitlines()
    assert [orjson.loads(x)["client_ref"] for x in lines] == ["dec-1|1", "dec-2|1"]

    clock.set("2019-08-10T14:00:00Z")  # West Ham 0-5 Man City is over
    with LiveServer(market, home, clock) as http:  # a new instance on the same home
        [b] = http.get("/api/bets", params={"client_ref": "dec-1|1"}).json()["bets"]
        assert b["bet_ref"] == placed["bet_ref"] and b["status"] == "lost"
        assert http.post("/api/bets", json=bet("dec-1|1")).status_code == 200
        assert len(http.get("/api/bets").json()["bets"]) == 2
        assert placed["bet_ref"] in login(http).text  # the history page, after the login


def test_refusals(market, home):
    clock = FakeClock("2019-08-09T19:05:00Z")  # Liverpool v Norwich is live
    with LiveServer(market, home, clock) as http:
        r = http.post("/api/bets", json=bet("x1", LIV_NOR))
        assert r.status_code == 409 and r.json()["reason_code"] == "suspended"
        r = http.post("/api/bets", json=bet("x2", WHU_MCI, min_odds=50))
        assert r.status_code == 409 and r.json()["reason_code"] == "price_changed"
        r = http.post("/api/bets", json=bet("x3", "E0_2019-20.csv:9999"))
        assert r.status_code == 422 and r.json()["reason_code"] == "unknown_match"
        r = http.post("/api/bets", json=bet("x4", "E0_2019-20.csv:379"))  # July 2020: not yet
        assert r.status_code == 409 and r.json()["reason_code"] == "suspended"
        for body in ({"client_ref": "x5"}, bet("x6", selection="1"), bet("x7", stake=-1),
                     bet("x8", stake="10"), [1, 2]):
            r = http.post("/api/bets", json=body)
            assert r.status_code == 422 and r.json()["reason_code"] == "bad_request", body
        r = http.post("/api/bets", content=b"{not json")
        assert r.status_code == 422 and r.json()["reason_code"] == "bad_request"
        assert http.get("/api/bets").json() == {"bets": []}
    assert not bets_path(home).exists() or bets_path(home).read_bytes() == b""


def test_store_ignores_and_cuts_a_torn_last_line(home):
    path = bets_path(home)
    store = BetStore(path)
    store.place("a", lambda ref: {"match_key": "k", "selection": "home", "odds": 2.0, "stake": 1})
    with open(path, "ab") as f:
        f.write(b'{"client_ref": "torn", "bet_r')  # a crash mid-write: never confirmed
    again = BetStore(path)
    assert [b["client_ref"] for b in again.all()] == ["a"]
    bet2, new = again.place("b", lambda ref: {"match_key": "k", "selection": "draw",
                                              "odds": 3.0, "stake": 1})
    assert new and bet2["bet_ref"] != store.get("a")["bet_ref"]
    assert [orjson.loads(x)["client_ref"] for x in path.read_bytes().splitlines()] == ["a", "b"]
    assert [b["client_ref"] for b in BetStore(path).all()] == ["a", "b"]


def test_the_bookmaker_program(home, tmp_path):
    port = free_port()
    write_home(home, port, FOOTBALL_DATA)
    url, log = f"http://127.0.0.1:{port}", tmp_path / "bookmaker.log"
    proc = start_bookmaker(home, log)
    try:
        r = poll(lambda: get_ok(f"{url}/odds"), 60, "the bookmaker's /odds")
        page = OddsPage(r.text)
        assert parse_iso(page.sim_now) >= parse_iso(START)
        assert page.row(LIV_NOR)["attrs"]["data-status"] == "scheduled"
        health = read_json(home.health("bookmaker"))
        assert health["state"] == "ok" and health["url"] == url and health["fixtures"] > 8000
        assert_contract("health", health)
        placed = httpx.post(f"{url}/api/bets", json=bet("prog-1", LIV_NOR), timeout=10)
        assert placed.status_code == 201, placed.text
        assert stop_bookmaker(proc) == 0
    finally:
        proc.kill() if proc.poll() is None else None
    health = read_json(home.health("bookmaker"))
    assert health.get("stopped") is True
    events = [orjson.loads(x)["event"] for x in log.read_bytes().splitlines() if x.startswith(b"{")]
    assert "bookmaker.listening" in events and "bookmaker.bet_accepted" in events
    assert events[-1] == "stopped"

    proc = start_bookmaker(home, log)  # a new process on the same home still has the bet
    try:
        r = poll(lambda: get_ok(f"{url}/api/bets?client_ref=prog-1"), 60,
                     what="the restarted bookmaker")
        assert [b["bet_ref"] for b in r.json()["bets"]] == [placed.json()["bet_ref"]]
        repeat = httpx.post(f"{url}/api/bets", json=bet("prog-1", LIV_NOR), timeout=10)
        assert repeat.status_code == 200 and repeat.json()["bet_ref"] == placed.json()["bet_ref"]
        assert stop_bookmaker(proc) == 0
    finally:
        proc.kill() if proc.poll() is None else None


def test_the_program_without_data_stays_up_says_what_it_needs_and_retries(home, tmp_path):
    empty = tmp_path / "no-csvs"
    empty.mkdir()
    port = free_port()
    write_home(home, port, empty)
    proc = start_bookmaker(home, tmp_path / "bookmaker.log")
    try:
        def failing():
            try:
                doc = read_json(home.health("bookmaker"))
            except Exception:
                return None
            return doc if doc.get("state") == "failing" and "CSV" in (doc["last_error"] or "") \
                else None

        doc = poll(failing, 60, "health failing for missing data")
        assert str(empty) in doc["last_error"] and "betpipe data fetch" in doc["last_error"]
        assert proc.poll() is None

        (empty / "E0_2019-20.csv").symlink_to(FOOTBALL_DATA / "E0_2019-20.csv")  # data arrives
        r = poll(lambda: get_ok(f"http://127.0.0.1:{port}/api/matches"), 60,
                     what="the bookmaker to retry and serve")
        assert [m["id"] for m in r.json()["matches"]][:1] == [LIV_NOR]
        health = poll(lambda: (lambda d: d if d["state"] == "ok" else None)(
            read_json(home.health("bookmaker"))), what="health ok again")
        assert health["fixtures"] == 380 and health["last_error"] is None
        assert stop_bookmaker(proc) == 0
    finally:
        proc.kill() if proc.poll() is None else None
