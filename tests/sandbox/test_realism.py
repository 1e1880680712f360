"""The sandbox as a bettor meets it over real HTTP: login, bet slip, history, prices that move
with the money on them (and stay moved after a restart), suspension before kickoff, postponed
matches settling void."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.config import SandboxConfig
from pipeline.core.matchkey import load_tables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.programs.bookmaker.auth import COOKIE, ENV_PASSWORD, ENV_USER, Credentials
from pipeline.programs.bookmaker.market import Market
from pipeline.programs.bookmaker.program import bets_path
from pipeline.history.football_data import parse_file
from tests.kit.bookmaker import (ACCOUNT, get_ok, LiveServer, login, OddsPage, stop_bookmaker,
                                 write_home)
from tests.kit.contracts import FOOTBALL_DATA, free_port
from tests.kit.poll import poll

LIV_NOR = "E0_2019-20.csv:0"  # kickoff 2019-08-09T19:00:00Z, 4-1; B365 closing 1.14 / 9.5 / 21
WHU_MCI = "E0_2019-20.csv:1"  # kickoff 2019-08-10T11:30:00Z
WHU_MCI_KEY = "2019-20_West Ham v Manchester City"
START = "2019-08-09T18:30:00Z"


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(parse_file(FOOTBALL_DATA / "E0_2019-20.csv", load_tables()))


def slip(client_ref: str, match: str = WHU_MCI, **extra) -> dict:
    return {"match": match, "selection": "away", "stake": "10", "client_ref": client_ref,
            **extra}


def prices(http, match_id: str) -> list[str]:
    row = OddsPage(http.get("/odds").text).row(match_id)
    return [c["text"] for c in row["cells"] if c["class"] == "price"]


def test_login_refuses_a_wrong_password_and_never_echoes_one(market, home):
    with LiveServer(market, home, FakeClock(START)) as http:
        r = http.post("/login", data={"user": ACCOUNT.user, "password": "wrong-password-x1",
                                      "next": "/bets"})
        assert r.status_code == 401 and 'id="login-error"' in r.text
        assert "wrong-password-x1" not in r.text and COOKIE not in http.cookies
        assert http.get("/bets").status_code == 303  # still logged out
        r = http.post("/login", data={"user": "someone", "password": ACCOUNT.password})
        assert r.status_code == 401 and ACCOUNT.password not in r.text

        r = login(http)
        assert r.status_code == 200 and 'id="bets"' in r.text and http.cookies.get(COOKIE)
        assert ACCOUNT.password not in r.text and f'data-user="{ACCOUNT.user}"' in r.text
        assert http.post("/logout").status_code == 303
        assert http.get("/bets").status_code == 303


def test_a_logged_out_slip_is_refused_and_a_logged_in_one_shows_its_client_ref(market, home):
    with LiveServer(market, home, FakeClock(START)) as http:
        r = http.get("/slip", params={"match": WHU_MCI, "selection": "away"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fslip")
        r = http.post("/slip", data=slip("ref-out"))
        assert r.status_code == 401 and 'data-reason="logged_out"' in r.text
        assert http.get("/api/bets").json() == {"bets": []}

        login(http)
        form = http.get("/slip", params={"match": WHU_MCI_KEY, "selection": "away"})  # by key
        assert form.status_code == 200 and 'id="slip"' in form.text
        assert f'data-key="{WHU_MCI_KEY}"' in form.text and 'data-status="scheduled"' in form.text
        r = http.post("/slip", data=slip("s1|West Ham v City|1X2#1", min_odds="1.1"))
        assert r.status_code == 201 and 'id="confirmation"' in r.text
        assert 'data-client-ref="s1|West Ham v City|1X2#1"' in r.text
        [bet] = http.get("/api/bets").json()["bets"]
        assert f'data-bet-ref="{bet["bet_ref"]}"' in r.text and 'data-repeat="0"' in r.text
        assert set(bet) >= {"client_ref", "bet_ref", "match_key", "selection", "odds", "stake",
                            "placed_at", "status"}
        again = http.post("/slip", data=slip("s1|West Ham v City|1X2#1", stake="99"))
        assert again.status_code == 200 and 'data-repeat="1"' in again.text
        assert len(http.get("/api/bets").json()["bets"]) == 1

        history = http.get("/bets", params={"client_ref": "s1|West Ham v City|1X2#1"})
        assert 'data-client-ref="s1|West Ham v City|1X2#1"' in history.text
        assert f'data-bet-ref="{bet["bet_ref"]}"' in history.text
        assert "tr class=\"bet\"" not in http.get("/bets", params={"client_ref": "nope"}).text

        for fields, code in ((slip("x", stake="ten"), "bad_request"),
                             (slip("x", match="E0_2019-20.csv:9999"), "unknown_match"),
                             (slip("x", stake="5000"), "over_limit")):
            r = http.post("/slip", data=fields)
            assert r.status_code in (409, 422) and f'data-reason="{code}"' in r.text, code


def test_money_moves_the_price_and_the_pools_survive_a_restart(market, home):
    clock = FakeClock(START)
    with LiveServer(market, home, clock) as http:
        before = prices(http, WHU_MCI)
        shown_away = float(before[2])
        first = http.post("/api/bets", json={"client_ref": "p1", "match_id": WHU_MCI,
                                             "selection": "away", "stake": 200}).json()
        assert first["odds"] < shown_away  # the stake's own slippage
        after = prices(http, WHU_MCI)
        assert after[:2] == before[:2] and float(after[2]) < shown_away  # only its pool moved
        second = http.post("/api/bets", json={"client_ref": "p2", "match_id": WHU_MCI,
                                              "selection": "away", "stake": 200}).json()
        assert second["odds"] < first["odds"]
        moved = prices(http, WHU_MCI)
        api = {m["id"]: m for m in http.get("/api/matches").json()["matches"]}
        assert f'{api[WHU_MCI]["odds"]["away"]:.2f}' == moved[2]
        # the min_odds guard: the price shown is not the price a big stake gets
        r = http.post("/api/bets", json={"client_ref": "p3", "match_id": WHU_MCI,
                                         "selection": "away", "stake": 900,
                                         "min_odds": float(moved[2])})
        assert r.status_code == 409 and r.json()["reason_code"] == "price_changed"
    lines = [orjson.loads(x) for x in bets_path(home).read_bytes().splitlines()]
    assert [x["pool"]["staked"] for x in lines] == [200, 400]  # on disk with each bet

    with LiveServer(market, home, clock) as http:  # a restarted sandbox: the same prices
        assert prices(http, WHU_MCI) == moved
        third = http.post("/api/bets", json={"client_ref": "p4", "match_id": WHU_MCI,
                                             "selection": "away", "stake": 200}).json()
        assert third["odds"] < second["odds"]


def test_markets_close_shortly_before_kickoff(market, home):
    kickoff = parse_iso("2019-08-09T19:00:00Z")
    clock = FakeClock(kickoff - timedelta(minutes=11))
    config = SandboxConfig(suspend_before_min=10)
    with LiveServer(market, home, clock, config=config) as http:
        assert all(p[0].isdigit() for p in prices(http, LIV_NOR))
        body = {"client_ref": "late", "match_id": LIV_NOR, "selection": "home", "stake": 10}
        clock.set(kickoff - timedelta(minutes=10))
        row = OddsPage(http.get("/odds").text).row(LIV_NOR)
        assert row["attrs"]["data-status"] == "scheduled"
        assert not any(ch.isdigit() for p in prices(http, LIV_NOR) for ch in p)
        r = http.post("/api/bets", json=body)
        assert r.status_code == 409 and r.json()["reason_code"] == "suspended"
        assert "shortly before kickoff" in r.json()["error"]
        clock.set(kickoff)
        assert OddsPage(http.get("/odds").text).row(LIV_NOR)["attrs"]["data-status"] == "live"


def test_a_postponed_match_shows_no_odds_and_its_bets_settle_void(market, home):
    kickoff = parse_iso("2019-08-10T11:30:00Z")
    clock = FakeClock(kickoff - timedelta(hours=5))
    config = SandboxConfig(postponed=[WHU_MCI_KEY], postponed_notice_min=180)
    with LiveServer(market, home, clock, config=config) as http:
        r = http.post("/api/bets", json={"client_ref": "early", "match_id": WHU_MCI,
                                         "selection": "home", "stake": 10})
        assert r.status_code == 201 and r.json()["status"] == "open"
        clock.set(kickoff - timedelta(minutes=180))  # announced
        row = OddsPage(http.get("/odds").text).row(WHU_MCI)
        assert row["attrs"]["data-status"] == "postponed"
        assert not any(ch.isdigit() for p in prices(http, WHU_MCI) for ch in p)
        [bet] = http.get("/api/bets", params={"client_ref": "early"}).json()["bets"]
        assert (bet["status"], bet["payout"]) == ("void", 10.0)
        late = http.post("/api/bets", json={"client_ref": "late", "match_id": WHU_MCI,
                                            "selection": "home", "stake": 10})
        assert late.status_code == 409 and "postponed" in late.json()["error"]
        clock.set(kickoff + timedelta(hours=3))  # never played: still void, no result
        assert http.get("/api/bets").json()["bets"][0]["status"] == "void"
        assert iso(kickoff) not in http.get("/results").text


# ----------------------------------------------------------------- the real program

def run_bookmaker(home, tmp_path, log, **env_extra) -> tuple[subprocess.Popen, str]:
    """`betpipe bookmaker` on the 2019-20 EPL file, with only `env_extra` as its account."""
    data = tmp_path / "csv"
    if not data.exists():
        data.mkdir()
        (data / "E0_2019-20.csv").symlink_to(FOOTBALL_DATA / "E0_2019-20.csv")
    port = free_port()
    write_home(home, port, data)
    env = {k: v for k, v in os.environ.items() if k not in (ENV_USER, ENV_PASSWORD)}
    exe = Path(sys.executable).parent / "betpipe"
    proc = subprocess.Popen([str(exe), "bookmaker"], stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT,
                            env={**env, "BETPIPE_HOME": str(home.root), **env_extra})
    return proc, f"http://127.0.0.1:{port}"


def test_the_program_takes_its_account_from_the_environment(home, tmp_path):
    log = tmp_path / "bookmaker.log"
    secret = "pw-from-env-51c0"
    proc, url = run_bookmaker(home, tmp_path, log, **{ENV_USER: "alice", ENV_PASSWORD: secret})
    try:
        poll(lambda: get_ok(f"{url}/odds"), 60, "the bookmaker")
        with httpx.Client(base_url=url, timeout=10) as http:
            assert login(http, Credentials("alice", secret)).status_code == 200
            assert http.get("/bets").status_code == 200
        with httpx.Client(base_url=url, timeout=10) as http:  # no demo account beside it
            assert login(http, Credentials("demo", "demo")).status_code == 401
        assert stop_bookmaker(proc) == 0
    finally:
        proc.kill() if proc.poll() is None else None
    events = [orjson.loads(x) for x in log.read_bytes().splitlines() if x.startswith(b"{")]
    assert any(e["event"] == "bookmaker.account" and e["source"] == f"${ENV_USER}" for e in events)
    assert b"alice" not in log.read_bytes()  # the account's user name is a secret too (log.py)
    assert any(e["event"] == "bookmaker.login" for e in events)
    assert any(e["event"] == "bookmaker.login_refused" for e in events)
    assert secret.encode() not in log.read_bytes()

    log2 = tmp_path / "demo.log"
    proc, url = run_bookmaker(home, tmp_path, log2)  # no account in the environment
    try:
        poll(lambda: get_ok(f"{url}/odds"), 60, "the bookmaker")
        with httpx.Client(base_url=url, timeout=10) as http:
            assert login(http, Credentials("demo", "demo")).status_code == 200
        assert stop_bookmaker(proc) == 0
    finally:
        proc.kill() if proc.poll() is None else None
    [demo] = [orjson.loads(x) for x in log2.read_bytes().splitlines()
              if b"bookmaker.demo_account" in x]
    assert demo["user"] == "demo" and demo["missing"] == [ENV_USER, ENV_PASSWORD]
    assert "password" not in demo  # said, but never printed
