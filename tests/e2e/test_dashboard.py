"""The dashboard in real Chromium (Playwright) on a RUNNING pipeline started by scripts/start on a
temporary home with a fast clock: a bet appears and settles on the page by itself, a session is
switched with the token (and refused without it), a bad config edit shows file, path and reason,
the drill app goes from the top down to match records and back up, notifications reach a local
webhook; and hostile markup in a team name renders as text. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import os
import re
import subprocess
import urllib.request

import orjson
import pytest
from playwright.sync_api import expect

from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.paths import REPO, Home
from tests.kit.contracts import assert_contract, free_port
from tests.kit.e2e import e2e_config
from tests.kit.homes import EVIL, fill
from tests.kit.http import Recorder
from tests.kit.poll import poll

pytestmark = pytest.mark.e2e
ARTIFACTS = REPO / "test-artifacts"
TOKEN = "e2e-dashboard-token-7f3a"
WAIT_MS = 150_000
# the first bet settles ~40 real s in when the pipeline is up within 18 real s (Liverpool v
# Norwich, 19:00); on a loaded machine it may miss that match, and the next settles ~250 s in
SETTLE_MS = 420_000


def pipeline_config(sandbox_port: int, dashboard_port: int) -> dict:
    cfg = e2e_config(sandbox_port, dashboard_port)
    # an hour and a half before Liverpool v Norwich (19:00): its bet settles ~40 real s in
    cfg["clock"]["start"] = "2019-08-09T17:30:00Z"
    cfg["dashboard"]["refresh_s"] = 1.0
    cfg["notify"] = {"per_minute": 120, "burst": 10}
    cfg["sessions"].append(
        {"id": "dog-week", "competitions": ["EPL"], "selection": "underdog",
         "odds": {"min": 2.0, "max": 30}, "window": {"from_minutes": 10080, "to_minutes": 0},
         "staking": {"plan": "flat", "stake": 5}, "bankroll": 500})
    return cfg


def run(cmd: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """One pipeline for the tests of this module (starting one costs ~10 real seconds)."""
    home = Home(tmp_path_factory.mktemp("dash") / "home").ensure()
    port = free_port()
    atomic_write_json(home.system_config, pipeline_config(free_port(), port))
    hook = Recorder()
    env = {"BETPIPE_HOME": str(home.root), "BETPIPE_DASHBOARD_TOKEN": TOKEN,
           "BETPIPE_NOTIFY_URL": hook.url}
    started = run(["scripts/start"], env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        # every program beats its health at start-up, the dashboard before it binds its port:
        # it is listening once its health carries the url (under load, after start returns)
        poll(lambda: (read_json(home.health("dashboard")) or {}).get("url") if
             home.health("dashboard").exists() else None, 120, "the dashboard's url",
             log=home.logs, every=0.25)
        yield home, f"http://127.0.0.1:{port}", hook
    finally:
        run(["scripts/stop"], env, timeout=120)
        hook.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def sessions_enabled(home: Home) -> dict:
    return {s["id"]: s.get("enabled", True) for s in read_json(home.system_config)["sessions"]}


def toggle(page, session: str, token: str | None, expect_text: str) -> None:
    page.fill("#token", token or "")
    page.click(f'button[data-toggle][data-session="{session}"]')
    expect(page.locator("#toggle-status")).to_contain_text(expect_text, timeout=30_000)


def test_dashboard_on_a_running_pipeline(running, browser):
    home, url, hook = running
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + "/")
    expect(page.locator('#programs tr[data-program="notify"] .pill').first).to_have_text(
        "running", timeout=60_000)

    # a bet appears, then settles, without reloading the page (the panels refresh themselves)
    opened = page.locator("#open-bets tr.bet").first  # the next to kick off: the first to settle
    expect(opened).to_be_visible(timeout=WAIT_MS)
    ref = opened.get_attribute("data-bet")
    settled = page.locator(f'#settled-bets tr.bet[data-bet="{ref}"]')
    expect(settled).to_be_visible(timeout=SETTLE_MS)
    expect(settled).to_contain_text(re.compile(r"won|lost|void"))
    expect(page.locator('#sessions tr[data-session="fav-week"] svg.equity polyline')).to_have_count(1)
    expect(page.locator("#odds tr.match").first).to_be_visible()
    shot(page, "dashboard.png")

    # switching a session: refused without the token and with a wrong one, done with it
    assert sessions_enabled(home)["dog-week"] is True
    toggle(page, "dog-week", None, "refused (403)")
    toggle(page, "dog-week", "not-the-token", "refused (403)")
    assert sessions_enabled(home)["dog-week"] is True
    toggle(page, "dog-week", TOKEN, "switched off")
    assert sessions_enabled(home) == {"fav-week": True, "dog-week": False}
    expect(page.locator('#sessions tr[data-session="dog-week"] .pill')).to_have_text("disabled")
    toggle(page, "dog-week", TOKEN, "switched on")
    assert sessions_enabled(home)["dog-week"] is True
    audit = [orjson.loads(line) for line in home.audit.read_text().splitlines()]
    assert [r["changes"] for r in audit if r.get("by") == "dashboard"] == [
        ["$.sessions[1].enabled: true -> false"], ["$.sessions[1].enabled: false -> true"]]
    assert TOKEN not in page.content() and TOKEN not in home.audit.read_text()

    # a bad hand edit: the page names file, JSON path and reason; fixing it clears the panel
    good = home.system_config.read_bytes()
    bad = orjson.loads(good)
    bad["sessions"][0]["staking"]["stake"] = -1
    atomic_write_json(home.system_config, bad)
    expect(page.locator("#config-error-path")).to_have_text("$.sessions[0].staking.stake",
                                                            timeout=30_000)
    expect(page.locator("#config-error-reason")).to_contain_text("greater than 0")
    expect(page.locator("#config-error-file")).to_have_text(str(home.system_config))
    shot(page, "dashboard-config-error.png")
    home.system_config.write_bytes(good)
    expect(page.locator("#config .pill.ok")).to_have_text("valid", timeout=30_000)

    # notifications reached the local webhook; metrics count the bets
    label = "Liverpool v Norwich (2019-20)"
    poll(lambda: any(label in t and re.match("(✅ won|❌ lost|↩️ void)", t) for t in hook.delivered()),
         60, "the settlement notification", log=home.logs, every=0.25)
    assert any(t.startswith("🟢 bet placed · fav-week · " + label) for t in hook.delivered())
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    placed = re.search(r'^betpipe_bets_placed_total\{session="fav-week"\} (\d+)', text, re.M)
    assert placed and int(placed.group(1)) >= 1
    assert "betpipe_config_valid 1" in text
    for program in ("dashboard", "notify"):
        assert_contract("health", read_json(home.health(program)))


def test_drill_app_from_the_top_down_to_a_match_record_and_back(running, browser):
    _home, url, _hook = running
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + "/drill")
    page.check('input[name="file"][value="E0_2019-20.csv"]')
    page.check('input[name="file"][value="E0_2018-19.csv"]')
    page.select_option("#odds", "b365")
    page.select_option("#selection", "favourite")
    page.select_option("#by1", "season")
    page.select_option("#by2", "odds_band")
    page.click("#drill-go")
    expect(page.locator("#groups tr.group")).to_have_count(2)
    expect(page.locator("#drill-summary")).to_contain_text("760 matches")

    page.click('#groups a.down:text-is("2019-20")')
    expect(page.locator("#crumbs")).to_contain_text("season = 2019-20")
    expect(page.locator("#drill-summary")).to_contain_text("380 matches")
    bands = page.locator("#groups tr.group")
    assert bands.count() >= 4
    counts = [int(c) for c in page.locator("#groups tr.group td:nth-child(2)").all_inner_texts()]
    assert sum(counts) == 380
    shot(page, "drill.png")

    page.click('#groups a.down:text-is("1.5-2")')
    records = page.locator("#records tr.record")
    expect(records.first).to_be_visible()
    n = records.count()
    expect(page.locator("#drill-summary")).to_contain_text(f"{n} matches")
    first = records.first.locator("td").all_inner_texts()
    assert first[8] in ("won", "lost") and re.fullmatch(r"[+-]\d+\.\d\d", first[9])
    shot(page, "drill-records.png")

    page.click('#crumbs a.crumb:text-is("season = 2019-20")')
    expect(page.locator("#groups tr.group")).to_have_count(bands.count())
    page.click('#crumbs a.crumb:text-is("all matches")')
    expect(page.locator("#groups tr.group")).to_have_count(2)


def test_a_team_name_with_markup_renders_as_text(tmp_path, browser):
    home = Home(tmp_path / "home").ensure()
    fill(home)
    cfg = read_json(home.system_config)
    cfg["dashboard"]["port"] = port = free_port()
    atomic_write_json(home.system_config, cfg)
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    proc = subprocess.Popen([str(REPO / ".venv/bin/betpipe"), "dashboard"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll(lambda: (read_json(home.health("dashboard")) or {}).get("url") if
             home.health("dashboard").exists() else None, 60, "the dashboard", log=home.logs, every=0.25)
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"http://127.0.0.1:{port}/")
        cell = page.locator("#odds td.team").filter(has_text="window.__pwned").first
        expect(cell).to_have_text(EVIL)
        expect(page.locator("#refreshed")).to_contain_text("live ·", timeout=20_000)  # after a refresh
        expect(page.locator("#odds td.team").filter(has_text="window.__pwned").first).to_have_text(EVIL)
        expect(page.locator("#open-bets td", has_text="<script>")).to_have_count(1)
        assert page.locator("#live script, #live img").count() == 0
        assert page.evaluate("window.__pwned") is None and dialogs == []
        shot(page, "dashboard-escaped.png")
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
