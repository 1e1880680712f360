"""The browser bookmaker in real Chromium against the real sandbox app over HTTP: it logs in,
fills the bet slip, reads the bet reference, maps refusals, logs in again when logged out, is
idempotent on a client_ref, and finds by `lookup` a bet whose answer it never got."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.bookmakers import UNREACHABLE, Order
from pipeline.bookmakers.sandbox import SandboxBookmaker
from pipeline.core.clock import FakeClock
from pipeline.core.config import SandboxConfig
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER, Credentials
from pipeline.programs.bookmaker.market import Market
from pipeline.browser.launch import profile_processes
from pipeline.history.football_data import parse_file
from tests.kit.bookmaker import ACCOUNT, LiveServer, login
from tests.kit.contracts import FOOTBALL_DATA, free_port

START = "2019-08-09T18:30:00Z"
WHU_MCI = "2019-20_West Ham v Manchester City"  # kickoff 2019-08-10T11:30Z, City ~1.3
BOU_SHU = "2019-20_Bournemouth v Sheffield United"  # postponed in this sandbox
BUR_SOU = "2019-20_Burnley v Southampton"


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(parse_file(FOOTBALL_DATA / "E0_2019-20.csv", load_tables()))


@pytest.fixture(scope="module")
def sandbox(market, tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("sandbox") / "home").ensure()
    config = SandboxConfig(postponed=[BOU_SHU], postponed_notice_min=60 * 24 * 7)
    server = LiveServer(market, home, FakeClock(START), config=config)
    with server as http:
        yield server, http, home


@pytest.fixture(scope="module")
def bookmaker(sandbox):
    server, _http, home = sandbox
    bm = SandboxBookmaker(server.url, ACCOUNT, home.profile_dir("execute"), pages=2,
                          timeout_s=15)
    bm.start()
    yield bm
    bm.close()
    assert profile_processes(home.profile_dir("execute")) == []  # no browser left behind


def order(ref: str, key: str = WHU_MCI, *, selection="away", min_odds=1.01, stake=10.0):
    return Order(ref, ref.split("#")[0], "s1", key, "1X2", selection, 1.3, min_odds, stake)


def api_bets(http, ref: str) -> list[dict]:
    return http.get("/api/bets", params={"client_ref": ref}).json()["bets"]


def test_places_a_bet_through_the_slip_once_per_client_ref(sandbox, bookmaker):
    _server, http, home = sandbox
    placed = bookmaker.place(order("s1|WHU v MCI|1X2#1"))
    assert placed.ok, placed
    [bet] = api_bets(http, "s1|WHU v MCI|1X2#1")
    assert (placed.bet_ref, placed.odds, placed.stake, placed.placed_at) == \
        (bet["bet_ref"], bet["odds"], 10.0, START)
    assert 1.01 <= placed.odds < 1.4 and bet["selection"] == "away"
    assert bookmaker.place(order("s1|WHU v MCI|1X2#1", stake=99)) == placed  # idempotent
    assert len(api_bets(http, "s1|WHU v MCI|1X2#1")) == 1
    assert 'data-client-ref="s1|WHU v MCI|1X2#1"' in login(http).text  # the history page
    for path in home.data.rglob("*"):  # invariant 7: the password is in no data file
        if path.is_file():
            assert ACCOUNT.password.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("ref, key, kw, reason, retryable", [
    ("r-price#1", WHU_MCI, {"min_odds": 50.0}, "price_changed", True),
    ("r-postponed#1", BOU_SHU, {}, "suspended", True),
    ("r-limit#1", WHU_MCI, {"stake": 5000.0}, "over_limit", False),
    ("r-unknown#1", "2019-20_Nobody v Nowhere", {}, "unknown_match", False),
])
def test_refusals_are_mapped_to_reasons(sandbox, bookmaker, ref, key, kw, reason, retryable):
    _server, http, _home = sandbox
    p = bookmaker.place(order(ref, key, **kw))
    assert (p.status, p.reason, p.retryable) == ("not_placed", reason, retryable)
    assert api_bets(http, ref) == []


def test_logged_out_it_logs_in_again(sandbox, bookmaker):
    server, http, _home = sandbox
    before = bookmaker.logins
    server.app.state.sessions.end_all()  # as a restarted sandbox would
    placed = bookmaker.place(order("relog#1", BUR_SOU, selection="home"))
    assert placed.ok and bookmaker.logins == before + 1
    assert [b["bet_ref"] for b in api_bets(http, "relog#1")] == [placed.bet_ref]


def test_two_pages_place_at_once(sandbox, bookmaker):
    _server, http, _home = sandbox
    refs = [f"par{i}#1" for i in range(6)]
    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(lambda r: bookmaker.place(order(r, BUR_SOU, stake=1.0)), refs))
    assert all(p.ok for p in out), out
    assert len({p.bet_ref for p in out}) == 6
    assert all(api_bets(http, r)[0]["bet_ref"] == p.bet_ref for r, p in zip(refs, out))


CRASHING_EXECUTOR = """
import os, signal, sys
from pathlib import Path
from pipeline.bookmakers import UNREACHABLE, Order
from pipeline.bookmakers.sandbox import SandboxBookmaker
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER, Credentials
bm = SandboxBookmaker(sys.argv[1], Credentials.from_env(), Path(sys.argv[2]))
p = bm.place(Order("crash#1", "crash", "s1", sys.argv[3], "1X2", "away", 1.3, 1.01, 10.0))
print(p.bet_ref, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies before anyone records the bet
"""


def test_lookup_finds_a_bet_placed_before_a_crash(sandbox):
    server, http, home = sandbox
    profile = home.profile_dir("crashed-execute")
    env = {**os.environ, ENV_USER: ACCOUNT.user, ENV_PASSWORD: ACCOUNT.password}
    run = subprocess.run([sys.executable, "-c", CRASHING_EXECUTOR, server.url, str(profile),
                          WHU_MCI], env=env, capture_output=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    bet_ref = run.stdout.decode().strip()
    assert [b["bet_ref"] for b in api_bets(http, "crash#1")] == [bet_ref]
    left = profile_processes(profile)  # the killed program's browser may linger
    restarted = SandboxBookmaker(server.url, ACCOUNT, profile)
    try:
        found = restarted.lookup("crash#1")  # /api/bets
        assert found.ok and found.bet_ref == bet_ref and found.client_ref == "crash#1"
        assert restarted.lookup("never#1") is None
        assert restarted.lookup_in_history("crash#1") == found  # the fallback: history page
        assert restarted.lookup_in_history("never#1") is None
        assert restarted.reachable() is True
        assert not set(left) & set(profile_processes(profile))  # its launch ended them
    finally:
        restarted.close()
    assert profile_processes(profile) == []


def slow_slip_answers(seconds: float):
    """An ASGI layer: the slip's answer leaves `seconds` late (the bet is already booked)."""
    def wrap(app):
        async def slow(scope, receive, send):
            if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/slip":
                async def late(message):
                    if message["type"] == "http.response.start":
                        await asyncio.sleep(seconds)
                    await send(message)
                return await app(scope, receive, late)
            return await app(scope, receive, send)
        return slow
    return wrap


def test_a_timeout_after_the_click_is_unknown_and_lookup_resolves_it(market, tmp_path):
    home = Home(tmp_path / "home").ensure()
    server = LiveServer(market, home, FakeClock(START), wrap=slow_slip_answers(6))
    with server as http:
        bm = SandboxBookmaker(server.url, ACCOUNT, home.profile_dir("execute"), timeout_s=3)
        try:
            p = bm.place(order("slow#1"))
            assert p.status == "unknown" and "after the click" in p.reason
            [bet] = api_bets(http, "slow#1")  # the sandbox took it
            assert bm.lookup("slow#1").bet_ref == bet["bet_ref"]
        finally:
            bm.close()


def test_a_wrong_password_fails_the_start_and_is_never_said(sandbox, tmp_path):
    server, _http, _home = sandbox
    wrong = Credentials(ACCOUNT.user, "wrong-Pa55-7d1e")
    bm = SandboxBookmaker(server.url, wrong, Home(tmp_path / "h").ensure().profile_dir("x"))
    try:
        with pytest.raises(Exception) as e:
            bm.start()
        assert "refused the login" in str(e.value) and wrong.password not in str(e.value)
        p = bm.place(order("wrongpw#1"))
        assert (p.status, p.retryable) == ("not_placed", True) and "logged_out" in p.reason
        assert wrong.password not in repr(p) and wrong.password not in (bm.problem or "")
    finally:
        bm.close()


def test_the_slips_script_gets_the_answer_alone_and_a_plain_post_a_whole_page(sandbox):
    _server, http, _home = sandbox
    login(http)
    form = {"match": BUR_SOU, "selection": "draw", "stake": "1", "min_odds": "1.01",
            "client_ref": "frag#1"}
    alone = http.post("/slip", data=form, headers={"X-Slip-Answer": "fragment"})
    assert alone.status_code == 201 and alone.text.startswith('<div id="confirmation"')
    assert "<html" not in alone.text and 'data-client-ref="frag#1"' in alone.text
    page = http.post("/slip", data=form)  # the same ref again, as a page: the first bet
    assert page.status_code == 200 and "<html" in page.text and 'data-repeat="1"' in page.text
    refused = http.post("/slip", data={**form, "client_ref": "frag#2", "min_odds": "99"},
                        headers={"X-Slip-Answer": "fragment"})
    assert refused.status_code == 409 and refused.text.startswith('<div id="refusal"')
    assert 'data-reason="price_changed"' in refused.text and "<html" not in refused.text


def test_a_site_that_cannot_be_reached_is_unreachable_not_placed(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    bm = SandboxBookmaker(url, ACCOUNT, Home(tmp_path / "h").ensure().profile_dir("x"),
                          timeout_s=10)
    try:
        p = bm.place(order("down#1"))
        assert (p.status, p.retryable) == ("not_placed", True), p
        assert p.reason.startswith(f"{UNREACHABLE}: ") and "ERR_CONNECTION_REFUSED" in p.reason
        assert bm.reachable() is False
    finally:
        bm.close()
