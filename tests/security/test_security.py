"""Security (issue 8, invariant 7) on ONE real pipeline run (tests/security/run.py: live mode on
the sandbox, real supervisord, the dashboard token and a secret webhook URL set, a hostile team
name fed through a copy of a real CSV), shared by the tests of this module:

- every server of the home listens on 127.0.0.1 only, read from the sockets actually open;
- the dashboard's write action refuses without the token and with a wrong one (the config file
  unchanged, byte for byte) and works with the right one;
- every page of the dashboard and the sandbox, crawled in real Chromium from their index pages
  (plus their JSON APIs), renders the hostile name as text, runs none of it, and shows no secret;
- no file under the home (data/, config/, every log, supervisord's) and no notification holds
  the password, the user name or either token — while running and after scripts/stop.
The last test stops the pipeline, so it stays last in this file.
"""
from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import orjson
import pytest
from playwright.sync_api import expect

from pipeline.core.filebus import read_json
from pipeline.core.paths import REPO
from pipeline.programs import PROGRAMS
from tests.kit.poll import poll
from tests.security import run as pipeline_run
from tests.security.crawl import arm, crawl
from tests.security.run import CSV_NAME, EVIL
from tests.security.scan import home_pids, listeners, scan_tree

pytestmark = pytest.mark.e2e
RAW_PAYLOAD = ("<script>window.__xss", "<img src=x")  # the name unescaped in markup


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    run = pipeline_run.start(tmp_path_factory.mktemp("security"))
    try:
        pipeline_run.wait_for_settled_bets(run)
        yield run
    finally:
        run.stop()
        run.hook.close()


def test_every_server_of_the_home_listens_on_127_0_0_1_only(live):
    pids = home_pids(live.home.root)
    programs = {p: read_json(live.home.health(p))["pid"] for p in PROGRAMS}
    assert set(programs.values()) <= set(pids), (programs, pids)
    found = listeners(pids)
    assert found, "no listening socket found for the home's processes"
    assert [(pid, addr, port) for pid, addr, port in found if addr != "127.0.0.1"] == []
    by_port = {port: pid for pid, _addr, port in found}
    assert by_port.get(urlsplit(live.sandbox).port) == programs["bookmaker"], found
    assert by_port.get(urlsplit(live.dashboard).port) == programs["dashboard"], found


