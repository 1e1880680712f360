"""The security tests' own tools can fail: the scanner finds a planted secret (files, pages), the
socket check sees a listener on 0.0.0.0, the XSS trap fires on an unescaped page. And the fixes
those tests led to: log lines mask the webhook URL; a browser profile never remembers a form's
fields."""
from __future__ import annotations

import io
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from playwright.sync_api import sync_playwright

from pipeline.core.log import Logger
from pipeline.browser.launch import ARGS, NO_FORM_MEMORY, find_chromium, forget_forms
from tests.kit.http import reply
from tests.security.crawl import arm, crawl
from tests.security.scan import (Secrets, home_pids, listeners, listening_sockets, parse_address,
                                 scan_tree)

SECRETS = Secrets(password="pw-0123456789abcdef", token="tok-fedcba9876543210")


def test_the_scanner_finds_a_secret_in_any_file_and_encoding(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "clean.log").write_text("nothing here\n")
    (tmp_path / "a" / "b" / "Web Data").write_bytes(b"\0\1" + "tok-fedcba9876543210".encode("utf-16-le"))
    (tmp_path / "a" / "url.txt").write_text("https://x/?p=pw-0123456789abcdef&q=1")
    found, count = scan_tree(tmp_path, SECRETS)
    assert count == 3
    assert sorted((f.where.removeprefix(str(tmp_path)), f.secret, f.encoding) for f in found) == [
        ("/a/b/Web Data", "token", "utf-16-le"), ("/a/url.txt", "password", "utf-8")]
    assert SECRETS.without("password").find("pw-0123456789abcdef", "x") == []


def test_proc_net_tcp_rows_are_read_as_addresses():
    assert parse_address("0100007F:1F90") == ("127.0.0.1", 8080)
    assert parse_address("00000000:0050") == ("0.0.0.0", 80)
    assert parse_address("00000000000000000000000001000000:0016") == ("::1", 22)
    table = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
             "timeout inode\n"
             "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
             "        0 4242 1 0000000000000000 100 0 0 10 0\n"
             "   1: 0100007F:D2A4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0"
             "        0 4343 1 0000000000000000 20 4 30 10 -1\n")
    assert listening_sockets(table) == {4242: ("127.0.0.1", 8080)}  # the connection is no listener


def test_a_listener_on_all_interfaces_is_seen_from_proc():
    wide, local = socket.socket(), socket.socket(socket.AF_INET6)
    try:
        wide.bind(("0.0.0.0", 0))
        wide.listen()
        local.bind(("::", 0))
        local.listen()
        found = listeners([os.getpid()])
        assert (os.getpid(), "0.0.0.0", wide.getsockname()[1]) in found
        assert (os.getpid(), "::", local.getsockname()[1]) in found
    finally:
        wide.close()
        local.close()


def test_home_pids_never_include_this_process(tmp_path):
    assert home_pids(tmp_path) == []


class _Site:
    """A local site with an unescaped page, a page leaking a secret and a clean JSON API."""

    PAGES = {
        "/": b'<a href="/team">team</a> <a href="/about#x">about</a> <a href="/api/x">api</a>',
        "/team": b"<p>Norwich <img src=x onerror=\"window.__xss('img')\"></p>",
        "/about": b"<p>contact tok-fedcba9876543210</p>",
    }

    def __init__(self):
        pages = self.PAGES

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/api/x":
                    return reply(self, orjson.dumps({"ok": True}), "application/json")
                body = pages.get(self.path)
                reply(self, body or b"no", "text/html; charset=utf-8", 200 if body else 404)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_crawler_follows_links_springs_the_trap_and_finds_a_leak():
    site = _Site()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium(), args=ARGS, headless=True)
            context = browser.new_context()
            trap = arm(context)
            visits = crawl(context, [site.url + "/"])
            browser.close()
    finally:
        site.close()
    assert sorted(v.url.removeprefix(site.url) for v in visits) == ["/", "/about", "/api/x", "/team"]
    assert [args for _url, args in trap.calls] == ["img"]
    team = next(v for v in visits if v.url.endswith("/team"))
    assert team.injected == 1 and team.hits == 1
    leaks = [f.where.removeprefix(site.url) for v in visits for f in SECRETS.find(v.everything(), v.url)]
    assert leaks == ["/about"]


def test_log_lines_mask_the_webhook_url_whole(monkeypatch):
    url = "http://127.0.0.1:9/api/webhooks/1/hook-secret-77"
    monkeypatch.setenv("BETPIPE_NOTIFY_URL", url)
    monkeypatch.setenv("BETPIPE_SANDBOX_PASSWORD", "hook-secret")  # a part of the longer secret
    out = io.StringIO()
    Logger("notify", stream=out).info("notify.target", target=url, note="hook-secret")
    line = orjson.loads(out.getvalue())
    assert line["target"] == "***" and line["note"] == "***", line
    assert "hook-secret" not in out.getvalue() and "webhooks" not in out.getvalue()


def test_a_browser_profile_forgets_form_fields(tmp_path):
    default = tmp_path / "Default"
    default.mkdir()
    (default / "Web Data").write_bytes(b"user punter")
    (default / "Preferences").write_text('{"autofill": {"other": 1}, "keep": true}')
    forget_forms(tmp_path)
    assert not (default / "Web Data").exists()
    prefs = orjson.loads((default / "Preferences").read_bytes())
    assert prefs["keep"] is True and prefs["autofill"]["other"] == 1
    assert prefs["autofill"]["profile_enabled"] is False
    assert prefs["profile"] == NO_FORM_MEMORY["profile"]


@pytest.mark.e2e
def test_chromium_keeps_no_typed_user_name_in_a_sealed_profile(tmp_path):
    """Measured: without forget_forms, Chromium wrote the login form's user name into
    Default/Web Data (autocomplete), which the full-run scan found. The form is the sandbox's
    login form in miniature: without its autocomplete="off" (or without the redirect after the
    post) Chromium also keeps the typed name (or the posted body) in Default/Sessions."""
    class Login(BaseHTTPRequestHandler):
        def do_GET(self):
            reply(self, b'<form method="post" action="/" autocomplete="off"><input id="user" name="user" '
                        b'autocomplete="username"><button id="go">go</button></form>',
                  "text/html", headers={"Cache-Control": "no-store"})  # as the sandbox's

        def do_POST(self):  # post, redirect, get: as the sandbox's login
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply(self, b"", "text/plain", 303, headers={"Location": "/"})

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Login)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    forget_forms(tmp_path)
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(tmp_path), executable_path=find_chromium(), headless=True, args=ARGS)
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.fill("#user", "punter-typed-9e1d")
            with page.expect_navigation():
                page.click("#go")
            context.close()
    finally:
        server.shutdown()
        server.server_close()
    found, count = scan_tree(tmp_path, Secrets(user="punter-typed-9e1d"))
    assert found == [] and count > 5