def _toggle(url: str, body: dict, token: str | None, host: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Betpipe-Token"] = token
    if host:
        headers["Host"] = host
    req = urllib.request.Request(url + "/api/sessions/toggle", data=orjson.dumps(body),
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (orjson.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()})


def test_the_dashboard_write_action_needs_the_token(live):
    token = live.secrets.named["dashboard_token"]
    cfg = live.home.system_config
    before = cfg.read_bytes()
    off = {"session": "dog-week", "enabled": False}
    for wrong in (None, "", "not-the-token", token + "x", token[:-1], token.upper()):
        status, doc = _toggle(live.dashboard, off, wrong)
        assert status == 403, (wrong, status, doc)
        assert cfg.read_bytes() == before, f"the config changed after a refused toggle ({wrong!r})"
    status, _doc = _toggle(live.dashboard, off, token, host="evil.example")  # DNS rebinding
    assert status == 400 and cfg.read_bytes() == before

    status, doc = _toggle(live.dashboard, off, token)
    assert status == 200 and doc["changed"] is True, doc
    assert [s.get("enabled", True) for s in read_json(cfg)["sessions"]] == [True, False]
    status, doc = _toggle(live.dashboard, {"session": "dog-week", "enabled": True}, token)
    assert status == 200 and doc["changed"] is True, doc
    expected = orjson.loads(before)
    expected["sessions"][1]["enabled"] = True  # switched back on: the rest as it was
    assert orjson.loads(cfg.read_bytes()) == expected


def _wait_for_refresh(page, url: str) -> None:
    if urlsplit(url).path == "/":  # the dashboard's panels, replaced by app.js from /live
        expect(page.locator("#refreshed")).to_contain_text("live ·", timeout=30_000)


def _login(context, sandbox: str, user: str, password: str) -> None:
    page = context.new_page()
    page.goto(sandbox + "/login")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("#login-submit")
    expect(page.locator("span.user")).to_have_text(user, timeout=30_000)
    page.close()


def test_every_page_escapes_the_scraped_name_and_shows_no_secret(live, browser):
    drill = live.dashboard + "/drill?" + urlencode(
        [("file", CSV_NAME), ("odds", "b365"), ("selection", "underdog"), ("by", "season"),
         ("w.season", "2019-20"), ("records", "1")])
    crawls, traps = {}, []
    for name, base, starts, account in (
            ("dashboard", live.dashboard, ["/", "/live", "/drill", "/api/state", "/metrics"], False),
            ("sandbox", live.sandbox, ["/", "/api/matches", "/api/bets"], False),
            ("sandbox-logged-in", live.sandbox, ["/"], True)):
        context = browser.new_context()
        traps.append(arm(context))
        if account:
            _login(context, live.sandbox, live.secrets.named["user"], live.secrets.named["password"])
        urls = [base + s for s in starts] + ([drill] if name == "dashboard" else [])
        crawls[name] = crawl(context, urls,
                             settle=_wait_for_refresh if name == "dashboard" else None)
        context.close()

    visits = [v for vs in crawls.values() for v in vs]
    paths = {name: {urlsplit(v.url).path for v in vs} for name, vs in crawls.items()}
    assert {"/", "/live", "/drill", "/api/state", "/metrics"} <= paths["dashboard"]
    assert {"/", "/odds", "/results", "/login", "/api/matches", "/api/bets"} <= paths["sandbox"]
    assert {"/", "/odds", "/results", "/bets", "/slip"} <= paths["sandbox-logged-in"]

    # nothing of the name ran, nothing of it became markup, and it is there as text
    assert [t.calls for t in traps] == [[], [], []] and [t.dialogs for t in traps] == [[], [], []]
    assert [(v.url, v.injected, v.hits) for v in visits if v.injected or v.hits] == []
    assert [url for v in visits for url, body in v.markup()
            if any(raw in body for raw in RAW_PAYLOAD)] == []
    shown = {(name, urlsplit(v.url).path) for name, vs in crawls.items() for v in vs
             if v.html and EVIL in v.text}
    for where in [("dashboard", "/"), ("dashboard", "/live"), ("dashboard", "/drill"),
                  ("sandbox", "/odds"), ("sandbox", "/results"), ("sandbox-logged-in", "/bets")]:
        assert where in shown, f"the name is not shown as text on {where}"
    for v in visits:
        if "/api/" in v.url:
            assert v.content_type.startswith("application/json"), (v.url, v.content_type)
        assert v.status in (200, 201), (v.url, v.status)

    # no secret on any page; the sandbox shows its logged-in user their own name, nothing more
    secrets, without_user = live.secrets, live.secrets.without("user")
    leaks = [f for name, vs in crawls.items() for v in vs
             for f in (without_user if name == "sandbox-logged-in" else secrets).find(
                 v.everything(), v.url)]
    assert leaks == []
    assert any(live.secrets.named["user"] in v.text for v in crawls["sandbox-logged-in"])


def test_no_secret_in_any_file_log_or_notification(live):
    secrets, root = live.secrets, live.home.root

    # the scanner finds what is there: plant secrets deep in the home, in two encodings
    planted = [live.home.logs / "planted.log", live.home.data / "browser" / "planted" / "Web Data"]
    planted[1].parent.mkdir(parents=True, exist_ok=True)
    planted[0].write_text(f'{{"event": "x", "p": "{secrets.named["password"]}"}}\n')
    planted[1].write_bytes(b"\0SQLite" + secrets.named["webhook_token"].encode("utf-16-le"))
    found, _ = scan_tree(root, secrets)
    assert {f.where for f in found} == {str(p) for p in planted}, found
    for p in planted:
        p.unlink()
    planted[1].parent.rmdir()

    # while running: every file of the home (config/, data/, logs, browser profiles)
    found, count = scan_tree(root, secrets)
    assert found == [] and count >= 20, (found, count)
    logs = {p.name for p in live.home.logs.glob("*.log")}
    assert {"supervisord.log", "bookmaker.log", "execute.log", "notify.log"} <= logs

    # the notifications: each message the webhook received (their URL holds the token)
    received = [r["doc"] for r in live.hook.received]
    assert received and [f for i, doc in enumerate(received)
                         for f in secrets.find(orjson.dumps(doc), f"message {i}")] == []
    for cmd in (["status", "--json"], ["sessions", "--json"], ["bets", "--json"]):
        out = live.cli(str(REPO / ".venv/bin/betpipe"), *cmd)
        assert out.returncode == 0 and out.stdout, (cmd, out.stderr)
        assert secrets.find(out.stdout + out.stderr, f"betpipe {cmd[0]}") == []

    # after scripts/stop (the programs' last words, the browsers' profiles as left at exit)
    live.stop()
    poll(lambda: not home_pids(root), 60, "every process of the home to end", log=live.home.logs, every=0.25)
    found, count = scan_tree(root, secrets)
    assert found == [] and count >= 20, (found, count)
